"""Browser journeys: Playwright driving Debian's Chromium against a live server.

The live server, the Celery worker (a thread) and the test share the real PostgreSQL test
database and the real Redis. Each journey's data are flushed afterwards; the data of the
migrations (role groups, CTCAE terms) are restored by serialized_rollback.

Chromium is looked for at $CHROMIUM or /usr/bin/chromium. Without it the journeys are skipped,
with the reason in the summary; with E2E_REQUIRED=1 (as in CI) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse the
# test's own database calls made while it runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from tests.conftest import PASSWORD, TOTP_SECRET, totp_code

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOAD_IMAGES = """async () => {
  for (const img of document.images) img.loading = 'eager';
  await Promise.all([...document.images].filter(img => !img.complete)
    .map(img => new Promise(done => { img.onload = img.onerror = done; })));
}"""
SCREENSHOTS = Path(os.environ["E2E_SCREENSHOTS"]) if os.environ.get("E2E_SCREENSHOTS") else None


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.fixture(scope="session")
def browser(django_db_setup):
    executable = chromium_path()
    if executable is None:
        message = (
            "browser journeys skipped: Chromium not found at /usr/bin/chromium "
            "(install Debian's chromium package, or set CHROMIUM)"
        )
        if os.environ.get("E2E_REQUIRED"):
            pytest.fail(message.replace("skipped", "required"))
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # While Playwright's event loop runs in this thread, Django's (thread-critical) connections
    # are context-local: the journeys get new connection objects, which need the database
    # contents serialized at setup for serialized_rollback to restore them.
    serialized = {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }
    # Playwright gives every launch a fresh, temporary profile.
    with sync_playwright() as playwright:
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_session(browser, live_server):
    """Sign a user in through the sign-in page; returns a Playwright page in their session.

    `language` is the browser's language ("en" or "zh-CN"); `width` the viewport width.
    """
    contexts = []

    def _open(user, *, language: str = "en", width: int = 1280, password: str = PASSWORD):
        context = browser.new_context(
            base_url=live_server.url,
            locale=language,
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("input[name=login]", user.username)
        page.fill("input[name=password]", password)
        page.locator("form[action$='/accounts/login/'] button[type=submit]").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        if "/accounts/2fa/authenticate/" in page.url:
            # Roles that require two-factor authentication: the personas' authenticator app.
            page.fill("input[name=code]", _fresh_code(user))
            page.locator("form[action$='/accounts/2fa/authenticate/'] button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/2fa/" not in url)
        return page

    yield _open
    for context in contexts:
        context.close()


_last_period: dict[int, int] = {}


def _fresh_code(user) -> str:
    """The persona's current authenticator code; a code is accepted once, so a second sign-in of
    the same person within one 30-second period waits for the next."""
    period = int(time.time()) // 30
    if _last_period.get(user.pk) == period:
        time.sleep((period + 1) * 30 - time.time() + 0.5)
        period += 1
    _last_period[user.pk] = period
    return totp_code(TOTP_SECRET, at=period * 30 + 1)


@pytest.fixture
def shot():
    """Save a screenshot under $E2E_SCREENSHOTS (docs/screenshots with `make screenshots`)."""

    def _shot(page, name: str, *, full_page: bool = True) -> None:
        if SCREENSHOTS is None:
            return
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate(LOAD_IMAGES)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return _shot
