"""Security headers and cookies. Every page of the URLconf is checked by tests/test_every_url.py."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tests.test_settings_env import PRODUCTION, run_django


def header_problems(headers: Mapping[str, str]) -> list[str]:
    """The security headers a response lacks or weakens."""
    headers = {name.lower(): value for name, value in headers.items()}
    problems = []
    if "camera=()" not in headers.get("permissions-policy", ""):
        problems.append("Permissions-Policy")
    if "no-store" not in headers.get("cache-control", ""):
        problems.append("Cache-Control")
    csp = headers.get("content-security-policy", "")
    if "default-src 'self'" not in csp or "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("Content-Security-Policy")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("X-Content-Type-Options")
    return problems


@pytest.mark.django_db
def test_a_download_with_participant_data_is_not_cached(client_for, monitor):
    response = client_for(monitor).get("/exports/dictionary/")
    assert response.status_code == 200
    assert header_problems(response.headers) == []


@pytest.mark.django_db
def test_the_sign_in_page_carries_the_headers(client):
    assert header_problems(client.get("/accounts/login/").headers) == []


def test_under_https_the_session_and_csrf_cookies_are_host_cookies():
    result = run_django(
        PRODUCTION,
        "-c",
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH, "
        "s.SESSION_COOKIE_DOMAIN, s.CSRF_COOKIE_DOMAIN)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "__Host-sessionid", "__Host-csrftoken", "True", "True", "/", "/", "None", "None",
    ]  # fmt: skip
