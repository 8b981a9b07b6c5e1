"""The monitor's journey: a data query raised, answered by the coordinator and closed; source data
verification; a DSMB report requested, followed while it builds, downloaded and checked."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from crf.models import DataQuery, QueryState, Verification
from crf.services import record_create
from enrollment.models import Identity
from outcomes.models import Oxygenation
from reports.models import Report, ReportDownload, ReportState
from tests.factories import make_ae, make_participant, make_visit


@pytest.fixture
def trial(coordinator):
    """A participant 20 days after the first dose: baseline visit with its oxygenation, an adverse
    event and the identifying details; entered ten minutes ago, before any cut-off of the day."""
    with time_machine.travel(timezone.now() - dt.timedelta(minutes=10), tick=True):
        participant = make_participant(
            coordinator, first_dose=timezone.localdate() - dt.timedelta(days=20)
        )
        record_create(
            record=Identity(screening=participant.screening, full_name="Wang Fang"),
            actor=coordinator,
        )
        visit = make_visit(participant, coordinator, "baseline")
        oxygenation = record_create(
            record=Oxygenation(
                visit=visit,
                sampled_at=dt.time(8),
                o2_device="mask",
                fio2="0.40",
                fio2_source="set",
                pao2=70,
                spo2=93,
            ),
            actor=coordinator,
        )
        make_ae(participant, coordinator, term="Cough", grade=1)
    return participant, visit, oxygenation


def monitor_url(record) -> str:
    return f"/records/{record._meta.label_lower}/{record.pk}/monitor/"


def test_a_query_is_raised_answered_and_closed_and_the_record_verified(
    open_session, monitor, coordinator, trial, shot
):
    participant, visit, oxygenation = trial
    pid = participant.participant_id

    # The monitor raises a query on PaO2 from the record's monitoring page.
    page = open_session(monitor)
    page.goto(visit.get_absolute_url())
    page.locator(f"a[href='{monitor_url(oxygenation)}']").click()
    page.wait_for_url(f"**{monitor_url(oxygenation)}")
    expect(page.locator("a[data-testid=record-page]")).to_have_attribute(
        "href", visit.get_absolute_url()
    )
    raise_form = page.locator("form[data-testid=raise-query]")
    raise_form.locator("select[name=field_name]").select_option("pao2")
    raise_form.locator("textarea[name=text]").fill("The blood gas report says 68 mmHg.")
    raise_form.locator("button[type=submit]").click()
    expect(page.locator("tr[data-field=pao2] [data-testid=open-queries]")).to_have_text("1")
    expect(page.locator("tr[data-field=spo2] [data-testid=open-queries]")).to_have_count(0)
    query = DataQuery.objects.get()
    assert (query.state, query.field_name, query.subject, query.opened_by) == (
        QueryState.OPEN,
        "pao2",
        pid,
        monitor,
    )
    listed = page.locator(f"[data-testid=record-queries] a[href='/queries/{query.pk}/']")
    expect(listed).to_have_text(str(Oxygenation._meta.get_field("pao2").verbose_name))
    shot(page, "monitor-query-raised")

    # The coordinator sees the open query on the casebook, corrects the value and answers.
    other = open_session(coordinator)
    other.goto(participant.get_absolute_url())
    other.locator(f"a[href='/queries/?participant={pid}']").click()
    other.locator(f"[data-testid=query-list] a[href='/queries/{query.pk}/']").click()
    other.wait_for_url(f"**/queries/{query.pk}/")
    expect(other.locator("[data-testid=query-state]")).to_have_attribute("data-state", "open")
    expect(other.locator("[data-testid=query-steps]")).to_contain_text("68 mmHg")
    other.locator(f"a[data-testid=record-page][href='{visit.get_absolute_url()}']").click()
    other.locator(f"[data-testid=visit-forms] a[href$='/visits/{visit.pk}/oxygenation/']").click()
    other.fill("input[name=pao2]", "68")
    other.fill("textarea[name=reason_for_change]", "Transcription error; see the blood gas report")
    other.locator("form:has(input[name=pao2]) button[type=submit]").click()
    other.wait_for_url(f"**{visit.get_absolute_url()}")
    oxygenation.refresh_from_db()
    assert (oxygenation.pao2, oxygenation.version) == (68, 2)
    other.goto(f"/queries/{query.pk}/")
    other.fill("textarea[name=text]", "Corrected to 68 from the blood gas report.")
    other.check("input[name=data_changed]")
    other.locator("button[name=action][value=answer]").click()
    expect(other.locator("[data-testid=query-state]")).to_have_attribute("data-state", "answered")
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED

    # The monitor finds the answered query from the SDV progress page and closes it.
    page.goto("/monitoring/sdv/")
    row = page.locator(f"tr[data-participant='{pid}']")
    expect(row.locator("[data-testid=queries-not-closed]")).to_have_text("1")
    row.locator("[data-testid=queries-not-closed] a").click()
    page.locator(f"[data-testid=query-list] a[href='/queries/{query.pk}/']").click()
    expect(page.locator("[data-testid=query-state]")).to_have_attribute("data-state", "answered")
    expect(page.locator("[data-testid=query-steps] li")).to_have_count(2)
    expect(page.locator("button[name=action][value=answer]")).to_have_count(0)
    page.fill("textarea[name=text]", "Checked against the source; thank you.")
    page.locator("button[name=action][value=close]").click()
    expect(page.locator("[data-testid=query-state]")).to_have_attribute("data-state", "closed")
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED and query.closed_at is not None
    steps = [(s.action, s.by, s.data_changed) for s in query.steps.all()]
    assert steps == [
        ("open", monitor, False),
        ("answer", coordinator, True),
        ("close", monitor, False),
    ]
    page.goto(f"/queries/?participant={pid}")
    expect(page.locator(f"[data-testid=query-list] a[href='/queries/{query.pk}/']")).to_have_count(
        0
    )

    # The monitor verifies the corrected record against the source.
    page.goto(monitor_url(oxygenation))
    expect(page.locator("tr[data-field=pao2] [data-testid=open-queries]")).to_have_count(0)
    expect(page.locator("[data-testid=sdv-state]")).to_have_attribute("data-state", "none")
    page.locator(f"form[action='{monitor_url(oxygenation)[:-8]}verify/'] button").click()
    expect(page.locator("[data-testid=sdv-state]")).to_have_attribute("data-state", "verified")
    verification = Verification.objects.get(
        content_type=ContentType.objects.get_for_model(Oxygenation), object_id=oxygenation.pk
    )
    assert (verification.verified_by, verification.record_version) == (monitor, 2)

    # The SDV progress page counts it; every record counted is one the monitor can verify.
    page.goto("/monitoring/sdv/")
    row = page.locator(f"tr[data-participant='{pid}']")
    expect(row.locator("[data-testid=verified]")).to_have_text("1")
    expect(row.locator("[data-testid=queries-not-closed]")).to_have_text("0")
    total = int(row.locator("[data-testid=records]").inner_text())
    row.locator(f"a[href='/monitoring/sdv/{pid}/']").click()
    records = page.locator("[data-testid=sdv-records] tr[data-record]")
    expect(records).to_have_count(total)
    assert total >= 6  # screening, consent, participant, visit, oxygenation, adverse event
    verified = page.locator("[data-testid=sdv-records] tr[data-state=verified]")
    expect(verified).to_have_count(1)
    expect(verified.locator(f"a[href='{monitor_url(oxygenation)}']")).to_have_count(1)
    shot(page, "monitor-sdv-participant")
    links = [
        records.nth(i).locator("a[data-testid=monitor-link]").get_attribute("href")
        for i in range(total)
    ]
    assert monitor_url(oxygenation) in links
    for href in links:
        assert page.request.get(href).status == 200, href


def test_a_dsmb_report_is_followed_while_it_builds_and_downloaded(
    open_session, monitor, trial, celery_worker, tmp_path, shot
):
    participant = trial[0]
    page = open_session(monitor)
    page.goto("/reports/")
    cutoff = timezone.localtime().replace(second=0, microsecond=0)
    page.fill("input[name=cutoff]", cutoff.strftime("%Y-%m-%dT%H:%M"))
    page.locator("form[data-testid=report-request] button[type=submit]").click()
    page.wait_for_url("**/reports/")
    report = Report.objects.get()
    assert (report.requested_by, report.cutoff) == (monitor, cutoff)
    row = page.locator(f"tr[data-report='{report.pk}']")
    expect(row).to_have_count(1)

    # The page is not reloaded while the worker builds: a mark set now must survive.
    page.evaluate("window.__sameDocument = true")
    expect(row).to_have_attribute("data-state", ReportState.READY, timeout=90_000)
    assert page.evaluate("window.__sameDocument === true")
    assert page.locator("#report-table[hx-trigger]").count() == 0
    shot(page, "monitor-report-ready")

    with page.expect_download() as info:
        row.locator(f"a[href='/reports/{report.pk}/download/']").click()
    download = info.value
    path = Path(tmp_path) / "report.pdf"
    download.save_as(path)
    assert download.suggested_filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    assert len(reader.pages) > 1
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "CONFIDENTIAL" in text
    assert re.search(rf"\b{re.escape(participant.participant_id)}\b", text)
    report.refresh_from_db()
    assert report.pages == len(reader.pages)
    assert ReportDownload.objects.filter(report=report, user=monitor).count() == 1
