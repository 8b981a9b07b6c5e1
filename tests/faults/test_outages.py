"""A save never depends on mail, Redis or a worker; its alerts arrive exactly once after recovery.

Each test breaks one thing for real (a mail server that refuses, a broker or cache on a closed
port, a worker process killed with SIGKILL), checks that the user's save answered normally and
was committed, then repairs it and watches a real worker deliver the work once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from crf.models import Notification
from ops.models import OutboxMessage
from ops.outbox import outbox_dispatch, outbox_enqueue, outbox_sweep
from outcomes.models import VitalSigns
from safety.models import AdverseEvent, CtcaeTerm
from study import protocol
from tests.conftest import PASSWORD, totp_code, wait_for, worker_idle
from tests.factories import make_ae, make_participant, make_visit
from tests.faults.conftest import broker_at, broker_unreachable, redis_unreachable

pytestmark = pytest.mark.faults
worker_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LOGIN = "/accounts/login/"


def sae_recipients(*investigators) -> list[str]:
    return sorted([*(user.email for user in investigators), *protocol.SAFETY_CONTACT_EMAILS])


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- The mail server refuses ----------------------------------------------------------------------


def vitals_data(**changes) -> dict:
    data = {
        "temperature": "36.8",
        "heart_rate": "92",
        "resp_rate": "22",
        "sbp": "124",
        "dbp": "76",
        "spo2": "94",
        "weight": "58",
        "height": "162",
    }
    data.update({key: str(value) for key, value in changes.items()})
    return data


@worker_db
def test_a_correction_of_a_verified_signed_record_commits_while_mail_fails_and_mails_once_later(
    celery_worker, fast_retries, flaky_mail, client_for, coordinator, monitor, investigator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=30)
    )
    visit = make_visit(participant, coordinator, "baseline")
    url = f"/participants/{participant.participant_id}/visits/{visit.pk}/vitals/"
    assert client_for(coordinator).post(url, vitals_data()).status_code == 302
    vitals = VitalSigns.objects.get()
    assert (
        client_for(monitor).post(f"/records/outcomes.vitalsigns/{vitals.pk}/verify/").status_code
        == 302
    )
    signed = client_for(investigator).post(
        f"/records/outcomes.visit/{visit.pk}/sign/visit/",
        {"user_id": investigator.username, "password": PASSWORD},
    )
    assert signed.status_code == 302

    response = client_for(coordinator).post(
        url,
        vitals_data(heart_rate=96, reason_for_change="transcription error", version=vitals.version),
    )

    assert response.status_code == 302
    assert VitalSigns.objects.get().heart_rate == 96
    # The worker tries, the mail server refuses, the attempt is recorded and nothing is lost.
    assert wait_for(
        lambda: (
            OutboxMessage.objects.filter(
                task="crf.tasks.notification_email", attempts__gte=2
            ).count()
            == 2
        )
    ), list(OutboxMessage.objects.values("task", "attempts", "last_error", "done_at"))
    assert mail.outbox == []
    assert (
        "421"
        in OutboxMessage.objects.filter(task="crf.tasks.notification_email").first().last_error
    )

    flaky_mail.failing = False
    outbox_sweep()
    assert wait_for(lambda: len(mail.outbox) >= 2)
    assert worker_idle()
    assert sent_to() == sorted([monitor.email, investigator.email])
    assert {n.kind for n in Notification.objects.filter(emailed_at__isnull=False)} == {
        "sdv_cleared",
        "signature_invalid",
    }


# --- The broker is unreachable when the save commits ----------------------------------------------


@worker_db
def test_an_sae_saved_while_the_broker_is_down_is_alerted_once_after_it_returns(
    request, coordinator, investigator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )

    with broker_unreachable():
        ae = make_ae(
            participant,
            coordinator,
            term="Hypoxia",
            grade=3,
            serious=True,
            sae_hospitalisation=True,
        )

    assert AdverseEvent.objects.filter(pk=ae.pk).exists()
    waiting = OutboxMessage.objects.filter(done_at__isnull=True, dispatched_at__isnull=True)
    assert set(waiting.values_list("task", flat=True)) == {
        "safety.tasks.sae_alert",
        "safety.tasks.stopping_rules_check",
    }

    request.getfixturevalue("celery_worker")  # the broker is back and a worker runs
    outbox_sweep(now=timezone.now() + django_settings.OUTBOX_RESEND_AFTER)
    expected = sae_recipients(investigator)
    assert wait_for(lambda: len(mail.outbox) >= len(expected))
    assert worker_idle()
    assert sent_to() == expected
    outbox_sweep(now=timezone.now() + django_settings.OUTBOX_RESEND_AFTER)  # a later beat
    assert worker_idle() and sent_to() == expected


# --- A worker is killed in the middle of a task ---------------------------------------------------


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@worker_db
def test_an_alert_whose_worker_is_killed_mid_send_is_sent_once_by_another(
    request, tmp_path, fast_retries, coordinator, investigator
):
    started = tmp_path / "started"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "DATABASE_URL": _database_url(),
        "FAULT_STARTED_FILE": str(started),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "trialportal.celery", "worker",
            "--pool=solo", "-Q", django_settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "warning",
            "-n", f"doomed-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    try:
        participant = make_participant(
            coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
        )
        make_ae(
            participant,
            coordinator,
            term="Hypoxia",
            grade=3,
            serious=True,
            sae_hospitalisation=True,
        )
        assert wait_for(started.exists, timeout=60), (tmp_path / "worker.log").read_text()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        log.close()

    assert mail.outbox == []
    assert OutboxMessage.objects.filter(
        task="crf.tasks.notification_email", done_at__isnull=True
    ).exists()

    request.getfixturevalue("celery_worker")  # another worker; beat's sweep re-sends the work
    outbox_sweep()
    expected = sae_recipients(investigator)
    assert wait_for(lambda: len(mail.outbox) >= len(expected))
    assert worker_idle()
    assert sent_to() == expected


# --- Redis is down altogether ---------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_works_without_redis_and_the_lockout_still_holds(
    settings, coordinator, investigator
):
    with redis_unreachable(settings):
        # An investigator signs in with the password and the authenticator app's code.
        client = Client()
        response = client.post(LOGIN, {"login": investigator.username, "password": PASSWORD})
        assert response.status_code == 302
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
        assert response.status_code == 302
        assert client.get("/").status_code == 200

        client = Client()
        for _ in range(4):
            wrong = client.post(LOGIN, {"login": coordinator.username, "password": "wrong-one"})
            assert wrong.status_code == 200
        wrong = client.post(LOGIN, {"login": coordinator.username, "password": "wrong-one"})
        assert wrong.status_code == 429
        locked = client.post(LOGIN, {"login": coordinator.username, "password": PASSWORD})
        assert locked.status_code == 429
        assert "_auth_user_id" not in client.session


def sae_form(participant) -> dict:
    return {
        "verbatim_term": "desaturation",
        "term": str(CtcaeTerm.objects.get(term="Hypoxia").pk),
        "other_specify": "",
        "onset_date": participant.first_dose_date.isoformat(),
        "onset_time": "10:30",
        "ongoing": "True",
        "end_date": "",
        "grade": "3",
        "serious": "True",
        "sae_death": "False",
        "sae_life_threatening": "False",
        "sae_hospitalisation": "True",
        "sae_disability": "False",
        "sae_congenital": "False",
        "sae_important": "False",
        "death_date": "",
        "action_taken": "none",
        "outcome": "recovering",
        "treatment": "",
        "awareness_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }


@worker_db
def test_an_sae_saved_with_redis_down_commits_and_is_alerted_once_after_redis_returns(
    request, settings, client_for, coordinator, investigator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    client = client_for(coordinator)

    with redis_unreachable(settings):
        response = client.post(
            f"/safety/ae/new/{participant.participant_id}/", sae_form(participant)
        )
        assert response.status_code == 302
        health = Client().get("/health/")
        assert health.status_code == 503
        checks = health.json()["checks"]
        assert checks["database"]["ok"] is True
        assert checks["redis"]["ok"] is False
        assert checks["broker"]["ok"] is False
        assert checks["outbox"]["detail"].startswith("2 waiting")

    ae = AdverseEvent.objects.get()
    assert ae.serious and response["Location"] == ae.get_absolute_url()
    assert mail.outbox == []

    request.getfixturevalue("celery_worker")
    outbox_sweep(now=timezone.now() + settings.OUTBOX_RESEND_AFTER)
    expected = sae_recipients(investigator)
    assert wait_for(lambda: len(mail.outbox) >= len(expected))
    assert worker_idle()
    assert sent_to() == expected
    assert Notification.objects.filter(kind="sae").count() == len(expected)


@pytest.mark.django_db
def test_a_real_broker_outage_keeps_the_work_and_the_same_process_sends_it_when_it_returns(
    private_redis, coordinator
):
    """The broker stops and starts again; this process's connections recover on their own."""
    from trialportal.celery import app

    queue = django_settings.CELERY_TASK_DEFAULT_QUEUE
    private_redis.start()
    with broker_at(private_redis.url):
        client = redis.Redis.from_url(private_redis.url)
        outbox_enqueue(task="ops.tasks.heartbeat", key="before")
        assert outbox_dispatch(message_ids=OutboxMessage.objects.values_list("pk", flat=True))
        assert client.llen(queue) == 1

        private_redis.stop()
        outbox_enqueue(task="ops.tasks.heartbeat", key="during")
        during = OutboxMessage.objects.get(key="during")
        assert outbox_dispatch(message_ids=[during.pk]) == []  # refused, kept, nothing raised
        during.refresh_from_db()
        assert during.dispatched_at is None

        private_redis.start()  # an empty Redis: what was queued before the outage is gone too
        sent = outbox_sweep(now=timezone.now() + dt.timedelta(minutes=1))
        assert during.pk in sent
        assert client.llen(queue) == 1
        assert app.conf.broker_url == private_redis.url


# --- A worker is killed in the middle of a DSMB build ----------------------------------------------


@worker_db
def test_a_report_whose_worker_is_killed_mid_build_is_retried_and_built_once(
    request, tmp_path, settings, fast_retries, monitor, client_for
):
    from reports import services as report_services
    from reports.models import Report, ReportState
    from reports.tasks import sweep_reports

    lease = 2.0
    settings.REPORT_LEASE = dt.timedelta(seconds=lease)
    settings.REPORT_LEASE_RENEWAL = dt.timedelta(seconds=lease / 4)
    started = tmp_path / "started"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "FAULT_STARTED_FILE": str(started),
        "FAULT_REPORT_LEASE": str(lease),
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "tests.faults.report_worker",
            "--pool=solo", "-Q", django_settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "warning",
            "-n", f"doomed-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )  # fmt: skip
    client = client_for(monitor)
    try:
        report = report_services.report_request(cutoff=timezone.now(), actor=monitor)
        assert wait_for(started.exists, timeout=60), (tmp_path / "worker.log").read_text()
        # While the worker lives, its heartbeat keeps the lease ahead of the clock.
        time.sleep(lease * 2)
        report.refresh_from_db()
        assert report.state == ReportState.BUILDING and report.attempts == 1
        assert report.lease_until > timezone.now()
        assert not report_services.report_claim(report.pk)  # nobody else may take it
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        log.close()
    killed_at = time.monotonic()

    def page() -> str:
        return client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()

    # Once the lease lapses the user reads that the build is being retried, not a bare spinner.
    assert wait_for(lambda: 'data-retrying="2"' in page(), timeout=30)

    request.getfixturevalue("celery_worker")  # a live worker; the sweeper (beat) hands it over

    # Beat sweeps every 30 s in production; here once a second.
    while Report.objects.get(pk=report.pk).state != ReportState.READY:
        assert time.monotonic() - killed_at < 120, "the lost build was not retried in 2 minutes"
        sweep_reports()
        outbox_sweep()  # the dead worker's task is owed too: re-sent, it finds the build done
        wait_for(lambda: Report.objects.get(pk=report.pk).state == ReportState.READY, timeout=1)
    assert worker_idle()  # every owed task has run, the re-sent one included
    report.refresh_from_db()
    assert report.attempts == 2 and report.sha256 and report.file.storage.exists(report.file.name)
    assert "Retrying" not in page() and "Download PDF" in page()
