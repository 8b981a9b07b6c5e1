"""Reminders through a real Celery worker, across a visit window, exactly once."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from crf.models import Notification
from enrollment.models import StudyExit
from enrollment.services import study_exit_save
from ops.models import Heartbeat, OutboxMessage
from ops.tasks import heartbeat
from outcomes.reminders import reminder_scan
from outcomes.tasks import reminders
from tests.factories import make_participant, make_visit

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.worker]


def run_on_worker(at: dt.datetime) -> None:
    """Run the beat task on the worker at a given moment (the worker thread shares the clock).

    A heartbeat task queued behind it tells when the worker (one task at a time) is done.
    """
    with time_machine.travel(at, tick=False):
        reminders.delay()
        heartbeat.delay()
        deadline = time.monotonic() + 30
        while not Heartbeat.objects.filter(beat_at=timezone.now()).exists():
            assert time.monotonic() < deadline, "the worker did not run the reminder scan"
            time.sleep(0.05)
        # The e-mails the scan owes were queued behind the heartbeat; wait until they are sent.
        while OutboxMessage.objects.filter(done_at__isnull=True).exists():
            assert time.monotonic() < deadline, "the worker did not send the reminders"
            time.sleep(0.05)


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_visit_reminders_across_a_window_are_sent_once(celery_worker, coordinator, make_user):
    from accounts.roles import Role

    pi = make_user(Role.INVESTIGATOR, is_principal_investigator=True)
    first = timezone.localdate() - dt.timedelta(days=60)
    participant = make_participant(coordinator, first_dose=first)
    for code in ("baseline", "day14", "day28"):
        make_visit(participant, coordinator, code)
    mail.outbox.clear()
    # Month 3: target day 90, window +/-14 days.
    target = first + dt.timedelta(days=89)
    before = target - dt.timedelta(days=14 + 5)
    run_on_worker(at(before, 10))
    assert not Notification.objects.filter(kind="visit_due").exists()

    soon = target - dt.timedelta(days=14 + 1)  # 2 days before the window opens
    run_on_worker(at(soon, 10))
    run_on_worker(at(soon, 11))  # the next hourly scan
    due = Notification.objects.filter(kind="visit_due", key__contains=":month3:")
    assert due.count() == 1 and due.get().recipient == coordinator
    assert len([m for m in mail.outbox if "Month 3" in m.subject]) == 1

    after = target + dt.timedelta(days=15)
    run_on_worker(at(after, 10))
    run_on_worker(at(after + dt.timedelta(days=1), 10))
    overdue = Notification.objects.filter(kind="visit_overdue", key__contains=":month3:")
    assert {n.recipient for n in overdue} == {coordinator, pi}


def test_a_withdrawn_participant_gets_no_reminder(coordinator):
    first = timezone.localdate() - dt.timedelta(days=5)
    participant = make_participant(coordinator, first_dose=first)
    study_exit_save(
        study_exit=StudyExit(
            participant=participant,
            kind="withdrawn",
            exit_date=timezone.localdate(),
            decided_by="participant",
            reason="declined",
            followup_permitted=False,
        ),
        actor=coordinator,
    )
    with time_machine.travel(at(timezone.localdate(), 18), tick=False):
        assert reminder_scan() == 0
    assert not Notification.objects.exists()


def test_a_dose_not_recorded_by_the_afternoon_is_reminded_once(coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=2)
    )
    today = timezone.localdate()
    with time_machine.travel(at(today, 10), tick=False):
        reminder_scan()
    assert not Notification.objects.filter(kind="dose_missing").exists()  # still morning
    with time_machine.travel(at(today, 17), tick=False):
        reminder_scan()
        reminder_scan()
    (notification,) = Notification.objects.filter(kind="dose_missing")
    assert notification.key.startswith(f"dose-missing:{participant.participant_id}:3:")
