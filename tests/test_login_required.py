"""Every URL needs a signed-in user, except sign-in, password reset and health.

The list of URLs comes from the URLconf itself, so a new page is covered without editing this test.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

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
SAMPLE_VALUES = {
    "int": "1",
    "str": "crftest.observation",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), (namespace + entry.name) if entry.name else None


def sample_url(pattern: str) -> str:
    """Turn a route or regex pattern into a concrete path."""
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "x", pattern)  # regex groups (admin, allauth)
    url = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLE_VALUES.get(m.group(1) or "str", "1"), url)
    url = url.replace("^", "").replace("$", "").replace("\\", "")
    url = re.sub(r"[?*+]", "", url)
    return "/" + url


ROUTES = sorted(set(walk(get_resolver())))


def test_the_walk_finds_the_pages():
    names = {name for _, name in ROUTES}
    assert {"home", "crf:history", "account_login", "health", "admin:index"} <= names


@pytest.mark.parametrize(("pattern", "name"), ROUTES)
def test_an_anonymous_visitor_is_sent_to_sign_in(pattern, name):
    url = sample_url(pattern)
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
