"""The DSMB safety report as a PDF (reportlab): one class, data from reports.dsmb_data only."""

from __future__ import annotations

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from outcomes.plots import series_drawing
from reports.dsmb_data import KEY_LABS, DsmbData
from trialportal import protocol

CONFIDENTIAL = "CONFIDENTIAL - for the Data and Safety Monitoring Board only"


class NumberedCanvas(pdfcanvas.Canvas):
    """Draws the confidential header and 'page X of Y' on every page (two passes)."""

    def __init__(self, *args, header: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []
        self._header = header

    def showPage(self):
        self._saved_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved_pages)
        for state in self._saved_pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total: int) -> None:
        width, height = A4
        self.saveState()
        self.setFont("Helvetica-Bold", 8)
        self.setFillColor(colors.HexColor("#842029"))
        self.drawString(15 * mm, height - 10 * mm, CONFIDENTIAL)
        self.setFillColor(colors.black)
        self.setFont("Helvetica", 8)
        self.drawRightString(width - 15 * mm, height - 10 * mm, self._header)
        self.drawRightString(width - 15 * mm, 8 * mm, f"page {self._pageNumber} of {total}")
        self.restoreState()


class DsmbReport:
    """Build the report of PROTOCOL.md section 7 from a DsmbData."""

    def __init__(self, data: DsmbData, *, version: int | str, requested_by: str):
        self.data = data
        self.version = version
        self.requested_by = requested_by
        styles = getSampleStyleSheet()
        self.h1 = styles["Heading1"]
        self.h2 = ParagraphStyle("h2", parent=styles["Heading2"], spaceBefore=8, spaceAfter=4)
        self.body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=11)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9)

    def build(self) -> tuple[bytes, int]:
        """Return the PDF bytes and its page count."""
        buffer = io.BytesIO()
        cutoff = timezone.localtime(self.data.cutoff).strftime("%Y-%m-%d %H:%M %z")
        header = f"{protocol.STUDY_ID} DSMB safety report v{self.version} - cut-off {cutoff}"
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=18 * mm,
            bottomMargin=15 * mm,
            title=f"{protocol.STUDY_ID} DSMB safety report",
            author="trialportal",
        )
        pages = []

        def canvasmaker(*args, **kwargs):
            made = NumberedCanvas(*args, header=header, **kwargs)
            pages.append(made)
            return made

        doc.build(self.get_report_story(), canvasmaker=canvasmaker)
        return buffer.getvalue(), len(pages[-1]._saved_pages)

    # --- helpers -------------------------------------------------------------------------------

    CHUNK = 40  # rows per table: splitting one long table across pages costs quadratic time

    def table(self, rows: list[list], widths=None, header_rows: int = 1) -> Table | list[Table]:
        """A table; a long one is a stack of tables of CHUNK rows, each with the header."""
        header, body = rows[:header_rows], rows[header_rows:]
        chunks = [body[i : i + self.CHUNK] for i in range(0, len(body), self.CHUNK)] or [[]]
        tables = []
        for chunk in chunks:
            cells = [[Paragraph(str(cell), self.small) for cell in row] for row in header + chunk]
            table = Table(cells, colWidths=widths, repeatRows=header_rows)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#adb5bd")),
                        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e9ecef")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            tables.append(table)
        return tables[0] if len(tables) == 1 else tables

    def section(self, title: str, *flowables):
        flat = []
        for flowable in flowables:
            flat += flowable if isinstance(flowable, list) else [flowable]
        return [Paragraph(title, self.h2), *flat, Spacer(1, 4)]

    # --- the story ------------------------------------------------------------------------------

    def get_report_story(self) -> list:
        d = self.data
        story = self.title_page()
        story += self.section(
            "1. Enrollment",
            Paragraph(
                f"Enrolled {d.flow.enrolled} of {d.flow.cap} planned participants.", self.body
            ),
        )
        story += self.consort()
        story += self.section(
            "3. Protocol deviations",
            self.table(
                [["Date", "Participant", "Category", "Severity", "Description", "Reviewed"]]
                + [
                    [
                        x.occurred_on,
                        x.participant.participant_id,
                        x.get_category_display(),
                        x.get_severity_display(),
                        x.description,
                        "yes" if x.reviewed_at else "no",
                    ]
                    for x in d.deviations
                ],
                widths=[20 * mm, 20 * mm, 28 * mm, 16 * mm, 78 * mm, 16 * mm],
            )
            if d.deviations
            else Paragraph("No protocol deviation.", self.body),
        )
        story += self.section(
            "4. Baseline characteristics",
            self.table(
                [["Characteristic", "Value"]] + [list(row) for row in d.baseline],
                widths=[90 * mm, 60 * mm],
            ),
        )
        story += self.exposure()
        story += self.adverse_events()
        story += self.listings()
        story += self.section(
            "9. Inhalation events (during and within 2 h of a nebulization)",
            self.table(
                [["Event", "Doses", "Participants"]] + [[a, b, c] for a, b, c in d.inhalation],
                widths=[80 * mm, 25 * mm, 30 * mm],
            ),
        )
        story += self.lab_shifts()
        story += self.plots()
        story += self.stopping_rules()
        story += self.data_quality()
        story += self.signatures()
        return story

    def title_page(self) -> list:
        d = self.data
        now = timezone.localtime().strftime("%Y-%m-%d %H:%M %z")
        cutoff = timezone.localtime(d.cutoff).strftime("%Y-%m-%d %H:%M %z")
        rows = [
            ["Study", f"{protocol.STUDY_ID}: nebulized MSC-exos-P1 in anti-MDA5 DM with RP-ILD"],
            ["Site", protocol.SITE_NAME],
            ["Report version", str(self.version)],
            ["Data cut-off", cutoff],
            ["Requested by", self.requested_by],
            ["Generated", now],
            [
                "Primary-endpoint window",
                f"first dose to last dose + {protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE} days",
            ],
        ]
        return [
            Spacer(1, 30 * mm),
            Paragraph("DSMB safety report", self.h1),
            Paragraph(CONFIDENTIAL, self.body),
            Spacer(1, 10 * mm),
            self.table([["", ""], *rows], widths=[50 * mm, 120 * mm]),
            Spacer(1, 8 * mm),
            Paragraph(
                "Counts include the records entered up to the cut-off whose clinical date "
                "(onset, dose, visit) is on or before it.",
                self.small,
            ),
            PageBreak(),
        ]

    def consort(self) -> list:
        f = self.data.flow
        rows = [
            ["Stage", "n"],
            ["Persons screened", f.persons],
            ["Screenings (re-screens)", f"{f.screens} ({f.rescreens})"],
            ["Screen failures", f.failed],
        ]
        rows += [[f"  {label}", count] for label, count in f.failure_reasons]
        rows += [
            ["Enrolled", f.enrolled],
            ["Dosed", f.dosed],
            ["Received all 14 doses", f.all_doses],
        ]
        rows += [[f"Reached {label}", count] for label, count in f.reached]
        rows += [
            ["On study", f.on_study],
            ["Completed", f.completed],
            ["Withdrawn", f.withdrawn],
            ["Lost to follow-up", f.lost],
            ["Died", f.died],
        ]
        return self.section(
            "2. Participant flow (CONSORT)", self.table(rows, widths=[100 * mm, 30 * mm])
        )

    def exposure(self) -> list:
        d = self.data
        s = d.study_compliance
        rows = [
            [
                "Participant",
                "Given / due",
                "In full",
                "Partly",
                "Not given",
                "Missed",
                "Particles",
                "Interruptions",
            ]
        ]
        for pid, c in d.compliance:
            rows.append(
                [
                    pid,
                    f"{c.given} / {c.due}",
                    c.full,
                    c.partial,
                    c.not_given,
                    ", ".join(map(str, c.missed)) or "-",
                    f"{c.total_particles:.2e}",
                    "; ".join(f"day {i.day}: {i.given} ({i.reason})" for i in c.interruptions)
                    or "-",
                ]
            )
        summary = Paragraph(
            f"Study-wide: {s.given} of {s.due} doses due given "
            f"({s.percent if s.percent is not None else '-'} %); "
            f"{s.full_courses} full courses; {s.total_particles:.2e} particles.",
            self.body,
        )
        return self.section(
            "5. Exposure and compliance",
            summary,
            self.table(
                rows,
                widths=[20 * mm, 18 * mm, 13 * mm, 13 * mm, 15 * mm, 16 * mm, 20 * mm, 65 * mm],
            ),
        )

    def adverse_events(self) -> list:
        d = self.data
        n = len(d.participants) or 1
        rows = [
            ["SOC", "Term", "Events", "Participants n (%)", "G1", "G2", "G3", "G4", "G5", "Related"]
        ]
        for r in d.ae_rows:
            rows.append(
                [
                    r.soc,
                    r.term,
                    r.events,
                    f"{r.participants} ({round(100 * r.participants / n)} %)",
                    *r.by_grade,
                    r.related_participants,
                ]
            )
        total_events = sum(r.events for r in d.ae_rows)
        with_ae = len({ae.participant_id for ae in d.events})
        return self.section(
            "6. Adverse events by system organ class and term (worst grade per participant)",
            Paragraph(
                f"Total: {total_events} adverse events in {with_ae} participants.", self.body
            ),
            self.table(
                rows,
                widths=[
                    38 * mm,
                    38 * mm,
                    13 * mm,
                    24 * mm,
                    9 * mm,
                    9 * mm,
                    9 * mm,
                    9 * mm,
                    9 * mm,
                    14 * mm,
                ],
            ),
        )

    def _ae_list(self, events) -> Table | Paragraph:
        if not events:
            return Paragraph("None.", self.body)
        rows = [
            [
                "Participant",
                "AE",
                "Term",
                "Onset",
                "Worst grade",
                "Serious criteria",
                "Relationship",
                "Expected",
                "Outcome",
            ]
        ]
        for ae in events:
            rows.append(
                [
                    ae.participant.participant_id,
                    ae.number,
                    ae.term_label,
                    ae.onset_date,
                    ae.worst_grade,
                    "; ".join(ae.criteria_labels) or "-",
                    ae.get_rel_study_drug_display() or "not assessed",
                    {True: "yes", False: "no"}.get(ae.expected, "-"),
                    ae.get_outcome_display(),
                ]
            )
        return self.table(
            rows,
            widths=[18 * mm, 9 * mm, 28 * mm, 18 * mm, 12 * mm, 30 * mm, 24 * mm, 14 * mm, 27 * mm],
        )

    def listings(self) -> list:
        d = self.data
        clock_rows = [["Participant", "AE", "Clock", "Due", "Reported", "State"]] + [
            [
                ae.participant.participant_id,
                ae.number,
                clock.label,
                timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(clock.reported_at).strftime("%Y-%m-%d %H:%M")
                if clock.reported_at
                else "-",
                state,
            ]
            for ae, clock, state in d.clock_rows
        ]
        return (
            self.section(
                "7.1 Serious adverse events",
                self._ae_list(d.saes),
                Spacer(1, 3),
                self.table(clock_rows) if d.clock_rows else Spacer(1, 1),
            )
            + self.section("7.2 SUSARs", self._ae_list(d.susars))
            + self.section("7.3 Deaths", self._ae_list(d.deaths))
            + self.section(
                "8. Adverse events leading to interruption or withdrawal of the study drug",
                self._ae_list(d.interruptions),
            )
        )

    def lab_shifts(self) -> list:
        cats = ("low", "normal", "high")
        rows = [["Test", "Baseline", "Worst after: low", "normal", "high"]]
        for code in KEY_LABS:
            shifts = self.data.lab_shifts[code]
            for base in cats:
                counts = [shifts.get((base, worst), 0) for worst in cats]
                if any(counts):
                    rows.append([protocol.LABS[code].label, base, *counts])
        body = (
            self.table(rows, widths=[45 * mm, 25 * mm, 30 * mm, 20 * mm, 20 * mm])
            if len(rows) > 1
            else Paragraph("No laboratory data.", self.body)
        )
        return self.section(
            "10. Laboratory shift table (baseline to worst later value, by normal range)", body
        )

    def plots(self) -> list:
        titles = {
            "pf_ratio": ("Oxygenation: P/F ratio", "mmHg"),
            "ferritin": ("Ferritin", "ng/mL"),
            "kl6": ("KL-6", "U/mL"),
            "hrct_total": ("HRCT total score", "/75"),
        }
        drawings = [
            series_drawing(self.data.series[code], title=title, unit=unit, width=250, height=170)
            for code, (title, unit) in titles.items()
        ]
        grid = Table([[drawings[0], drawings[1]], [drawings[2], drawings[3]]])
        return [
            KeepTogether(
                self.section(
                    "11. Oxygenation, ferritin, KL-6 and HRCT over time (per participant)", grid
                )
            )
        ]

    def stopping_rules(self) -> list:
        alerts = self.data.alerts
        if not alerts:
            return self.section("12. Stopping rules", Paragraph("No stopping rule met.", self.body))
        rows = [["Triggered", "Rule", "Acknowledged"]] + [
            [
                timezone.localtime(a.triggered_at).strftime("%Y-%m-%d %H:%M"),
                a.message,
                f"{a.acknowledged_by.printed_name}, "
                f"{timezone.localtime(a.acknowledged_at):%Y-%m-%d}: {a.comment}"
                if a.acknowledged_at
                else "NOT ACKNOWLEDGED",
            ]
            for a in alerts
        ]
        return self.section(
            "12. Stopping rules", self.table(rows, widths=[25 * mm, 95 * mm, 60 * mm])
        )

    def data_quality(self) -> list:
        d = self.data
        ages = (
            ", ".join(f"{bucket}: {count}" for bucket, count in sorted(d.query_ages.items()))
            or "none"
        )
        missing = (
            self.table(
                [["Participant", "Visit", "Missing form"]] + [list(m) for m in d.missing_forms]
            )
            if d.missing_forms
            else Paragraph("No missing form.", self.body)
        )
        overdue = (
            self.table(
                [["Participant", "Visit", "Window closed"]] + [list(o) for o in d.overdue_visits]
            )
            if d.overdue_visits
            else Paragraph("No overdue visit.", self.body)
        )
        return self.section(
            "13. Data quality",
            Paragraph(f"Open queries by age: {ages}.", self.body),
            Spacer(1, 3),
            missing,
            Spacer(1, 3),
            overdue,
        )

    def signatures(self) -> list:
        rows = [["Signed", "Scope", "Participant", "Printed name", "Meaning", "Valid"]] + [
            [
                timezone.localtime(sig.signed_at).strftime("%Y-%m-%d %H:%M %z"),
                sig.scope,
                sig.subject,
                sig.printed_name,
                sig.get_meaning_display(),
                "yes" if valid else "NO (data changed)",
            ]
            for sig, valid in self.data.signatures
        ]
        body = (
            self.table(rows)
            if len(rows) > 1
            else Paragraph("No visit or casebook signed yet.", self.body)
        )
        return self.section("14. Investigator signatures", body)
