"""Every response carries the security headers; under HTTPS the cookies are __Host- cookies."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.test_login_required import ROUTES, sample_url
from tests.test_settings_env import PRODUCTION, run_django

pytestmark = pytest.mark.django_db


def header_problems(response) -> list[str]:
    problems = []
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append("Permissions-Policy")
    if "no-store" not in response.headers.get("Cache-Control", ""):
        problems.append("Cache-Control")
    csp = response.headers.get("Content-Security-Policy", "")
    if "default-src 'self'" not in csp or "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("Content-Security-Policy")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options")
    return problems


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "coordinator"])
def test_every_page_and_download_carries_the_security_headers(signed_in, coordinator):
    client = Client()
    if signed_in:
        client.force_login(coordinator)
    missing = {}
    for pattern, name in ROUTES:
        url = sample_url(pattern)
        problems = header_problems(client.get(url))
        if problems:
            missing[f"{url} ({name})"] = problems
    assert missing == {}


def test_a_real_download_is_not_cached(client_for, monitor):
    response = client_for(monitor).get("/exports/dictionary/")
    assert response.status_code == 200
    assert header_problems(response) == []


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
