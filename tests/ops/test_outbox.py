"""The outbox: work owed by a save exists exactly when the save committed, and is done once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from ops.models import Heartbeat, OutboxMessage
from ops.outbox import outbox_due, outbox_enqueue, outbox_run
from trialportal.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks():
    """The task registry of a worker: every app's tasks.py imported."""
    app.loader.import_default_modules()
    return app.tasks


def test_work_owed_by_a_rolled_back_save_is_not_owed():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(task="ops.tasks.heartbeat", key="rolled-back")
        raise RuntimeError("the save failed")
    assert not OutboxMessage.objects.exists()


def test_the_same_key_is_owed_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox_enqueue(task="ops.tasks.heartbeat", key="once") is True
        assert outbox_enqueue(task="ops.tasks.heartbeat", key="once") is False
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1  # one send to the broker after commit


def test_a_run_does_the_work_and_a_second_run_does_nothing(tasks):
    outbox_enqueue(task="ops.tasks.heartbeat", key="beat")
    message = OutboxMessage.objects.get()
    assert outbox_run(message_id=message.pk, tasks=tasks) is True
    Heartbeat.objects.all().delete()
    assert outbox_run(message_id=message.pk, tasks=tasks) is False
    assert not Heartbeat.objects.exists()
    message.refresh_from_db()
    assert message.done_at is not None and message.attempts == 1


def test_a_failed_run_stays_owed_with_its_error(tasks):
    outbox_enqueue(task="safety.tasks.sae_alert", args=[0, 1], key="no-such-ae")
    message = OutboxMessage.objects.get()
    with pytest.raises(Exception, match="does not exist"):
        outbox_run(message_id=message.pk, tasks=tasks)
    message.refresh_from_db()
    assert message.done_at is None and message.attempts == 1
    assert "DoesNotExist" in message.last_error


def test_the_sweep_takes_unsent_rows_after_a_grace_and_sent_ones_not_done_after_five_minutes():
    start = timezone.now()
    with dt_travel(start):
        outbox_enqueue(task="ops.tasks.heartbeat", key="never-sent")
        outbox_enqueue(task="ops.tasks.heartbeat", key="sent")
        outbox_enqueue(task="ops.tasks.heartbeat", key="done")
    OutboxMessage.objects.filter(key="sent").update(dispatched_at=start)
    OutboxMessage.objects.filter(key="done").update(dispatched_at=start, done_at=start)

    def due(after):
        return set(outbox_due(now=start + after).values_list("key", flat=True))

    assert due(dt.timedelta(seconds=5)) == set()
    assert due(dt.timedelta(minutes=1)) == {"never-sent"}
    assert due(dt.timedelta(minutes=6)) == {"never-sent", "sent"}


def dt_travel(moment):
    import time_machine

    return time_machine.travel(moment, tick=False)


def test_beat_sweeps_the_outbox_every_minute():
    entry = app.conf.beat_schedule["outbox-sweep"]
    assert (entry["task"], entry["schedule"]) == ("ops.tasks.outbox_sweep", 60.0)
