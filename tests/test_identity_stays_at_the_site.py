"""Identifying details (full name, hospital record number, phone) never reach a non-site role.

Every identity record of the demo trial carries unusual marker strings, changed once so that the
audit trail holds them too. Each non-site role then requests every page and download of the
URLconf (the same list as tests/test_every_url.py), reads zips, CSV, XML and PDF files, and its
notifications: no marker may appear. Site staff do see them, so the markers are really there.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import timezone
from pypdf import PdfReader

from crf.models import Notification
from enrollment.models import Identity
from reports.services import render_pdf
from tests.crawl import (  # noqa: F401  (fixtures)
    IDENTITY_MARKERS,
    NON_SITE_ROLES,
    Answer,
    client_for_role,
    fetch,
    media_in_tmp,
    media_root,
    requests_of,
    trial,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trial")]

# Reviews whose filters could single out identity events, requested besides the plain pages.
FILTERED = [
    "/audit/?format=csv",
    "/audit/?form=enrollment.Identity",
    "/audit/?form=enrollment.Identity&format=csv",
]


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


def leaks(client, user) -> list[str]:
    urls = [url for _route, url in requests_of(user)] + FILTERED
    found = []
    for url in urls:
        answer = fetch(client, "get", url)
        for text in texts(answer):
            if hits := markers_in(text):
                found.append(f"{url} ({answer.status}): {', '.join(hits)}")
    return found


@pytest.mark.parametrize("role", NON_SITE_ROLES)
def test_no_page_download_or_notification_shows_identifying_details(role):
    client, user = client_for_role(role)
    found = leaks(client, user)
    if user is not None:
        for notification in Notification.objects.filter(recipient=user):
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
