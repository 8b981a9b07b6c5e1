"""/health/ reports the database, Redis and the age of the last worker heartbeat."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from ops.services import heartbeat_record

pytestmark = pytest.mark.django_db


def test_health_is_ok_with_a_fresh_heartbeat():
    heartbeat_record()
    response = Client().get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name for name, check in body["checks"].items() if check["ok"]} == {
        "database",
        "redis",
        "broker",
        "worker_heartbeat",
        "outbox",
    }
    assert body["checks"]["outbox"]["detail"] == "0 waiting"


def test_health_is_unhealthy_without_any_heartbeat():
    response = Client().get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["worker_heartbeat"] == {
        "ok": False,
        "detail": "no heartbeat yet",
    }


def test_health_is_unhealthy_when_the_heartbeat_is_older_than_three_minutes():
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        heartbeat_record()
    with time_machine.travel(start + dt.timedelta(minutes=2, seconds=59), tick=False):
        assert Client().get("/health/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=3, seconds=5), tick=False):
        response = Client().get("/health/")
        assert response.status_code == 503
        assert response.json()["checks"]["worker_heartbeat"]["detail"] == "185 s ago"


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_health_reports_redis_down():
    heartbeat_record()
    response = Client().get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_health_needs_no_sign_in_and_is_not_cached():
    response = Client().get("/health/")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_health_is_unhealthy_when_owed_work_waits_longer_than_ten_minutes():
    from ops.outbox import outbox_enqueue

    heartbeat_record()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        outbox_enqueue(task="ops.tasks.heartbeat", key="health-test")
    with time_machine.travel(start + dt.timedelta(minutes=9), tick=False):
        assert Client().get("/health/").json()["checks"]["outbox"] == {
            "ok": True,
            "detail": "1 waiting, oldest 540 s",
        }
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        response = Client().get("/health/")
        assert response.status_code == 503
        assert response.json()["checks"]["outbox"]["ok"] is False
