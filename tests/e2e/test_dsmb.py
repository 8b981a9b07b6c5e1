"""The DSMB member's journey: the ready safety report downloaded, and no clinical page opened.

The pages checked are those of the URLconf itself, each reversed with the arranged records, so a
new clinical page is covered without editing this test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
from decimal import Decimal

import pytest
from django.urls import resolve, reverse
from django.utils import timezone
from pypdf import PdfReader

from crf import monitoring
from crf.models import Notification
from crf.services import record_create
from dosing.models import DoseRecord
from enrollment.models import Identity, ProtocolDeviation
from outcomes.models import ConMed
from outcomes.selectors import ENDPOINTS
from outcomes.views import CRFS
from reports import services as report_services
from reports.models import ReportDownload
from reports.views import EXPORT_KINDS
from safety import services as safety_services
from safety.models import StoppingRuleAlert
from tests import routes as urlconf
from tests.factories import assess, make_ae, make_participant, make_visit

# The namespaces of the study's own pages.
APPS = ("crf", "enrollment", "dosing", "outcomes", "safety", "dashboards", "reports")
# The pages of those a DSMB member may open; every other one answers 403.
DSMB_PAGES = {"crf:inbox", "crf:inbox_open", "reports:list", "reports:download"}


def study_routes() -> dict[str, list[str]]:
    """Each named page of the study's apps, with the names of its URL parameters."""
    return {
        route.name: list(route.params)
        for route in urlconf.routes()
        if route.name and route.name.split(":")[0] in APPS
    }


@pytest.fixture
def trial(coordinator, investigator, monitor, dsmb_member):
    """A participant with a record of every kind, a met stopping rule and a ready report."""
    today = timezone.localdate()
    participant = make_participant(coordinator, first_dose=today - dt.timedelta(days=20))
    screening = participant.screening
    identity = record_create(
        record=Identity(screening=screening, full_name="Wang Fang", hospital_record_number="H1"),
        actor=coordinator,
    )
    dose = DoseRecord.objects.create(
        participant=participant, study_day=1, dose_date=participant.anchor, given="yes",
        dose_particles=200_000_000, created_by=coordinator, updated_by=coordinator,
    )  # fmt: skip
    visit = make_visit(participant, coordinator, "baseline")
    ae = make_ae(
        participant, coordinator, term="Pneumonitis", grade=4, serious=True,
        sae_life_threatening=True,
    )  # fmt: skip
    ae = assess(ae, investigator, related="possibly")
    safety_services.stopping_rules_check()
    conmed = record_create(
        record=ConMed(
            participant=participant, drug="prednisone", glucocorticoid="prednisone",
            dose=Decimal("30"), route="oral", frequency="qd", start_date=participant.anchor,
        ),
        actor=coordinator,
    )  # fmt: skip
    deviation = record_create(
        record=ProtocolDeviation(
            participant=participant, category="visit_window", severity="minor",
            occurred_on=today - dt.timedelta(days=3), description="Visit one day late.",
        ),
        actor=coordinator,
    )  # fmt: skip
    query = monitoring.query_open(
        record=visit, field_name="visit_date", text="Please check the date.", actor=monitor
    )
    report = report_services.report_request(cutoff=timezone.now(), actor=monitor)
    assert report_services.report_build(report.pk)
    report.refresh_from_db()
    return {
        "participant": participant,
        "screening": screening,
        "consent": screening.consent,
        "identity": identity,
        "dose": dose,
        "visit": visit,
        "ae": ae,
        "conmed": conmed,
        "deviation": deviation,
        "query": query,
        "alert": StoppingRuleAlert.objects.get(rule="related_grade4"),
        "report": report,
    }


def kwargs_for(name: str, params: list[str], trial: dict) -> list[dict]:
    """Every way to fill the page's URL parameters with the arranged data."""
    if "label" in params:  # a page of any clinical record: each kind of record
        records = [trial[key] for key in ("participant", "screening", "consent", "identity")]
        records += [trial[key] for key in ("dose", "visit", "ae", "conmed", "deviation")]
        scopes = {"participant": "casebook", "visit": "visit"}
        return [
            {
                "label": record._meta.label_lower,
                "pk": record.pk,
                **(
                    {"scope": scopes.get(record._meta.model_name, "form")}
                    if "scope" in params
                    else {}
                ),
            }
            for record in records
        ]
    pk_of = {
        "crf:query": "query",
        "enrollment:deviation_review": "deviation",
        "enrollment:deviation_edit": "deviation",
        "outcomes:conmed_edit": "conmed",
        "safety:alert_acknowledge": "alert",
        "reports:retry": "report",
    }
    pk_by_app = {"enrollment": "screening", "outcomes": "visit", "safety": "ae"}
    values = {
        "participant_id": [trial["participant"].participant_id],
        "subject": [trial["participant"].participant_id],
        "day": [trial["dose"].study_day],
        "form_code": list(CRFS),
        "endpoint": [code for code, _label, _unit in ENDPOINTS],
        "kind": list(EXPORT_KINDS),
    }
    if "pk" in params:
        values["pk"] = [trial[pk_of.get(name) or pk_by_app[name.split(":")[0]]].pk]
    choices = [values[param] for param in params]
    return [dict(zip(params, chosen, strict=True)) for chosen in itertools.product(*choices)]


def status_of(page, url: str) -> int | str:
    try:
        response = page.goto(url)
    except Exception as exc:  # a file download instead of a page
        return type(exc).__name__
    return response.status


def test_the_dsmb_member_downloads_the_report_and_opens_no_clinical_page(
    open_session, shot, trial, dsmb_member
):
    report = trial["report"]
    page = open_session(dsmb_member)

    # The navigation and every link of the pages the DSMB member uses open for them.
    nav = [a.get_attribute("href") for a in page.locator("#main-nav a.nav-link").all()]
    assert {resolve(href).view_name for href in nav} == {"home", "reports:list"}
    notifications = Notification.objects.filter(recipient=dsmb_member)
    assert notifications.filter(kind="stopping_rule").exists()
    for path in ("/", reverse("reports:list"), reverse("crf:inbox")):
        page.goto(path)
        links = {a.get_attribute("href") for a in page.locator("body a[href^='/']").all()}
        for href in links - {reverse("reports:download", args=[report.pk])}:
            response = page.request.get(href)
            assert response.status == 200, f"{href} on {path} answered {response.status}"
    page.goto(reverse("crf:inbox"))
    shot(page, "dsmb-inbox")
    for notification in notifications:
        page.goto(reverse("crf:inbox"))
        with page.expect_navigation() as opened:
            page.locator(
                f"form[action='{reverse('crf:inbox_open', args=[notification.pk])}'] button"
            ).click()
        assert opened.value.status == 200, f"{notification.subject}: {page.url}"

    # The report: listed, downloaded as a PDF of several pages, the download recorded.
    page.goto(reverse("reports:list"))
    assert page.get_by_test_id("report-request").count() == 0
    assert page.locator(f"a[href='{reverse('reports:exports')}']").count() == 0
    shot(page, "dsmb-reports")
    with page.expect_download() as download:
        page.locator(f"a[href='{reverse('reports:download', args=[report.pk])}']").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == report.pages > 1
    assert hashlib.sha256(pdf).hexdigest() == report.sha256
    recorded = ReportDownload.objects.get()
    assert (recorded.report, recorded.user) == (report, dsmb_member)
    page.reload()
    assert dsmb_member.printed_name in page.get_by_test_id("reports").inner_text()

    # Every clinical page answers 403.
    routes = study_routes()
    urls = [
        reverse(name, kwargs=kwargs)
        for name, params in sorted(routes.items())
        if name not in DSMB_PAGES
        for kwargs in kwargs_for(name, params, trial)
    ]
    assert {resolve(url).view_name for url in urls} == set(routes) - DSMB_PAGES
    answered = {url: status_of(page, url) for url in urls}
    assert {url: status for url, status in answered.items() if status != 403} == {}

    # The refusal is the portal's own page, in its layout, with the way back home.
    response = page.goto(trial["participant"].get_absolute_url())
    assert response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    shot(page, "dsmb-not-allowed")
    assert page.title().endswith("trialportal")
    assert page.locator("main h1").is_visible()
    assert page.locator("main a[href='/']").is_visible()
    assert page.get_by_test_id("signed-in-as").inner_text().strip() == dsmb_member.printed_name
    assert [a.get_attribute("href") for a in page.locator("#main-nav a.nav-link").all()] == nav
    assert trial["participant"].participant_id not in page.locator("main").inner_text()
