"""The DSMB safety report: contents checked against the database, and a build that happens once."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from reports import services
from reports.models import Report, ReportDownload
from tests.factories import assess, make_ae, make_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(coordinator, investigator):
    from dosing.models import DoseRecord

    today = timezone.localdate()
    p1 = make_participant(coordinator, first_dose=today - dt.timedelta(days=40))
    p2 = make_participant(coordinator, first_dose=today - dt.timedelta(days=5))
    for day in range(1, 15):
        DoseRecord.objects.create(
            participant=p1, study_day=day, dose_date=p1.anchor + dt.timedelta(days=day - 1), given="yes",
            dose_particles=200_000_000, created_by=coordinator, updated_by=coordinator,
        )  # fmt: skip
    assess(make_ae(p1, coordinator, term="Cough", grade=1), investigator, related="possibly")
    make_ae(p1, coordinator, term="Fever", grade=2)
    assess(
        make_ae(p2, coordinator, term="Hypoxia", grade=3, serious=True, sae_hospitalisation=True),
        investigator, related="probably", expected=False,
    )  # fmt: skip
    return p1, p2


def pdf_text(pdf: bytes) -> tuple[str, list[str]]:
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return "\n".join(pages), pages


def test_every_section_is_there_and_the_numbers_match_the_database(trial, monitor):
    from safety.models import AdverseEvent

    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    assert services.report_build(report.pk)
    report.refresh_from_db()
    pdf = report.file.read()
    text, pages = pdf_text(pdf)
    for title in (
        "DSMB safety report", "1. Enrollment", "2. Participant flow", "3. Protocol deviations", "4. Baseline characteristics",
        "5. Exposure and compliance", "6. Adverse events by system organ class", "7.1 Serious adverse events", "7.2 SUSARs",
        "7.3 Deaths", "8. Adverse events leading to interruption", "9. Inhalation events", "10. Laboratory shift table",
        "11. Oxygenation, ferritin, KL-6 and HRCT", "12. Stopping rules", "13. Data quality", "14. Investigator signatures",
    ):  # fmt: skip
        assert title in text, title
    assert "Enrolled 2 of 10 planned participants." in text
    events = AdverseEvent.objects.count()
    with_ae = AdverseEvent.objects.values("participant").distinct().count()
    assert f"Total: {events} adverse events in {with_ae} participants." in text
    from dosing.selectors import study_compliance

    study = study_compliance(timezone.localdate())
    assert (study.given, study.due) == (14, 19)  # 5 doses of the second participant missed
    assert re.search(
        rf"Study-wide: {study.given} of {study.due} doses due given", text.replace("\n", " ")
    )
    assert all("CONFIDENTIAL" in page for page in pages)
    assert all(f"page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert report.pages == len(pages) and report.size == len(pdf)
    import hashlib

    assert report.sha256 == hashlib.sha256(pdf).hexdigest()


def test_the_build_is_idempotent_when_the_task_runs_twice(trial, monitor, settings):
    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    assert services.report_build(report.pk) is True
    first = Report.objects.get(pk=report.pk)
    assert services.report_build(report.pk) is False
    again = Report.objects.get(pk=report.pk)
    assert (again.sha256, again.file.name, again.attempts) == (first.sha256, first.file.name, 1)
    files = list((settings.MEDIA_ROOT / "reports").iterdir())
    assert len(files) == 1


def test_a_build_interrupted_mid_way_is_recovered_by_the_sweeper_once(trial, monitor, settings):
    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    start = timezone.now()
    # A worker claimed the build and died before finishing: the row stays "building".
    assert services.report_claim(report.pk, now=start)
    assert services.report_build(report.pk) is False  # the lease still holds: nobody else builds
    with time_machine.travel(start + services.LEASE + dt.timedelta(seconds=5), tick=False):
        # The sweeper queues the build again (on the real broker); here the test runs it itself.
        assert services.report_sweep() == [report.pk]
        assert services.report_build(report.pk) is True
    report.refresh_from_db()
    assert report.state == "ready" and report.attempts == 2
    assert len(list((settings.MEDIA_ROOT / "reports").iterdir())) == 1


def test_a_failed_build_shows_its_reason_and_can_be_retried(trial, monitor, client_for):
    from unittest import mock

    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    with (
        mock.patch("reports.services.report_render", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.report_build(report.pk)
    report.refresh_from_db()
    assert report.state == "failed" and "disk full" in report.error
    client = client_for(monitor)
    assert "disk full" in client.get("/reports/").content.decode()
    client.post(f"/reports/{report.pk}/retry/")
    report.refresh_from_db()
    assert report.state == "requested"


def test_a_dsmb_member_downloads_the_report_and_the_download_is_recorded(
    trial, monitor, client_for, dsmb_member
):
    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    services.report_build(report.pk)
    client = client_for(dsmb_member)
    page = client.get("/reports/").content.decode()
    assert "Download PDF" in page and "Request a report" not in page
    response = client.get(f"/reports/{report.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert ReportDownload.objects.get().user == dsmb_member
    assert client.post("/reports/", {"cutoff": "2026-01-01T00:00"}).status_code == 403
    for url in (
        "/participants/",
        "/safety/",
        "/screening/",
        f"/participants/{trial[0].participant_id}/",
        "/participants/MDA5-999/",  # refused the same way: no hint whether the ID exists
    ):
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("persona", ["coordinator", "outsider"])
def test_roles_without_report_access_are_refused(request, client_for, persona):
    assert client_for(request.getfixturevalue(persona)).get("/reports/").status_code == 403


def test_the_command_builds_the_same_report(trial, tmp_path):
    output = tmp_path / "dsmb.pdf"
    out = io.StringIO()
    call_command(
        "build_dsmb_report",
        cutoff=timezone.localtime().isoformat(),  # after the fixture was entered
        output=str(output),
        stdout=out,
    )
    text, _pages = pdf_text(output.read_bytes())
    assert "Enrolled 2 of 10 planned participants." in text
    assert "pages" in out.getvalue()


def test_a_long_table_is_split_into_chunks_each_with_its_header():
    from reports.dsmb_pdf import DsmbReport

    report = DsmbReport(None, version=1, requested_by="m")
    header = ["Participant", "Term"]
    rows = [header] + [[f"P{i:03}", "Cough"] for i in range(DsmbReport.CHUNK * 2 + 5)]
    tables = report.table(rows)
    assert [len(t._cellvalues) for t in tables] == [DsmbReport.CHUNK + 1] * 2 + [6]
    for table in tables:
        assert [cell.text for cell in table._cellvalues[0]] == header
    body = [t._cellvalues[i][0].text for t in tables for i in range(1, len(t._cellvalues))]
    assert body == [row[0] for row in rows[1:]]  # every row once, in order
    story = report.section("Listing", tables)
    assert story[1:4] == tables  # the section flattens the chunks
    from reportlab.platypus import Table

    assert isinstance(report.table([header, ["P001", "Cough"]]), Table)  # a short one stays whole


def test_lab_shifts_compare_each_result_with_its_range_in_the_unit_entered(coordinator):
    from crf.services import record_create
    from outcomes.models import LabResult
    from reports.dsmb_data import dsmb_data
    from tests.factories import make_visit

    p = make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=20))
    for code, value in (("baseline", "0.5"), ("day14", "0.8")):  # mg/dL, 5 and 8 mg/L
        record_create(
            record=LabResult(
                visit=make_visit(p, coordinator, code), analyte="crp", value=value,
                unit="mg/dL", normal_low=0, normal_high=1,
            ),
            actor=coordinator,
        )  # fmt: skip
    ferritin = make_visit(p, coordinator, "unscheduled", on=timezone.localdate(), reason="fever")
    base = p.visits.get(code="baseline")
    record_create(
        record=LabResult(
            visit=base, analyte="ferritin", value="300", unit="ng/mL", normal_high=400
        ),
        actor=coordinator,
    )
    record_create(
        record=LabResult(visit=ferritin, analyte="ferritin", value="1800", unit="ng/mL", normal_high=400),
        actor=coordinator,
    )  # fmt: skip
    shifts = dsmb_data(timezone.now()).lab_shifts
    assert shifts["crp"] == {("normal", "normal"): 1}
    assert shifts["ferritin"] == {("normal", "high"): 1}


def test_the_report_counts_only_what_was_entered_by_the_cut_off(coordinator):
    from reports.dsmb_data import dsmb_data

    first_dose = timezone.localdate() - dt.timedelta(days=3)
    make_participant(coordinator, first_dose=first_dose)
    cutoff = timezone.now()
    make_participant(coordinator, first_dose=first_dose)  # entered after the cut-off
    data = dsmb_data(cutoff)
    assert (data.flow.screens, data.flow.enrolled, data.flow.dosed) == (1, 1, 1)
    assert len(data.compliance) == 1 and data.study_compliance.participants == 1
    later = dsmb_data(timezone.now())
    assert (later.flow.screens, later.flow.enrolled, later.study_compliance.participants) == (
        2,
        2,
        2,
    )
