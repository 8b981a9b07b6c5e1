"""Every page of the URLconf, as every role, with real objects of the demo trial.

No page answers 5xx, a refusal or a missing object is the portal's own 403 or 404 page, and
identifying details (full name, hospital record number, phone) never reach a non-site role.

The pages come from the URLconf (tests/routes.py) and their parameters from the demo trial
(tests/crawl.py), so a new page is requested here as soon as it is routed; one whose parameters
cannot be filled fails `test_every_route_is_filled_from_the_demo_trial` until it is mapped.
Every identity record of the trial carries unusual marker strings, changed once so that the
audit trail holds them too; each role's crawl is made once and read by both kinds of test.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from pypdf import PdfReader

from crf.models import Notification
from enrollment.models import Identity
from reports.services import render_pdf
from tests.crawl import (  # noqa: F401  (fixtures)
    IDENTITY_MARKERS,
    NON_SITE_ROLES,
    ROLE_USERNAMES,
    Answer,
    client_for_role,
    fetch,
    fills,
    media_in_tmp,
    media_root,
    models_without_records,
    requests_of,
    trial,
)
from tests.ops.test_headers import header_problems
from tests.routes import routes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trial")]

# Pages that may answer 5xx on purpose, each for a reason.
MAY_ANSWER_5XX = {
    # Load balancers read 503 as "a dependency is down" (no worker runs during this test).
    "health": {503},
}
# The portal's own error pages: a 403 or 404 that is not one of them is some other code's page.
ERROR_TEMPLATES = {403: "errors/403.html", 404: "errors/404.html"}
# Reviews whose filters could single out identity events, requested besides the plain pages.
FILTERED = [
    "/audit/?format=csv",
    "/audit/?form=enrollment.Identity",
    "/audit/?form=enrollment.Identity&format=csv",
]


@pytest.fixture(scope="module")
def crawls():
    """Each role's answers, crawled once for the module: role -> [(route name, answer)]."""
    return {}


def crawl(crawls: dict, role: str) -> list[tuple[str | None, Answer]]:
    """GET every page with every set of parameter values, and POST each page once, empty."""
    if role not in crawls:
        client, user = client_for_role(role)
        answers = []
        posted = set()
        for route, url in requests_of(user):
            # An empty POST to each page once (the first set of values): it must be refused
            # or re-rendered, never fail.
            methods = ("get",) if route in posted else ("get", "post")
            posted.add(route)
            answers += [(route.name, fetch(client, method, url)) for method in methods]
        answers += [("crf:audit", fetch(client, "get", url)) for url in FILTERED]
        crawls[role] = answers
    return crawls[role]


def test_every_route_is_filled_from_the_demo_trial():
    investigator = get_user_model().objects.get(username="investigator")
    unfilled = [f"{r.name or '-'} {r.pattern}" for r in routes() if not fills(r, investigator)]
    assert not unfilled, "routes whose parameters tests/crawl.py cannot fill:\n" + "\n".join(
        unfilled
    )
    empty = models_without_records()
    assert not empty, f"clinical models with no record in the crawled trial: {empty}"


@pytest.mark.parametrize("role", list(ROLE_USERNAMES))
def test_no_page_answers_a_server_error(crawls, role):
    answers = crawl(crawls, role)
    failures = []
    for name, answer in answers:
        where = f"{answer.method.upper()} {answer.url} ({name}): {answer.status}"
        if answer.status >= 500 and answer.status not in MAY_ANSWER_5XX.get(name, ()):
            failures.append(f"{where} {answer.error}")
        expected = ERROR_TEMPLATES.get(answer.status)
        if expected and expected not in answer.templates:
            failures.append(f"{where} not the portal's page ({', '.join(answer.templates)})")
    assert len(answers) > 300  # the walk found the pages
    assert not failures, f"as {role}:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", list(ROLE_USERNAMES))
def test_every_answer_carries_the_security_headers(crawls, role):
    missing = [
        f"{answer.method.upper()} {answer.url}: {', '.join(problems)}"
        for _name, answer in crawl(crawls, role)
        if answer.headers and (problems := header_problems(answer.headers))
    ]
    assert not missing, f"as {role}:\n" + "\n".join(missing)


# --- Identifying details -------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def texts(answer: Answer) -> list[str]:
    """What a reader sees of an answer: the page, each file of a zip, the text of a PDF."""
    body = answer.body
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    if body.startswith(b"%PDF"):
        return [pdf_text(body)]
    return [body.decode("utf-8", "replace")]


def markers_in(text: str) -> list[str]:
    return [marker for marker in IDENTITY_MARKERS if marker in text]


@pytest.mark.parametrize("role", NON_SITE_ROLES)
def test_no_page_download_or_notification_shows_identifying_details(crawls, role):
    found = []
    for _name, answer in crawl(crawls, role):
        for text in texts(answer):
            if hits := markers_in(text):
                found.append(f"{answer.method.upper()} {answer.url}: {', '.join(hits)}")
    inbox = Notification.objects.filter(recipient__username=ROLE_USERNAMES[role] or "-")
    for notification in inbox:
        if hits := markers_in(f"{notification.subject}\n{notification.body}"):
            found.append(f"notification {notification.key}: {', '.join(hits)}")
    assert not found, f"identifying details reach the {role}:\n" + "\n".join(found)


def test_the_dsmb_report_carries_no_identifying_details():
    pdf, _pages = render_pdf(timezone.now(), version=1, requested_by="Monitor", language="en")
    text = pdf_text(pdf)
    assert "MDA5-001" in text
    assert not markers_in(text)


@pytest.mark.parametrize("role", ["coordinator", "investigator"])
def test_site_staff_read_the_identity_and_its_history(role):
    client, _user = client_for_role(role)
    screening = Identity.objects.order_by("pk").first().screening
    page = fetch(client, "get", f"/screening/{screening.pk}/")
    assert markers_in(texts(page)[0]) == list(IDENTITY_MARKERS)
    audit = fetch(client, "get", "/audit/?form=enrollment.Identity&format=csv")
    assert markers_in(texts(audit)[0]) == list(IDENTITY_MARKERS)
