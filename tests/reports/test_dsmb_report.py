"""The DSMB safety report: contents checked against the database, and a build that happens once."""

# ruff: noqa: RUF001 (the Chinese report's full-width punctuation)

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
    with time_machine.travel(start + services.lease() + dt.timedelta(seconds=5), tick=False):
        # The sweeper queues the build again (on the real broker); here the test runs it itself.
        assert services.reports_stuck() == [report.pk]
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


def test_a_cell_that_fits_its_column_is_a_plain_string_and_any_other_a_paragraph():
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    from reports.dsmb_pdf import DsmbReport

    report = DsmbReport(None, version=1, requested_by="m")
    assert report.cell("MDA5-001", 18 * mm) == "MDA5-001"
    assert report.cell(2, 12 * mm) == "2"
    for text in (
        "Pneumonitis with a verbatim term far too long for its column",  # wraps
        "a < b",  # markup for a Paragraph
        "咳嗽",  # set in the CJK font
        "  indented",  # a Paragraph drops the spaces
    ):
        assert isinstance(report.cell(text, 18 * mm), Paragraph), text
    assert isinstance(report.cell("MDA5-001"), Paragraph)  # no width: as before
    (table,) = [report.table([["ID", "Term"], ["MDA5-001", "Cough"]], widths=[18 * mm, 26 * mm])]
    assert table._cellvalues == [["ID", "Term"], ["MDA5-001", "Cough"]]


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


def squash(text: str) -> str:
    """Text without whitespace: the extraction spaces CJK text unevenly."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(pdf: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page["/Resources"]
        for font in resources.get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
        for xobject in resources.get("/XObject", {}).values():
            for font in xobject.get_object().get("/Resources", {}).get("/Font", {}).values():
                fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def test_a_chinese_report_is_set_in_a_cjk_font_throughout(trial, monitor):
    report = services.report_request(cutoff=timezone.now(), actor=monitor, language="zh-hans")
    assert services.report_build(report.pk)
    report.refresh_from_db()
    assert report.language == "zh-hans"
    assert pdf_fonts(report.file.read()) == {"/STSong-Light"}
    english = services.report_request(cutoff=timezone.now(), actor=monitor)
    assert services.report_build(english.pk)
    english.refresh_from_db()
    assert "/STSong-Light" not in pdf_fonts(english.file.read())


def test_the_plots_of_a_chinese_report_use_the_cjk_font_and_the_pages_keep_helvetica():
    from reportlab.graphics.renderSVG import drawToString
    from reportlab.graphics.shapes import String

    from outcomes.plots import series_drawing
    from reports.dsmb_pdf import CJK_FONT, report_fonts

    font, bold = report_fonts("zh-hans")
    assert (font, bold) == (CJK_FONT, CJK_FONT)
    drawing = series_drawing(
        [("MDA5-001", [(1, 200.0), (14, 260.0)]), ("MDA5-002", [(1, 180.0)])],
        title="氧合", unit="mmHg", font=font, bold_font=bold,
    )  # fmt: skip
    strings = [s for s in drawing.getContents() if isinstance(s, String)]
    assert strings and all(s.fontName == CJK_FONT for s in strings)
    plot = next(s for s in drawing.getContents() if hasattr(s, "xValueAxis"))
    assert plot.xValueAxis.labels.fontName == CJK_FONT
    web = series_drawing([("", [(1, 200.0), (14, 260.0)])], title="P/F", unit="mmHg")
    assert {s.fontName for s in web.getContents() if isinstance(s, String)} <= {
        "Helvetica",
        "Helvetica-Bold",
    }
    assert "<svg" in drawToString(web)


def test_chinese_typed_into_a_form_is_set_in_the_cjk_font_in_an_english_report():
    from reports.dsmb_pdf import CJK_FONT, DsmbReport

    report = DsmbReport(None, version=1, requested_by="m", language="en")
    assert report.cell("Visit one day late.").style.fontName == "Helvetica"
    assert report.cell("访视延迟一天。").style.fontName == CJK_FONT
    assert report.cell(3).style.fontName == "Helvetica"


def test_a_chinese_report_has_chinese_titles_header_footer_and_the_same_counts(trial, monitor):
    """Needs the Chinese catalogue with the report's messages (see the DSMB report's msgids)."""
    from dosing.selectors import study_compliance
    from safety.models import AdverseEvent

    built = {}
    for language in ("en", "zh-hans"):
        report = services.report_request(cutoff=timezone.now(), actor=monitor, language=language)
        assert services.report_build(report.pk)
        report.refresh_from_db()
        built[language] = (report, *pdf_text(report.file.read()))
    report, text, pages = built["zh-hans"]
    flat = squash(text)
    for title in (
        "DSMB安全性报告", "1.入组情况", "2.受试者流程（CONSORT）", "3.方案偏离", "4.基线特征",
        "5.暴露量与依从性", "6.按系统器官分类和术语汇总的不良事件", "7.1严重不良事件（SAE）",
        "7.2可疑且非预期严重不良反应（SUSAR）", "7.3死亡", "8.导致研究药物暂停或永久停用的不良事件",
        "9.吸入相关事件", "10.实验室检查变化表", "11.氧合、铁蛋白、KL-6及HRCT随时间变化",
        "12.停止规则（含个体停药规则）", "13.数据质量", "14.研究者签名", "数据截止时间",
    ):  # fmt: skip
        assert title in flat, title
    for english in ("1. Enrollment", "Exposure and compliance", "Investigator signatures"):
        assert english not in text
    events = AdverseEvent.objects.count()
    with_ae = AdverseEvent.objects.values("participant").distinct().count()
    study = study_compliance(timezone.localdate())
    assert "计划入组10例受试者，已入组2例。" in flat
    assert f"合计：{with_ae}例受试者发生{events}起不良事件。" in flat
    assert f"全研究：应给药{study.due}次，已给药{study.given}次" in flat
    assert all("机密" in page and "CONFIDENTIAL" not in page for page in pages)
    assert all(
        f"第{n}页，共{len(pages)}页" in squash(page) for n, page in enumerate(pages, start=1)
    )
    assert report.pages == len(pages)
    english_text = built["en"][1]
    assert "Enrolled 2 of 10 planned participants." in english_text
    assert f"Total: {events} adverse events in {with_ae} participants." in english_text
    # Every participant is listed as often in both languages.
    for pid in (p.participant_id for p in trial):
        assert text.count(pid) == english_text.count(pid), pid


def test_the_request_form_stores_the_language_and_defaults_to_the_page_language(
    monitor, client_for
):
    client = client_for(monitor)
    cutoff = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    page = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert re.search(r'<option value="zh-hans"[^>]*selected', page)
    page = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<option value="en"[^>]*selected', page)
    assert client.post("/reports/", {"cutoff": cutoff, "language": "zh-hans"}).status_code == 302
    assert Report.objects.get().language == "zh-hans"
    assert client.post("/reports/", {"cutoff": cutoff, "language": "fr"}).status_code == 200
    assert Report.objects.count() == 1
    client.post("/reports/", {"cutoff": cutoff}, HTTP_ACCEPT_LANGUAGE="en")
    assert sorted(Report.objects.values_list("language", flat=True)) == ["en", "zh-hans"]
    table = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-language="zh-hans">Simplified Chinese<' in table
    assert 'data-language="en">English<' in table


def test_the_command_builds_the_report_in_the_language_asked(trial, tmp_path):
    from django.core.management.base import CommandError

    output = tmp_path / "dsmb-zh.pdf"
    call_command(
        "build_dsmb_report",
        cutoff=timezone.localtime().isoformat(),
        output=str(output),
        language="zh-hans",
        stdout=io.StringIO(),
    )
    pdf = output.read_bytes()
    assert pdf_fonts(pdf) == {"/STSong-Light"}
    with pytest.raises(CommandError):
        call_command(
            "build_dsmb_report", "--language", "fr", "--cutoff", "2026-01-01T00:00",
            "--output", str(tmp_path / "x.pdf"),
        )  # fmt: skip
    text, _pages = pdf_text(pdf)
    assert "Enrolled 2 of 10 planned participants." not in text
    assert "计划入组10例受试者，已入组2例。" in squash(text)  # with the Chinese catalogue
