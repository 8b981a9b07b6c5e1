"""Personas and shared fixtures; tests run on real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import Role

PASSWORD = "correct-horse-battery-staple"
# The authenticator-app secret of every persona whose role requires two-factor authentication.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = TOTP_SECRET, at: float | None = None) -> str:
    """The code an authenticator app shows for the secret now (or at the Unix time `at`)."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    moment = time.time() if at is None else at
    return format_hotp_value(hotp_value(secret, int(moment) // 30))


def enrol_totp(user, secret: str = TOTP_SECRET):
    """Give the user an authenticator app, as if they had enrolled at the sign-in."""
    from allauth.mfa.totp.internal.auth import TOTP

    return TOTP.activate(user, secret).instance


def wait_for(condition, timeout: float = 30.0) -> bool:
    """Poll `condition` until it holds (True) or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def deliver_outbox() -> int:
    """Run the work owed through the outbox in this process, as a worker would; return how many.

    For tests that are not about background work: inside a test's transaction nothing commits, so
    nothing is sent to the broker, and the owed rows wait here (work they owe in turn runs too).
    """
    from ops.models import OutboxMessage
    from ops.outbox import outbox_run
    from trialportal.celery import app

    app.loader.import_default_modules()  # every app's tasks.py, as a starting worker does
    ran = 0
    while pending := list(
        OutboxMessage.objects.filter(done_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        for message_id in pending:
            outbox_run(message_id=message_id, tasks=app.tasks)
            ran += 1
    return ran


def worker_idle(timeout: float = 30.0) -> bool:
    """Wait until the worker has done all owed work and consumed everything queued so far.

    The sentinel is a heartbeat queued last: one worker takes tasks in order, so when it has run,
    whatever was queued before it has run too. No sleeping to prove that nothing else happens.
    """
    from ops.models import Heartbeat, OutboxMessage
    from ops.tasks import heartbeat

    if not wait_for(
        lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), timeout
    ):
        return False
    Heartbeat.objects.all().delete()
    heartbeat.delay()
    return wait_for(Heartbeat.objects.exists, timeout)


_counter = itertools.count()


@pytest.fixture
def make_user(db):
    def _make(
        role: Role | None = None,
        *,
        username: str | None = None,
        mfa: bool | None = None,
        **extra,
    ):
        """A user with the role; enrolled in two-factor authentication if the role requires it
        (or as `mfa` says)."""
        from django.conf import settings

        username = username or f"{role or 'outsider'}-{next(_counter)}"
        extra.setdefault("email", f"{username}@example.org")
        user = get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        if mfa if mfa is not None else role in settings.MFA_REQUIRED_ROLES:
            enrol_totp(user)
        return user

    return _make


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR, display_name="Li Na")


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, display_name="Dr Chen")


@pytest.fixture
def monitor(make_user):
    return make_user(Role.MONITOR)


@pytest.fixture
def dsmb_member(make_user):
    return make_user(Role.DSMB)


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture
def outsider(make_user):
    """A signed-in account with no study role."""
    return make_user(None)


@pytest.fixture
def client_for(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def observation(coordinator):
    from crf.services import record_create
    from tests.crftest.models import Observation

    return record_create(
        record=Observation(measured_on=dt.date(2026, 3, 1), value=None, note="baseline"),
        actor=coordinator,
    )


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """Give each test its own key space in the real Redis cache, as each gets a clean database.

    Rate limits (allauth counts sign-ins per IP in the cache) would otherwise carry over between
    tests and between runs.
    """
    import uuid

    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for alias, config in settings.CACHES.items()
    }


@pytest.fixture
def celery_worker():
    """A real Celery worker (a thread of this process) on the real Redis broker's test queue.

    Tasks left in the queue by earlier tests (enqueued on commit, with no worker running) are
    purged first, so they cannot run against this test's data.
    """
    from celery.contrib.testing.worker import start_worker

    from trialportal.celery import app

    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Files written by a test (report PDFs) go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
