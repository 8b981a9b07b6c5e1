"""Sign-in, lockout and session limits."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, ip: str = "10.1.1.1"):
    return client.post(LOGIN, {"login": username, "password": password}, REMOTE_ADDR=ip)


def test_a_user_signs_in_with_username_and_password(coordinator):
    client = Client()
    response = sign_in(client, coordinator.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Li Na" in home.content.decode()


def test_a_wrong_password_shows_an_error_on_the_form(coordinator):
    response = sign_in(Client(), coordinator.username, "wrong-password")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_five_failures_lock_the_account_on_that_computer(coordinator):
    client = Client()
    for _ in range(4):
        assert sign_in(client, coordinator.username, "wrong-password").status_code == 200
    # The fifth failure locks the account; even the right password is refused afterwards.
    assert sign_in(client, coordinator.username, "wrong-password").status_code == 429
    locked = sign_in(client, coordinator.username, PASSWORD)
    assert locked.status_code == 429
    assert "30 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_leaves_other_users_on_the_same_computer_unaffected(coordinator, make_user):
    for _ in range(5):
        sign_in(Client(), coordinator.username, "wrong-password", ip="10.9.9.9")
    colleague = Client()
    other = make_user(Role.COORDINATOR)
    response = sign_in(colleague, other.username, PASSWORD, ip="10.9.9.9")
    assert response.status_code == 302
    assert colleague.get("/").status_code == 200


def test_the_lockout_ends_after_30_minutes(coordinator):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            sign_in(Client(), coordinator.username, "wrong-password")
        assert sign_in(Client(), coordinator.username, PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False):
        assert sign_in(Client(), coordinator.username, PASSWORD).status_code == 302


def test_sign_up_is_closed():
    response = Client().get("/accounts/signup/")
    assert response.status_code == 200
    assert "administrator" in response.content.decode()
    Client().post(
        "/accounts/signup/",
        {"username": "intruder", "password1": "x" * 20, "password2": "x" * 20},
    )
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="intruder").exists()


def test_an_idle_session_expires_after_30_minutes(coordinator):
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        sign_in(client, coordinator.username, PASSWORD)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200
    # Activity renewed the session: 29 more minutes are still fine.
    with time_machine.travel(start + dt.timedelta(minutes=58), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=58 + 31), tick=False):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)


def test_an_active_session_ends_after_12_hours(coordinator):
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        sign_in(client, coordinator.username, PASSWORD)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200, f"signed out early at {minutes} min"
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=1), tick=False):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert "_auth_user_id" not in client.session


def test_signing_in_gives_a_new_session_key(coordinator):
    client = Client()
    client.get(LOGIN)
    client.cookies["sessionid"] = "attacker-chosen"
    sign_in(client, coordinator.username, PASSWORD)
    assert client.cookies["sessionid"].value != "attacker-chosen"


def test_signing_out_ends_the_session(coordinator):
    client = Client()
    sign_in(client, coordinator.username, PASSWORD)
    client.post("/accounts/logout/")
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def _session_writes(client, url: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [
        q["sql"]
        for q in captured.captured_queries
        if "django_session" in q["sql"] and q["sql"].startswith(("UPDATE", "INSERT"))
    ]


def test_a_busy_session_is_not_rewritten_on_every_request(coordinator):
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        sign_in(client, coordinator.username, PASSWORD)
        client.get("/")
    for seconds in (5, 20, 40, 55):
        with time_machine.travel(start + dt.timedelta(seconds=seconds), tick=False):
            assert _session_writes(client, "/") == [], f"written at {seconds} s"
    # A minute on, activity renews the idle timeout: one write.
    with time_machine.travel(start + dt.timedelta(seconds=65), tick=False):
        assert len(_session_writes(client, "/")) == 1
