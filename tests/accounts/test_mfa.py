"""Two-factor authentication: required roles enrol at sign-in, codes at every sign-in, resets."""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from accounts.models import AuthenticatorEvent
from accounts.roles import Role
from tests.conftest import PASSWORD, TOTP_SECRET, totp_code

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CODE_STEP = "/accounts/2fa/authenticate/"
ENROL = "/accounts/2fa/totp/activate/"
INCORRECT = (
    "This code is not correct. Enter the code the app shows now (it changes every 30 seconds), "
    "or an unused recovery code."
)


def sign_in(client: Client, user, password: str = PASSWORD, ip: str = "10.2.2.2"):
    return client.post(LOGIN, {"login": user.username, "password": password}, REMOTE_ADDR=ip)


def enter_code(client: Client, code: str, ip: str = "10.2.2.2"):
    return client.post(CODE_STEP, {"code": code}, REMOTE_ADDR=ip)


def next_period(secret: str = TOTP_SECRET) -> tuple[time_machine.travel, str]:
    """Travel to the next 30-second period (a used code is refused until it ends)."""
    moment = (int(time.time()) // 30 + 1) * 30 + 1
    return time_machine.travel(moment, tick=False), totp_code(secret, at=moment)


def test_an_investigator_without_authenticator_is_sent_to_enrolment_after_sign_in(make_user):
    investigator = make_user(Role.INVESTIGATOR, mfa=False)
    client = Client()
    assert sign_in(client, investigator)["Location"] == "/"
    for page in ("/", "/participants/", "/inbox/", "/accounts/password/change/", "/admin/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == ENROL, page
    enrol = client.get(ENROL)
    assert enrol.status_code == 200
    html = enrol.content.decode()
    assert "Your role requires two-factor authentication" in html
    assert 'href="/participants/"' not in html  # no navigation before the enrolment
    # Signing out stays possible.
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_htmx_request_before_enrolment_is_sent_to_the_enrolment_page(client_for, make_user):
    client = client_for(make_user(Role.MONITOR, mfa=False))
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == ENROL


def test_enrolment_with_a_real_code_then_every_sign_in_asks_for_the_code(make_user):
    monitor = make_user(Role.MONITOR, mfa=False)
    client = Client()
    sign_in(client, monitor)
    secret = client.get(ENROL).context["form"].secret
    wrong = client.post(ENROL, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"] == [INCORRECT]
    response = client.post(ENROL, {"code": totp_code(secret)})
    assert response.status_code == 302
    # allauth shows the recovery codes it generated, once enrolled.
    assert response["Location"] == "/accounts/2fa/recovery-codes/"
    codes = client.get("/accounts/2fa/recovery-codes/")
    assert codes.status_code == 200  # no second password prompt
    assert len(codes.context["unused_codes"]) == 10
    assert client.get("/").status_code == 200
    assert set(Authenticator.objects.filter(user=monitor).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }
    assert AuthenticatorEvent.objects.filter(user=monitor, pgh_label="mfa.enrolled").count() == 2

    client.post("/accounts/logout/")
    fresh = Client()
    response = sign_in(fresh, monitor)
    assert response["Location"] == CODE_STEP
    # The password alone signs nobody in.
    assert fresh.get("/")["Location"].startswith(LOGIN)
    page = fresh.get(CODE_STEP)
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in page.content.decode()
    travel, code = next_period(secret)
    with travel:
        refused = enter_code(fresh, "123456" if code != "123456" else "654321")
        assert refused.status_code == 200
        assert refused.context["form"].errors["code"] == [INCORRECT]
        assert enter_code(fresh, code)["Location"] == "/"
        assert fresh.get("/").status_code == 200


def test_a_recovery_code_signs_in_once(investigator):
    codes = RecoveryCodes.activate(investigator).get_unused_codes()
    client = Client()
    sign_in(client, investigator)
    assert enter_code(client, codes[0])["Location"] == "/"
    client.post("/accounts/logout/")
    again = Client()
    sign_in(again, investigator)
    assert enter_code(again, codes[0]).status_code == 200
    assert "_auth_user_id" not in again.session
    assert enter_code(again, codes[1])["Location"] == "/"


def test_wrong_codes_count_towards_the_lockout(investigator):
    client = Client()
    sign_in(client, investigator)
    wrong = "000000" if totp_code() != "000000" else "111111"
    for _ in range(4):
        assert enter_code(client, wrong).status_code == 200
    assert enter_code(client, wrong).status_code == 429
    # Locked: neither the right code in this attempt nor a new sign-in gets through.
    assert enter_code(client, totp_code()).status_code == 429
    assert "_auth_user_id" not in client.session
    assert sign_in(Client(), investigator).status_code == 429


def test_a_coordinator_is_not_forced_to_enrol_but_may(coordinator):
    client = Client()
    assert sign_in(client, coordinator)["Location"] == "/"
    assert client.get("/").status_code == 200
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert "Not set up" in page.content.decode()
    # Enrolling by choice asks for the password again first (allauth's reauthentication).
    asked = client.get(ENROL)
    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(asked["Location"]).status_code == 200
    confirmed = client.post(asked["Location"], {"password": PASSWORD})
    assert confirmed["Location"] == ENROL
    assert client.get(ENROL).status_code == 200


def test_a_change_of_the_required_roles_takes_effect_in_open_sessions(settings, coordinator):
    client = Client()
    sign_in(client, coordinator)
    assert client.get("/").status_code == 200
    settings.MFA_REQUIRED_ROLES = ["coordinator"]
    assert client.get("/")["Location"] == ENROL
    settings.MFA_REQUIRED_ROLES = []
    assert client.get("/").status_code == 200


def test_a_required_role_cannot_remove_its_own_authenticator(client_for, investigator):
    client = client_for(investigator)
    assert "/accounts/2fa/totp/deactivate/" not in client.get("/accounts/2fa/").content.decode()
    client.post("/accounts/2fa/totp/deactivate/")
    assert Authenticator.objects.filter(user=investigator, type="totp").exists()


def test_required_roles_are_read_from_the_environment(monkeypatch):
    from trialportal.env import env_choices

    monkeypatch.setenv("MFA_REQUIRED_ROLES", "monitor, admin")
    assert env_choices("MFA_REQUIRED_ROLES", [], choices=Role.values) == ["monitor", "admin"]
    monkeypatch.setenv("MFA_REQUIRED_ROLES", "monitor,superhero")
    with pytest.raises(ImproperlyConfigured, match="superhero"):
        env_choices("MFA_REQUIRED_ROLES", [], choices=Role.values)


def test_the_roles_in_settings_are_the_study_roles(settings):
    assert Role.values == settings.STUDY_ROLES
    assert settings.MFA_REQUIRED_ROLES == ["investigator", "monitor", "admin"]


# --- Reset by the administrator -------------------------------------------------------------


def reset_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/mfa-reset/"


def test_an_administrator_resets_two_factor_with_a_reason_in_the_audit(
    client_for, admin_user, investigator
):
    RecoveryCodes.activate(investigator)
    client = client_for(admin_user)
    change = client.get(f"/admin/accounts/user/{investigator.pk}/change/").content.decode()
    assert reset_url(investigator) in change
    assert client.get(reset_url(investigator)).status_code == 200

    refused = client.post(reset_url(investigator), {"reason": "  "})
    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"]
    assert Authenticator.objects.filter(user=investigator).count() == 2

    response = client.post(reset_url(investigator), {"reason": "Phone lost; identity checked"})
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=investigator).exists()
    events = AuthenticatorEvent.objects.filter(
        user=investigator, pgh_label="mfa.removed"
    ).select_related("pgh_context")
    assert {event.type for event in events} == {"totp", "recovery_codes"}
    for event in events:
        assert event.pgh_context.metadata["user"] == admin_user.pk
        assert event.pgh_context.metadata["reason"] == "Phone lost; identity checked"

    # The investigator enrols again at the next sign-in.
    again = Client()
    assert sign_in(again, investigator)["Location"] == "/"
    assert again.get("/")["Location"] == ENROL


def test_only_the_administrator_resets_two_factor(client_for, monitor, investigator):
    client = client_for(monitor)
    response = client.post(reset_url(investigator), {"reason": "because"})
    assert response.status_code in (302, 403)
    assert Authenticator.objects.filter(user=investigator).exists()
