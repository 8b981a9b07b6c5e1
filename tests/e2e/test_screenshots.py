"""The main pages on the demo trial: every one answers, fits a phone's width, labels its fields.

With E2E_SCREENSHOTS=<dir> (`make screenshots` writes docs/screenshots/) the pages and the first
pages of a DSMB report are saved as PNG files.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.conftest import enrol_totp
from tests.e2e.conftest import SCREENSHOTS

PHONE = 390

UNLABELLED_FIELDS = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.closest('label'))
  .map(el => el.name || el.id)"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def demo_trial(settings):
    from demo.accounts import DEMO_ACCOUNTS

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    settings.DEBUG = False
    # The accounts whose role requires two-factor authentication have enrolled their app.
    for account in DEMO_ACCOUNTS:
        if account.role in settings.MFA_REQUIRED_ROLES:
            enrol_totp(get_user_model().objects.get(username=account.username))
    return {account.username: account for account in DEMO_ACCOUNTS}


def demo_session(open_session, demo, username: str, **options):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    return open_session(user, password=demo[username].password, **options)


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    assert page.evaluate(UNLABELLED_FIELDS) == [], path


def test_the_main_pages_on_the_demo_trial(open_session, demo_trial, shot, tmp_path):
    from dosing.models import DoseRecord
    from enrollment.models import Participant
    from reports.models import Report, ReportState
    from reports.services import report_build, report_request

    participant = Participant.objects.order_by("number").first()
    pid = participant.participant_id
    dose = DoseRecord.objects.filter(participant=participant).order_by("study_day").last()

    coordinator = demo_session(open_session, demo_trial, "coordinator")
    pages = [
        ("/", "coordinator-home"),
        (f"/participants/{pid}/", "casebook"),
        ("/dosing/today/", "dosing-today"),
        (f"/dosing/{pid}/day/{dose.study_day}/", "dosing-day"),
        (f"/safety/ae/new/{pid}/", "ae-form"),
    ]
    for path, name in pages:
        visit(coordinator, path)
        shot(coordinator, name)

    investigator = demo_session(open_session, demo_trial, "investigator")
    visit(investigator, "/safety/")
    shot(investigator, "ae-dashboard")

    monitor = demo_session(open_session, demo_trial, "monitor")
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    requester = get_user_model().objects.get(username="monitor")
    reports = {}
    for language in ("en", "zh-hans"):
        report = report_request(cutoff=timezone.now(), actor=requester, language=language)
        assert report_build(report.pk)
        report.refresh_from_db()
        assert report.state == ReportState.READY
        reports[language] = report
    assert Report.objects.count() == 2
    visit(monitor, "/reports/")
    shot(monitor, "dsmb-reports")
    if SCREENSHOTS is not None and shutil.which("pdftoppm"):
        for language, first, last, name in (
            ("en", 1, 3, "dsmb-report-page"),
            ("zh-hans", 2, 2, "dsmb-report-zh-page"),
        ):
            subprocess.run(
                [
                    *("pdftoppm", "-png", "-r", "60", "-f", str(first), "-l", str(last)),
                    *(reports[language].file.path, str(SCREENSHOTS / name)),
                ],
                check=True,
            )

    chinese = demo_session(open_session, demo_trial, "coordinator", language="zh-CN")
    visit(chinese, f"/participants/{pid}/")
    assert chinese.locator("html").get_attribute("lang") == "zh-hans"
    shot(chinese, "casebook-zh")

    phone = demo_session(open_session, demo_trial, "coordinator", width=PHONE)
    for path, name in [*pages, (f"/participants/{pid}/visits/new/", None)]:
        visit(phone, path)
        assert phone.evaluate(OVERFLOW) <= 0, f"{path} is wider than a phone"
        if name in ("coordinator-home", "dosing-day"):
            shot(phone, f"phone-{name}")
