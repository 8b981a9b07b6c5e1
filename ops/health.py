"""Checks behind /health/: database, Redis, the broker, the worker heartbeat, the outbox backlog."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.utils import timezone

from ops.models import Heartbeat
from ops.outbox import outbox_backlog
from ops.services import WORKER


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database is the answer
        return Check("database", False, type(exc).__name__)
    return Check("database", True, "ok")


def check_redis() -> Check:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
    except Exception as exc:
        return Check("redis", False, type(exc).__name__)
    return Check("redis", True, "ok")


def check_broker() -> Check:
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        return Check("broker", False, type(exc).__name__)
    return Check("broker", True, "ok")


def check_outbox() -> Check:
    """Work owed after a save: unhealthy when the oldest waits longer than OUTBOX_MAX_AGE."""
    try:
        waiting, age = outbox_backlog()
    except Exception as exc:
        return Check("outbox", False, type(exc).__name__)
    if age is None:
        return Check("outbox", True, "0 waiting")
    ok = age <= settings.OUTBOX_MAX_AGE
    return Check("outbox", ok, f"{waiting} waiting, oldest {int(age.total_seconds())} s")


def check_worker_heartbeat() -> Check:
    try:
        beat = Heartbeat.objects.filter(name=WORKER).first()
    except Exception as exc:
        return Check("worker_heartbeat", False, type(exc).__name__)
    if beat is None:
        return Check("worker_heartbeat", False, "no heartbeat yet")
    age = (timezone.now() - beat.beat_at).total_seconds()
    ok = age <= settings.HEARTBEAT_MAX_AGE.total_seconds()
    return Check("worker_heartbeat", ok, f"{int(age)} s ago")


def run_checks() -> list[Check]:
    return [
        check_database(),
        check_redis(),
        check_broker(),
        check_worker_heartbeat(),
        check_outbox(),
    ]
