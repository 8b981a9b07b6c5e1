"""Outages on demand: the broker or the whole Redis pointed at a closed port, a worker killed.

Nothing shared is stopped: the machine's Redis keeps running for everyone else; the app under test
is simply pointed at a port where nothing listens, then pointed back.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess

import pytest
import redis

from trialportal.celery import app

CLOSED = "redis://127.0.0.1:1/0"  # port 1: nothing listens, the connection is refused at once


def _reset_broker_pools() -> None:
    """Forget the broker connections, so the next publish connects to app.conf.broker_url."""
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_at(url: str):
    """The Celery broker is the one at `url` until the block ends."""
    original = app.conf.broker_url
    app.conf.broker_url = url
    _reset_broker_pools()
    try:
        yield
    finally:
        app.conf.broker_url = original
        _reset_broker_pools()


def broker_unreachable():
    """The Celery broker refuses connections until the block ends."""
    return broker_at(CLOSED)


@contextlib.contextmanager
def redis_unreachable(settings):
    """Redis is gone for everything: the cache (rate limits), the broker, /health/."""
    saved = settings.CACHES, settings.REDIS_URL
    settings.CACHES = {
        alias: {**config, "LOCATION": CLOSED} for alias, config in settings.CACHES.items()
    }
    settings.REDIS_URL = CLOSED
    try:
        with broker_unreachable():
            yield
    finally:
        settings.CACHES, settings.REDIS_URL = saved


@pytest.fixture
def flaky_mail(settings):
    """A mail server that refuses every message until `flaky_mail.failing = False`."""
    from tests.faults.backends import FlakyBackend

    settings.EMAIL_BACKEND = "tests.faults.backends.FlakyBackend"
    FlakyBackend.failing = True
    yield FlakyBackend
    FlakyBackend.failing = True


@pytest.fixture
def fast_retries(settings):
    """Retries and re-sends without the production delays (the logic is the same)."""
    import datetime as dt

    settings.OUTBOX_RETRY_DELAY = 0.2
    settings.OUTBOX_RESEND_AFTER = dt.timedelta(0)
    settings.NOTIFICATION_EMAIL_LEASE = dt.timedelta(0)


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test stops and starts."""

    def __init__(self, workdir):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        from tests.conftest import wait_for

        assert wait_for(lambda: _answers(client), timeout=10), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _answers(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()
