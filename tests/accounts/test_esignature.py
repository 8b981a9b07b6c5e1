"""Electronic signatures: user ID and password at the first signing of a session, then the password
(21 CFR 11.200(a)(1))."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from crf.models import Signature
from tests.conftest import PASSWORD, totp_code
from tests.factories import make_participant, make_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=20)
    )
    return make_visit(participant, coordinator, "baseline")


def sign_url(record, scope: str = "visit") -> str:
    return f"/records/{record._meta.label_lower}/{record.pk}/sign/{scope}/"


def signed_in(user, ip: str = "10.3.3.3") -> Client:
    """A session opened through the sign-in page, with the authenticator code."""
    client = Client(REMOTE_ADDR=ip)
    client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    client.post("/accounts/2fa/authenticate/", {"code": totp_code()})
    assert client.get("/").status_code == 200
    return client


def test_the_first_signature_asks_for_user_id_and_password_later_ones_the_password(
    investigator, visit
):
    client = signed_in(investigator)
    form = client.get(sign_url(visit)).context["form"]
    assert list(form.fields) == ["user_id", "password"]
    # Someone else's user ID, or the right one in other letter case, is refused.
    for wrong in ("someone-else", investigator.username.upper(), ""):
        response = client.post(sign_url(visit), {"user_id": wrong, "password": PASSWORD})
        assert response.status_code == 200
        message = response.context["form"].errors["user_id"][0]
        assert "same capital and small letters" in message or message == "This field is required."
    assert not Signature.objects.exists()
    response = client.post(
        sign_url(visit), {"user_id": investigator.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert Signature.objects.count() == 1

    form = client.get(sign_url(visit)).context["form"]
    assert list(form.fields) == ["password"]
    assert client.post(sign_url(visit), {"password": PASSWORD}).status_code == 302
    assert Signature.objects.count() == 2


def test_a_new_session_asks_for_the_user_id_again(investigator, visit):
    client = signed_in(investigator)
    client.post(sign_url(visit), {"user_id": investigator.username, "password": PASSWORD})
    client.post("/accounts/logout/")
    import time_machine

    # The next sign-in needs the next period's code (a code is used once).
    moment = (int(timezone.now().timestamp()) // 30 + 1) * 30 + 1
    with time_machine.travel(moment, tick=False):
        again = Client(REMOTE_ADDR="10.3.3.3")
        again.post("/accounts/login/", {"login": investigator.username, "password": PASSWORD})
        again.post("/accounts/2fa/authenticate/", {"code": totp_code(at=moment)})
        assert list(again.get(sign_url(visit)).context["form"].fields) == ["user_id", "password"]
        assert again.post(sign_url(visit), {"password": PASSWORD}).status_code == 200
    assert Signature.objects.count() == 1


def test_wrong_signature_passwords_and_user_ids_count_towards_the_lockout(investigator, visit):
    client = signed_in(investigator)
    for _ in range(2):
        client.post(sign_url(visit), {"user_id": "not-me", "password": PASSWORD})
    for _ in range(3):
        client.post(sign_url(visit), {"user_id": investigator.username, "password": "wrong"})
    response = Client(REMOTE_ADDR="10.3.3.3").post(
        "/accounts/login/", {"login": investigator.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    assert not Signature.objects.exists()
