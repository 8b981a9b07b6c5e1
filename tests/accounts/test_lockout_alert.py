"""A lockout reaches the administrators; its limit and duration come from the settings."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from crf.models import Notification
from tests.conftest import PASSWORD, deliver_outbox
from tests.test_settings_env import run_django

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def fail(client: Client, username: str, ip: str = "10.7.7.7"):
    return client.post(LOGIN, {"login": username, "password": "not-it"}, REMOTE_ADDR=ip)


def test_a_lockout_tells_every_administrator_once(coordinator, admin_user, make_user):
    from accounts.roles import Role

    second_admin = make_user(Role.ADMIN)
    client = Client()
    for _ in range(5):
        fail(client, coordinator.username)
    assert fail(client, coordinator.username).status_code == 429  # still locked: no new alert
    assert (
        client.post(
            LOGIN, {"login": coordinator.username, "password": PASSWORD}, REMOTE_ADDR="10.7.7.7"
        ).status_code
        == 429
    )
    alerts = Notification.objects.filter(kind="lockout")
    assert sorted(alerts.values_list("recipient__username", flat=True)) == sorted(
        [admin_user.username, second_admin.username]
    )
    for alert in alerts:
        assert coordinator.username in alert.subject
        assert "10.7.7.7" in alert.body and "30 minutes" in alert.body
    deliver_outbox()
    assert sorted(m.to[0] for m in mail.outbox if "locked" in m.subject) == sorted(
        [admin_user.email, second_admin.email]
    )


def test_no_alert_before_the_limit(coordinator, admin_user):
    client = Client()
    for _ in range(4):
        assert fail(client, coordinator.username).status_code == 200
    assert not Notification.objects.filter(kind="lockout").exists()


def test_the_limit_and_duration_come_from_the_settings_and_the_pages_say_them(
    settings, coordinator
):
    import datetime as dt

    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=10)
    client = Client()
    assert "After 3 failed attempts" in client.get(LOGIN).content.decode()
    for _ in range(2):
        assert fail(client, coordinator.username).status_code == 200
    locked = fail(client, coordinator.username)
    assert locked.status_code == 429
    assert "locked for 10 minutes" in locked.content.decode()


def test_the_lockout_settings_are_read_from_the_environment():
    result = run_django(
        {"DEBUG": "1", "AXES_FAILURE_LIMIT": "4", "AXES_COOLOFF_MINUTES": "45"},
        "-c",
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, int(s.AXES_COOLOFF_TIME.total_seconds()))",
    )
    assert result.stdout.split() == ["4", "2700"], result.stderr
    bad = run_django({"DEBUG": "1", "AXES_FAILURE_LIMIT": "0"})
    assert bad.returncode != 0 and "AXES_FAILURE_LIMIT" in bad.stderr
