"""The DSMB safety report as a PDF (reportlab): one class, data from reports.dsmb_data only."""

from __future__ import annotations

import io
import re

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.pdfmetrics import stringWidth
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
from study import protocol

CONFIDENTIAL = gettext_lazy("CONFIDENTIAL - for the Data and Safety Monitoring Board only")
CJK_FONT = "STSong-Light"  # a CID font of reportlab: no font file to ship
CJK_TEXT = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Text a Paragraph would read differently from a plain string: markup, non-ASCII, runs of spaces.
_NOT_PLAIN = re.compile(r"[^\x21-\x7e ]|[<>&]|^ | $|  ")


def report_fonts(language: str) -> tuple[str, str]:
    """The regular and bold font of a report in this language."""
    if language.lower().startswith("zh"):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT, CJK_FONT
    return "Helvetica", "Helvetica-Bold"


class NumberedCanvas(pdfcanvas.Canvas):
    """Draws the confidential header and 'page X of Y' on every page (two passes)."""

    def __init__(
        self,
        *args,
        header: str = "",
        confidential: str = "",
        font: str = "Helvetica",
        bold_font: str = "Helvetica-Bold",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self._saved_pages: list[dict] = []
        self._header = header
        self._confidential = confidential or str(CONFIDENTIAL)
        self._font, self._bold_font = font, bold_font

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
        self.setFont(self._bold_font, 8)
        self.setFillColor(colors.HexColor("#842029"))
        self.drawString(15 * mm, height - 10 * mm, self._confidential)
        self.setFillColor(colors.black)
        self.setFont(self._font, 8)
        self.drawRightString(width - 15 * mm, height - 10 * mm, self._header)
        self.drawRightString(
            width - 15 * mm,
            8 * mm,
            _("page %(page)s of %(total)s") % {"page": self._pageNumber, "total": total},
        )
        self.restoreState()


class DsmbReport:
    """Build the report of PROTOCOL.md section 7 from a DsmbData."""

    def __init__(
        self,
        data: DsmbData,
        *,
        version: int | str,
        requested_by: str,
        language: str | None = None,
    ):
        self.data = data
        self.version = version
        self.requested_by = requested_by
        self.language = language or translation.get_language() or "en"
        self.font, self.bold_font = report_fonts(self.language)
        cjk = {"wordWrap": "CJK"} if self.font == CJK_FONT else {}
        styles = getSampleStyleSheet()
        self.h1 = ParagraphStyle("h1", parent=styles["Heading1"], fontName=self.bold_font, **cjk)
        self.h2 = ParagraphStyle(
            "h2",
            parent=styles["Heading2"],
            fontName=self.bold_font,
            spaceBefore=8,
            spaceAfter=4,
            keepWithNext=1,
            **cjk,
        )
        self.body = ParagraphStyle(
            "body", parent=styles["BodyText"], fontName=self.font, fontSize=9, leading=11, **cjk
        )
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9)
        self.small_cjk: ParagraphStyle | None = None

    def build(self) -> tuple[bytes, int]:
        """Return the PDF bytes and its page count, in the report's language."""
        with translation.override(self.language):
            return self._build()

    def _build(self) -> tuple[bytes, int]:
        buffer = io.BytesIO()
        cutoff = timezone.localtime(self.data.cutoff).strftime("%Y-%m-%d %H:%M %z")
        header = _("%(study)s DSMB safety report v%(version)s - cut-off %(cutoff)s") % {
            "study": protocol.STUDY_ID,
            "version": self.version,
            "cutoff": cutoff,
        }
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=15 * mm,
            rightMargin=15 * mm,
            topMargin=18 * mm,
            bottomMargin=15 * mm,
            title=_("%(study)s DSMB safety report") % {"study": protocol.STUDY_ID},
            author="trialportal",
            initialFontName=self.font,
        )
        pages = []

        def canvasmaker(*args, **kwargs):
            made = NumberedCanvas(
                *args,
                header=header,
                confidential=str(CONFIDENTIAL),
                font=self.font,
                bold_font=self.bold_font,
                **kwargs,
            )
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
            if widths:
                cells = [
                    [self.cell(cell, width) for cell, width in zip(row, widths, strict=False)]
                    for row in header + chunk
                ]
            else:
                cells = [[self.cell(cell) for cell in row] for row in header + chunk]
            table = Table(cells, colWidths=widths, repeatRows=header_rows)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#adb5bd")),
                        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#e9ecef")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("FONTNAME", (0, 0), (-1, -1), self.font),
                        ("FONTSIZE", (0, 0), (-1, -1), self.small.fontSize),
                        ("LEADING", (0, 0), (-1, -1), self.small.leading),
                    ]
                )
            )
            tables.append(table)
        return tables[0] if len(tables) == 1 else tables

    CELL_PADDING = 12  # reportlab's default left and right cell padding, together

    def cell(self, value, width: float | None = None) -> Paragraph | str:
        """A table cell; Chinese typed into a form is set in the CJK font in any report.

        Text that fits its column on one line and holds no markup is set as a plain string:
        laying out a Paragraph per cell (parse, line breaking, drawing) dominated the time of a
        long report, and such text looks the same either way."""
        text = str(value)
        if (
            width is not None
            and not _NOT_PLAIN.search(text)
            and stringWidth(text, self.font, self.small.fontSize) <= width - self.CELL_PADDING
        ):
            return text
        if self.font != CJK_FONT and CJK_TEXT.search(text):
            if self.small_cjk is None:
                font, _bold = report_fonts("zh-hans")
                self.small_cjk = ParagraphStyle(
                    "small_cjk", parent=self.small, fontName=font, wordWrap="CJK"
                )
            return Paragraph(text, self.small_cjk)
        return Paragraph(text, self.small)

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
            _("1. Enrollment"),
            Paragraph(
                _("Enrolled %(enrolled)s of %(cap)s planned participants.")
                % {"enrolled": d.flow.enrolled, "cap": d.flow.cap},
                self.body,
            ),
        )
        story += self.consort()
        story += self.section(
            _("3. Protocol deviations"),
            self.table(
                [
                    [
                        _("Date"),
                        _("Participant"),
                        _("Category"),
                        _("Severity"),
                        _("Description"),
                        _("Reviewed"),
                    ]
                ]
                + [
                    [
                        x.occurred_on,
                        x.participant.participant_id,
                        x.get_category_display(),
                        x.get_severity_display(),
                        x.description,
                        self.yes_no(bool(x.reviewed_at)),
                    ]
                    for x in d.deviations
                ],
                widths=[20 * mm, 20 * mm, 28 * mm, 16 * mm, 78 * mm, 16 * mm],
            )
            if d.deviations
            else Paragraph(_("No protocol deviation."), self.body),
        )
        story += self.section(
            _("4. Baseline characteristics"),
            self.table(
                [[_("Characteristic"), _("All participants")]] + [list(row) for row in d.baseline],
                widths=[90 * mm, 60 * mm],
            ),
        )
        story += self.exposure()
        story += self.adverse_events()
        story += self.listings()
        story += self.section(
            _("9. Inhalation events (during and within 2 h of a nebulization)"),
            self.table(
                [[_("Event"), _("Doses"), _("Participants")]]
                + [[a, b, c] for a, b, c in d.inhalation],
                widths=[80 * mm, 25 * mm, 30 * mm],
            ),
        )
        story += self.lab_shifts()
        story += self.plots()
        story += self.stopping_rules()
        story += self.data_quality()
        story += self.signatures()
        return story

    @staticmethod
    def yes_no(value: bool | None) -> str:
        return {True: _("yes"), False: _("no")}.get(value, "-")

    def title_page(self) -> list:
        d = self.data
        now = timezone.localtime().strftime("%Y-%m-%d %H:%M %z")
        cutoff = timezone.localtime(d.cutoff).strftime("%Y-%m-%d %H:%M %z")
        rows = [
            [
                _("Study"),
                _("%(study)s: nebulized MSC-exos-P1 in anti-MDA5 DM with RP-ILD")
                % {"study": protocol.STUDY_ID},
            ],
            [_("Site"), _(protocol.SITE_NAME)],
            [_("Report version"), str(self.version)],
            [_("Data cut-off"), cutoff],
            [_("Requested by"), self.requested_by],
            [_("Generated"), now],
            [
                _("Primary-endpoint window"),
                _("first dose to last dose + %(days)s days")
                % {"days": protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE},
            ],
        ]
        return [
            Spacer(1, 30 * mm),
            Paragraph(_("DSMB safety report"), self.h1),
            Paragraph(str(CONFIDENTIAL), self.body),
            Spacer(1, 10 * mm),
            self.table([["", ""], *rows], widths=[50 * mm, 120 * mm]),
            Spacer(1, 8 * mm),
            Paragraph(
                _(
                    "Counts include the records entered up to the cut-off whose clinical date "
                    "(onset, dose, visit) is on or before it."
                ),
                self.small,
            ),
            PageBreak(),
        ]

    def consort(self) -> list:
        f = self.data.flow
        rows = [
            [_("Stage"), "n"],
            [_("Persons screened"), f.persons],
            [_("Screenings (re-screens)"), f"{f.screens} ({f.rescreens})"],
            [_("Screen failures"), f.failed],
        ]
        rows += [[f"  {label}", count] for label, count in f.failure_reasons]
        rows += [
            [_("Enrolled"), f.enrolled],
            [_("Dosed"), f.dosed],
            [_("Received all 14 doses"), f.all_doses],
        ]
        rows += [[_("Reached %(label)s") % {"label": label}, count] for label, count in f.reached]
        rows += [
            [_("On study"), f.on_study],
            [_("Completed"), f.completed],
            [_("Withdrawn"), f.withdrawn],
            [_("Lost to follow-up"), f.lost],
            [_("Died"), f.died],
        ]
        return self.section(
            _("2. Participant flow (CONSORT)"), self.table(rows, widths=[100 * mm, 30 * mm])
        )

    def exposure(self) -> list:
        d = self.data
        s = d.study_compliance
        rows = [
            [
                _("Participant"),
                _("Given / due"),
                _("In full"),
                _("Partly"),
                _("Not given"),
                _("Missed"),
                _("Particles"),
                _("Interruptions"),
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
                    "; ".join(
                        _("day %(day)s: %(given)s (%(reason)s)")
                        % {"day": i.day, "given": i.given, "reason": i.reason}
                        for i in c.interruptions
                    )
                    or "-",
                ]
            )
        summary = Paragraph(
            _(
                "Study-wide: %(given)s of %(due)s doses due given (%(percent)s %%); "
                "%(courses)s full courses; %(particles)s particles."
            )
            % {
                "given": s.given,
                "due": s.due,
                "percent": s.percent if s.percent is not None else "-",
                "courses": s.full_courses,
                "particles": f"{s.total_particles:.2e}",
            },
            self.body,
        )
        return self.section(
            _("5. Exposure and compliance"),
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
            [
                _("SOC"),
                _("Term"),
                _("Events"),
                _("Participants n (%)"),
                "G1",
                "G2",
                "G3",
                "G4",
                "G5",
                _("Related"),
            ]
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
            _("6. Adverse events by system organ class and term (worst grade per participant)"),
            Paragraph(
                _("Total: %(events)s adverse events in %(participants)s participants.")
                % {"events": total_events, "participants": with_ae},
                self.body,
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
            return Paragraph(_("None."), self.body)
        rows = [
            [
                _("Participant"),
                _("AE"),
                _("Term"),
                _("Onset"),
                _("Worst grade"),
                _("Serious criteria"),
                _("Relationship"),
                _("Expected"),
                _("Outcome"),
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
                    ae.get_rel_study_drug_display() or _("not assessed"),
                    self.yes_no(ae.expected),
                    ae.get_outcome_display(),
                ]
            )
        return self.table(
            rows,
            widths=[18 * mm, 9 * mm, 26 * mm, 18 * mm, 12 * mm, 28 * mm, 24 * mm, 16 * mm, 29 * mm],
        )

    CLOCK_STATES = {
        "met": gettext_lazy("met"),
        "late": gettext_lazy("late"),
        "overdue": gettext_lazy("overdue"),
        "running": gettext_lazy("running"),
    }

    def listings(self) -> list:
        d = self.data
        clock_rows = [
            [_("Participant"), _("AE"), _("Clock"), _("Due"), _("Reported"), _("State")]
        ] + [
            [
                ae.participant.participant_id,
                ae.number,
                clock.label,
                timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(clock.reported_at).strftime("%Y-%m-%d %H:%M")
                if clock.reported_at
                else "-",
                self.CLOCK_STATES.get(state, state),
            ]
            for ae, clock, state in d.clock_rows
        ]
        return (
            self.section(
                _("7.1 Serious adverse events"),
                self._ae_list(d.saes),
                Spacer(1, 3),
                self.table(clock_rows, widths=[18 * mm, 9 * mm, 55 * mm, 32 * mm, 32 * mm, 34 * mm])
                if d.clock_rows
                else Spacer(1, 1),
            )
            + self.section(_("7.2 SUSARs"), self._ae_list(d.susars))
            + self.section(_("7.3 Deaths"), self._ae_list(d.deaths))
            + self.section(
                _("8. Adverse events leading to interruption or withdrawal of the study drug"),
                self._ae_list(d.interruptions),
            )
        )

    LAB_CATEGORIES = {
        "low": gettext_lazy("low"),
        "normal": gettext_lazy("normal"),
        "high": gettext_lazy("high"),
    }

    def lab_shifts(self) -> list:
        cats = ("low", "normal", "high")
        rows = [[_("Test"), _("Baseline"), _("Worst after: low"), _("normal"), _("high")]]
        for code in KEY_LABS:
            shifts = self.data.lab_shifts[code]
            for base in cats:
                counts = [shifts.get((base, worst), 0) for worst in cats]
                if any(counts):
                    rows.append([_(protocol.LABS[code].label), self.LAB_CATEGORIES[base], *counts])
        body = (
            self.table(rows, widths=[45 * mm, 25 * mm, 30 * mm, 20 * mm, 20 * mm])
            if len(rows) > 1
            else Paragraph(_("No laboratory data."), self.body)
        )
        return self.section(
            _("10. Laboratory shift table (baseline to worst later value, by normal range)"), body
        )

    def plots(self) -> list:
        titles = {
            "pf_ratio": (_("Oxygenation: P/F ratio"), "mmHg"),
            "ferritin": (_("Ferritin"), "ng/mL"),
            "kl6": (_("KL-6"), "U/mL"),
            "hrct_total": (_("HRCT total score"), "/75"),
        }
        drawings = [
            series_drawing(
                self.data.series[code],
                title=title,
                unit=unit,
                width=250,
                height=170,
                font=self.font,
                bold_font=self.bold_font,
            )
            for code, (title, unit) in titles.items()
        ]
        grid = Table(
            [[drawings[0], drawings[1]], [drawings[2], drawings[3]]],
            style=[("FONTNAME", (0, 0), (-1, -1), self.font)],
        )
        return [
            KeepTogether(
                self.section(
                    _("11. Oxygenation, ferritin, KL-6 and HRCT over time (per participant)"), grid
                )
            )
        ]

    def stopping_rules(self) -> list:
        alerts = self.data.alerts
        if not alerts:
            return self.section(
                _("12. Stopping rules"), Paragraph(_("No stopping rule met."), self.body)
            )
        rows = [[_("Triggered"), _("Rule"), _("Acknowledged")]] + [
            [
                timezone.localtime(a.triggered_at).strftime("%Y-%m-%d %H:%M"),
                a.text,
                _("%(name)s, %(date)s: %(comment)s")
                % {
                    "name": a.acknowledged_by.printed_name,
                    "date": f"{timezone.localtime(a.acknowledged_at):%Y-%m-%d}",
                    "comment": a.comment,
                }
                if a.acknowledged_at
                else _("NOT ACKNOWLEDGED"),
            ]
            for a in alerts
        ]
        return self.section(
            _("12. Stopping rules"), self.table(rows, widths=[25 * mm, 95 * mm, 60 * mm])
        )

    QUERY_AGES = {
        "< 7 days": gettext_lazy("< 7 days"),
        "7-30 days": gettext_lazy("7-30 days"),
        "> 30 days": gettext_lazy("> 30 days"),
    }

    def data_quality(self) -> list:
        d = self.data
        order = list(self.QUERY_AGES)
        ages = ", ".join(
            _("%(age)s: %(count)s") % {"age": self.QUERY_AGES.get(bucket, bucket), "count": count}
            for bucket, count in sorted(
                d.query_ages.items(),
                key=lambda item: order.index(item[0]) if item[0] in order else len(order),
            )
        ) or _("none")
        missing = (
            self.table(
                [[_("Participant"), _("Visit"), _("Missing form")]]
                + [list(m) for m in d.missing_forms]
            )
            if d.missing_forms
            else Paragraph(_("No missing form."), self.body)
        )
        overdue = (
            self.table(
                [[_("Participant"), _("Visit"), _("Window closed")]]
                + [list(o) for o in d.overdue_visits]
            )
            if d.overdue_visits
            else Paragraph(_("No overdue visit."), self.body)
        )
        return self.section(
            _("13. Data quality"),
            Paragraph(_("Open queries by age: %(ages)s.") % {"ages": ages}, self.body),
            Spacer(1, 3),
            missing,
            Spacer(1, 3),
            overdue,
        )

    SCOPES = {"visit": gettext_lazy("visit"), "casebook": gettext_lazy("casebook")}

    def signatures(self) -> list:
        rows = [
            [
                _("Signed"),
                _("Scope"),
                _("Participant"),
                _("Printed name"),
                _("Meaning"),
                _("Valid"),
            ]
        ] + [
            [
                timezone.localtime(sig.signed_at).strftime("%Y-%m-%d %H:%M %z"),
                self.SCOPES.get(sig.scope, sig.scope),
                sig.subject,
                sig.printed_name,
                sig.get_meaning_display(),
                _("yes") if valid else _("NO (data changed)"),
            ]
            for sig, valid in self.data.signatures
        ]
        body = (
            self.table(rows)
            if len(rows) > 1
            else Paragraph(_("No visit or casebook signed yet."), self.body)
        )
        return self.section(_("14. Investigator signatures"), body)
