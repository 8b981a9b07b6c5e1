"""Every URL needs a signed-in user, except sign-in, password reset and health.

The list of URLs comes from the URLconf itself, so a new page is covered without editing this test.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.routes import routes

pytestmark = pytest.mark.django_db

# URL names an anonymous visitor may reach, each for a reason.
PUBLIC = {
    "account_login",
    "account_logout",  # signing out needs no session
    "account_signup",  # answers "sign-up closed"
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",  # emailed links open before signing in
    "account_email_verification_sent",
    "account_inactive",
    "health",
    "set_language",
}
# Parameter values that fit each converter; what they point to does not matter here.
SAMPLE_VALUES = {"label": "crftest.observation", "uuid": "00000000-0000-0000-0000-000000000000"}

ROUTES = [(route.pattern, route.name) for route in routes()]
URLS = {route.pattern: route.url(SAMPLE_VALUES, default="1") for route in routes()}


def test_the_walk_finds_the_pages():
    names = {name for _, name in ROUTES}
    assert {"home", "crf:history", "account_login", "health", "admin:index"} <= names


@pytest.mark.parametrize(("pattern", "name"), ROUTES)
def test_an_anonymous_visitor_is_sent_to_sign_in(pattern, name):
    url = URLS[pattern]
    response = Client().get(url)
    if name in PUBLIC:
        assert response.status_code != 500
        return
    assert response.status_code == 302, f"{url} ({name}) answered {response.status_code}"
    location = response["Location"]
    if location.startswith("/admin/login/"):
        # The account-management pages pass through their own login URL, which sends the
        # visitor on to the one sign-in page.
        response = Client().get(location)
        assert response.status_code == 302
        location = response["Location"]
    assert location.startswith("/accounts/login/"), location
