"""Background work on a real Celery worker consuming from the real Redis broker."""

from __future__ import annotations

import pytest
from django.test import Client

from crf import selectors
from ops.models import Heartbeat
from ops.tasks import heartbeat
from tests.conftest import wait_for
from trialportal.celery import app

# serialized_rollback brings back the role groups of the data migration after each flush.
pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.worker]


def test_the_heartbeat_task_runs_on_the_worker_and_health_turns_green(celery_worker):
    assert Client().get("/health/").status_code == 503
    heartbeat.delay()
    assert wait_for(lambda: Heartbeat.objects.exists()), "the worker never ran the heartbeat"
    assert Client().get("/health/").status_code == 200


def test_changes_made_by_a_task_are_attributed_to_the_task(celery_worker, observation):
    from tests.crftest.tasks import observation_annotate

    observation_annotate.delay(observation.pk, "annotated in the background")
    assert wait_for(
        lambda: (
            type(observation).objects.get(pk=observation.pk).note == "annotated in the background"
        )
    )
    last = selectors.record_history(observation)[-1]
    assert last.task == "tests.crftest.tasks.observation_annotate"
    assert last.username is None


def test_beat_schedules_the_heartbeat_every_minute():
    entry = app.conf.beat_schedule["worker-heartbeat"]
    assert entry["task"] == "ops.tasks.heartbeat"
    assert entry["schedule"] == 60.0


def test_task_time_limits_stay_below_the_broker_visibility_timeout():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_time_limit < visibility
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.task_acks_late is True
