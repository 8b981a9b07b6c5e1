"""The coordinator's journey through the browser, in English and in Simplified Chinese.

Screen a patient, record the consent and identifying details, enroll, record the 14 daily doses
(one of them partial), report a serious adverse event with the CTCAE term picker, and enter the
day-14 visit with an unusual value confirmed. The dates lie in the past so that the whole course
is recorded on its own dates: screening 20 days ago, first dose 15 days ago, day 14 two days ago.
In Chinese, every page walked is also checked for English left untranslated.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from crf.models import DataQuery, Notification
from dosing.models import DoseRecord, Given, NotGivenReason
from enrollment.models import Consent, Identity, Participant, Screening
from outcomes.models import HrctScore, LabResult, Oxygenation, PulmonaryFunction, Visit, VitalSigns
from safety.models import AdverseEvent, CtcaeTerm
from tests.conftest import wait_for
from tests.e2e.i18n import english_words, untranslated
from tests.factories import screening_answers

DJANGO_LANGUAGE = {"en": "en", "zh-CN": "zh-hans"}
PARTIAL_DAY = 5
AE_TERM = "Pneumonitis"

# Free text a coordinator types, in the language of the interface.
TYPED = {
    "en": {
        "full_name": "Wang Fang",
        "administered_by": "Nurse Zhou",
        "dose_reason": "Stopped halfway: coughing",
        "verbatim": "worsening breathlessness, admitted",
        "treatment": "Methylprednisolone pulse",
        "reader": "Dr Lin",
    },
    "zh-CN": {
        "full_name": "王芳",
        "administered_by": "周护士",
        "dose_reason": "雾化进行一半时因咳嗽停止",
        "verbatim": "气促加重后收住院",
        "treatment": "甲泼尼龙冲击治疗",
        "reader": "林医生",
    },
}


@dataclass
class Journey:
    """The coordinator's browser page, with what every step checks on arrival."""

    page: Page
    language: str
    shot: Callable[..., None]
    allowed: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)
    pages: int = 0

    def t(self, message: str, **values) -> str:
        """A message as the portal shows it in this journey's language."""
        with translation.override(DJANGO_LANGUAGE[self.language]):
            text = gettext(message)
        return text % values if values else text

    def arrived(self, name: str) -> None:
        """Record the page now shown: screenshot, and in Chinese, its untranslated strings."""
        self.page.wait_for_load_state()
        self.pages += 1
        self.shot(self.page, f"coordinator-{self.language}-{self.pages:02d}-{name}")
        if self.language != "en":
            found = untranslated(self.page, allowed=self.allowed)
            if found:
                self.problems.append(f"{name} ({self.page.url}):\n  " + "\n  ".join(found))

    def click(self, locator, name: str) -> None:
        """Follow a link or press a button that loads a new page."""
        with self.page.expect_navigation():
            locator.click()
        self.arrived(name)

    def save(self, name: str) -> None:
        self.click(
            self.page.locator("main form[method=post] button[type=submit]:not([name])"), name
        )

    def expect_message(self, text: str) -> None:
        expect(self.page.locator("[role=status] .alert")).to_have_text([text])

    def fill(self, values: dict) -> None:
        """Type each value into the field of that name (radios and selects by their value)."""
        form = self.page.locator("main form[method=post]")
        for name, value in values.items():
            field_ = form.locator(f"[name='{name}']")
            kind = field_.first.evaluate("e => e.tagName === 'SELECT' ? 'select' : e.type")
            if kind == "radio":
                form.locator(f"input[name='{name}'][value='{value}']").check()
            elif kind == "select":
                field_.select_option(str(value))
            else:
                field_.fill(str(value))


def _iso(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def screen(journey: Journey, today: dt.date) -> Screening:
    page = journey.page
    journey.click(page.locator("nav a[href='/screening/']"), "screening-log")
    journey.click(page.locator("main a[href='/screening/new/']"), "screening-new")
    screened = today - dt.timedelta(days=20)
    answers = screening_answers(
        screening_date=screened,
        mda5_test_date=screened - dt.timedelta(days=8),
        symptom_onset_date=screened - dt.timedelta(days=58),
        ild_diagnosis_date=screened - dt.timedelta(days=38),
        hrct_first_date=screened - dt.timedelta(days=38),
        hrct_progression_date=screened - dt.timedelta(days=3),
        pf_ratio_first_date=screened - dt.timedelta(days=28),
        pf_ratio_latest_date=screened - dt.timedelta(days=1),
    )
    values = {name: _iso(value) for name, value in answers.items() if value not in (None, "")}
    # A positive anti-MDA5 result without its titre is refused; everything typed stays.
    titre = values.pop("mda5_titre")
    journey.fill(values)
    journey.save("screening-invalid")
    assert page.url.endswith("/screening/new/")
    titre_input = page.locator("#id_mda5_titre")
    expect(titre_input).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#div_id_mda5_titre .invalid-feedback")).to_have_text(
        journey.t("Give the titre of a positive result.")
    )
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    expect(page.locator("#id_date_of_birth")).to_have_value(values["date_of_birth"])
    expect(page.locator("#id_fvc_pct")).to_have_value(values["fvc_pct"])
    expect(page.locator("input[name=sex][value=F]")).to_be_checked()
    expect(page.locator("input[name=rpild_confirmed][value=True]")).to_be_checked()
    assert not Screening.objects.exists()

    journey.fill({"mda5_titre": titre})
    journey.save("screening-detail")
    journey.expect_message(journey.t("Saved."))
    eligibility = page.get_by_test_id("eligibility")
    expect(eligibility.locator(".badge.text-bg-success")).to_have_text(journey.t("Eligible"))
    screening = Screening.objects.get()
    assert screening.eligible and screening.failure_reasons == []
    assert screening.screening_date == screened and screening.mda5_titre == titre
    assert page.url.endswith(screening.get_absolute_url())
    return screening


def consent_and_identity(journey: Journey, screening: Screening, coordinator) -> None:
    page = journey.page
    consented = dt.datetime.combine(screening.screening_date, dt.time(9, 30))
    journey.click(page.get_by_test_id("consent").locator("a[href$='/consent/']"), "consent")
    journey.fill(
        {
            "form_version": "2.1",
            "consented_at": consented.strftime("%Y-%m-%dT%H:%M"),
            "obtained_by": coordinator.pk,
        }
    )
    journey.save("consent-saved")
    journey.expect_message(journey.t("Saved."))
    expect(page.get_by_test_id("consent").locator("dd").first).to_have_text("2.1")
    consent = Consent.objects.get(screening=screening)
    assert timezone.localtime(consent.consented_at).replace(tzinfo=None) == consented
    assert consent.obtained_by == coordinator

    typed = TYPED[journey.language]
    journey.click(page.get_by_test_id("identity").locator("a[href$='/identity/']"), "identity")
    journey.fill(
        {
            "full_name": typed["full_name"],
            "hospital_record_number": "GY2026117",
            "phone": "13800138000",
        }
    )
    journey.save("identity-saved")
    journey.expect_message(journey.t("Saved."))
    expect(page.get_by_test_id("identity")).to_contain_text(f"{typed['full_name']} · GY2026117")
    assert Identity.objects.get(screening=screening).full_name == typed["full_name"]


def enroll(journey: Journey, screening: Screening, today: dt.date) -> Participant:
    page = journey.page
    journey.click(page.get_by_test_id("enrollment").locator("a[href$='/enroll/']"), "enroll")
    first_dose = today - dt.timedelta(days=15)
    journey.fill(
        {
            "enrollment_date": (today - dt.timedelta(days=19)).isoformat(),
            "planned_first_dose": first_dose.isoformat(),
        }
    )
    journey.click(page.locator("main form button[type=submit]"), "casebook-enrolled")
    journey.expect_message(journey.t("Enrolled as %(pid)s.", pid="MDA5-001"))
    expect(page.locator("h1")).to_contain_text("MDA5-001")
    participant = Participant.objects.get()
    assert participant.participant_id == "MDA5-001" and participant.screening == screening
    assert participant.planned_first_dose == first_dose and participant.first_dose_date is None
    expect(page.get_by_test_id("dose-grid").locator(".badge.dose-yes")).to_have_count(0)
    return participant


def record_doses(journey: Journey, participant: Participant) -> None:
    page = journey.page
    typed = TYPED[journey.language]
    first_dose = participant.planned_first_dose
    # Day 1 from the dosing page, where every past day without a record shows as missed.
    journey.click(page.locator("nav a[href='/dosing/today/']"), "dosing-today")
    row = page.get_by_test_id("dosing-today").locator("tbody tr", has_text="MDA5-001")
    expect(row.locator("td").nth(1)).to_have_text("16")
    expect(row.locator("a.badge.state-passed").first).to_have_text(journey.t("day %(day)s", day=1))
    expect(row.locator("a.badge.state-passed")).to_have_count(14)
    for day in range(1, 15):
        if day == 1:
            link = row.locator("a[href='/dosing/MDA5-001/new/?day=1']")
        else:
            link = page.locator("main a[href='/dosing/MDA5-001/new/']")
        journey.click(link, f"dose-{day}")
        # The form proposes the next day on its date, the protocol dose and volume.
        expect(page.locator("#id_study_day")).to_have_value(str(day))
        expect(page.locator("#id_dose_date")).to_have_value(
            (first_dose + dt.timedelta(days=day - 1)).isoformat()
        )
        expect(page.locator("#id_dose_particles")).to_have_value("200000000")
        values = {"given": Given.YES, "start_time": "09:00", "end_time": "09:20"}
        if day == 1:
            values.update(
                nebulizer_type="mesh",
                device_id="NEB-07",
                product_lot="EXO-P1-2026-031",
                administered_by=typed["administered_by"],
                pre_spo2=94,
                post_spo2=93,
            )
        else:
            # The device and lot carry over from the previous dose.
            expect(page.locator("#id_device_id")).to_have_value("NEB-07")
        if day == PARTIAL_DAY:
            values.update(
                given=Given.PARTIAL,
                not_given_reason=NotGivenReason.INTOLERANCE,
                end_time="09:10",
                dose_particles="1e8",
                dose_reason=typed["dose_reason"],
                ev_cough="True",
            )
        journey.fill(values)
        if day == PARTIAL_DAY:
            inhalation_event(journey, participant)
        else:
            journey.save(f"casebook-dose-{day}")
            journey.expect_message(journey.t("Saved."))
        expect(page.get_by_test_id("dose-grid").locator(".badge.dose-yes")).to_have_count(
            day if day < PARTIAL_DAY else day - 1
        )

    grid = page.get_by_test_id("dose-grid")
    expect(grid.locator(".badge.dose-partial")).to_have_count(1)
    expect(grid.locator("a.dose.has-event")).to_have_count(1)
    expect(grid.locator("a.dose").nth(PARTIAL_DAY - 1).locator(".badge")).to_have_class(
        re.compile(r"\bdose-partial\b")
    )
    compliance = page.get_by_test_id("compliance")
    expect(compliance.locator("dd").nth(0)).to_have_text("14 / 14 (100 %)")
    expect(compliance.locator("dd").nth(1)).to_have_text("13 / 1 / 0")
    expect(compliance.locator("dd").nth(2)).to_have_text("2.70e+09")
    interruption = page.locator("main ul.small li", has_text=journey.t("Intolerance"))
    expect(interruption).to_have_count(1)

    doses = list(DoseRecord.objects.filter(participant=participant).order_by("study_day"))
    assert [d.study_day for d in doses] == list(range(1, 15))
    assert [d.dose_date for d in doses] == [first_dose + dt.timedelta(days=n) for n in range(14)]
    assert [d.study_day for d in doses if d.given != Given.YES] == [PARTIAL_DAY]
    partial = doses[PARTIAL_DAY - 1]
    assert partial.given == Given.PARTIAL
    assert partial.not_given_reason == NotGivenReason.INTOLERANCE
    assert partial.dose_particles == 100_000_000 and partial.dose_reason == typed["dose_reason"]
    assert partial.ev_cough and [d.study_day for d in doses if d.inhalation_events] == [PARTIAL_DAY]
    assert {d.product_lot for d in doses} == {"EXO-P1-2026-031"}
    participant.refresh_from_db()
    assert participant.first_dose_date == first_dose


def inhalation_event(journey: Journey, participant: Participant) -> None:
    """A dose with an inhalation event stays on its page, which offers the adverse-event report."""
    page = journey.page
    journey.save(f"dose-{PARTIAL_DAY}-inhalation-event")
    assert page.url.endswith(f"/dosing/MDA5-001/day/{PARTIAL_DAY}/")
    cough = journey.t("Cough paroxysm")
    expect(page.locator("[role=status] .alert")).to_have_text(
        [
            journey.t("Saved."),
            journey.t(
                "Inhalation event on day %(day)s: %(events)s. Report it as an adverse event.",
                day=PARTIAL_DAY,
                events=cough,
            ),
        ]
    )
    events = page.get_by_test_id("inhalation-events")
    expect(events.locator("li")).to_have_count(1)
    expect(events.locator("li")).to_contain_text(cough)
    onset = participant.planned_first_dose + dt.timedelta(days=PARTIAL_DAY - 1)
    expect(events.locator("li a")).to_have_attribute(
        "href",
        re.compile(rf"^/safety/ae/new/MDA5-001/\?term=Cough&onset={onset.isoformat()}&verbatim="),
    )
    expect(page.locator("input[name=ev_cough][value=True]")).to_be_checked()
    journey.click(
        page.locator(f"main a[href='{participant.get_absolute_url()}']").first, "casebook"
    )


def report_serious_ae(journey: Journey, participant: Participant, investigator) -> AdverseEvent:
    page = journey.page
    typed = TYPED[journey.language]
    term = CtcaeTerm.objects.get(term=AE_TERM)
    journey.click(
        page.get_by_test_id("casebook-aes").locator("a[href='/safety/ae/new/MDA5-001/']"),
        "ae-new",
    )
    # The term picker: a search narrows the select, the chosen term sets the grade choices.
    page.locator("#term-search").fill("pneumonit")
    matching = CtcaeTerm.objects.filter(term__icontains="pneumonit").count()
    expect(page.locator("#id_term option")).to_have_count(matching + 1)
    expect(page.locator(f"#id_term option[value='{term.pk}']")).to_have_text(AE_TERM)
    page.locator("#id_term").select_option(str(term.pk))
    grade_3 = page.locator("#grade-choices label", has_text=term.grade3)
    expect(grade_3).to_have_count(1)
    journey.arrived("ae-term-chosen")
    onset = participant.planned_first_dose + dt.timedelta(days=PARTIAL_DAY)
    journey.fill(
        {
            "verbatim_term": typed["verbatim"],
            "onset_date": onset.isoformat(),
            "ongoing": "True",
            "grade": 3,
            "serious": "True",
            "sae_hospitalisation": "True",
            "action_taken": "none",
            "outcome": "recovering",
            "treatment": typed["treatment"],
        }
    )
    journey.save("ae-detail")
    journey.expect_message(journey.t("Saved."))
    badges = page.locator("main h1 + div .badge")
    expect(badges.filter(has_text=re.compile(rf"^{journey.t('serious')}$"))).to_have_count(1)
    expect(badges.first).to_have_text(journey.t("worst grade %(g)s", g=3))
    expect(page.locator("main dl").first).to_contain_text(
        journey.t("requires or prolongs hospitalisation")
    )
    ae = AdverseEvent.objects.get()
    assert (ae.participant, ae.number, ae.term, ae.grade) == (participant, 1, term, 3)
    assert ae.serious and ae.sae_hospitalisation and not ae.sae_death
    assert ae.onset_date == onset and ae.verbatim_term == typed["verbatim"]
    assert page.url.endswith(ae.get_absolute_url())
    # The report of a serious event reaches the investigator.
    alerts = Notification.objects.filter(recipient=investigator, kind="sae")
    assert wait_for(alerts.exists), "no SAE alert reached the investigator within 30 s"
    assert alerts.get().url == ae.get_absolute_url()

    journey.click(page.locator(f"main a[href='{participant.get_absolute_url()}']"), "casebook-ae")
    entry = page.get_by_test_id("casebook-aes").locator("li")
    expect(entry).to_have_count(1)
    expect(entry.locator(".badge.text-bg-danger")).to_have_text(journey.t("serious"))
    return ae


def day14_visit(journey: Journey, participant: Participant, today: dt.date) -> Visit:
    page = journey.page
    typed = TYPED[journey.language]
    visit_date = today - dt.timedelta(days=2)
    journey.click(
        page.get_by_test_id("visit-timeline").locator("a[href$='/visits/new/?code=day14']"),
        "visit-new",
    )
    expect(page.locator("#id_code")).to_have_value("day14")
    journey.fill({"visit_date": visit_date.isoformat()})
    journey.save("visit")
    journey.expect_message(journey.t("Saved."))
    # Not done until every form of the visit is recorded.
    expect(page.locator("main h1 .badge")).to_have_text(journey.t("forms missing"))
    visit = Visit.objects.get(participant=participant)
    assert (visit.code, visit.visit_date) == ("day14", visit_date)
    forms = page.get_by_test_id("visit-forms")
    expect(forms.locator(".badge.text-bg-secondary")).to_have_count(5)

    # Vital signs with a heart rate above the usual range (40-150) but possible (20-250).
    journey.click(forms.locator("a[href$='/vitals/']"), "vitals")
    vitals = {
        "temperature": "36.9",
        "heart_rate": "156",
        "resp_rate": "22",
        "sbp": "124",
        "dbp": "76",
        "spo2": "93",
        "weight": "58",
        "height": "160",
    }
    journey.fill(vitals)
    expect(page.locator("input[name=confirm_unusual]")).to_have_attribute("type", "hidden")
    journey.save("vitals-unusual")
    assert page.url.endswith("/vitals/")
    expect(page.locator("#id_heart_rate")).to_have_class(re.compile(r"\bis-invalid\b"))
    usual = journey.t("%(low)s to %(high)s", low="40", high="150") + " /min"
    expect(page.locator("#div_id_heart_rate .invalid-feedback")).to_have_text(
        journey.t(
            "Unusual value (usual range %(range)s). Check it; to keep it, tick the "
            "confirmation below.",
            range=usual,
        )
    )
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    for name, value in vitals.items():
        expect(page.locator(f"#id_{name}")).to_have_value(value)
    assert not VitalSigns.objects.exists()
    confirm = page.locator("input[name=confirm_unusual]")
    expect(confirm).to_have_attribute("type", "checkbox")
    expect(page.locator("label[for=id_confirm_unusual]")).to_have_text(
        journey.t("I have checked the values marked unusual and confirm them.")
    )
    confirm.check()
    journey.save("visit-vitals-saved")
    journey.expect_message(journey.t("Saved."))
    saved = VitalSigns.objects.get(visit=visit)
    assert saved.heart_rate == 156 and saved.soft_range_fields == ["heart_rate"]
    query = DataQuery.objects.get(object_id=saved.pk, field_name="heart_rate")
    assert query.automatic and query.state == "open"
    expect(page.get_by_test_id("visit-marks").locator("a.badge.text-bg-danger")).to_have_text(
        re.compile(r"^\D*1\D*$")
    )

    journey.click(forms.locator("a[href$='/oxygenation/']"), "oxygenation")
    journey.fill(
        {
            "sampled_at": "08:00",
            "o2_device": "nasal_cannula",
            "o2_flow": "3",
            "pao2": "70",
            "paco2": "38",
            "ph": "7.42",
            "spo2": "93",
        }
    )
    journey.save("visit-oxygenation-saved")
    journey.expect_message(journey.t("Saved."))

    journey.click(forms.locator("a[href$='/labs/']"), "labs")
    journey.fill(
        {
            "lab_ferritin_value": "820",
            "lab_crp_value": "12.5",
            "lab_ldh_value": "310",
            "lab_kl6_value": "1100",
            "lab_ferritin_cs": "true",
        }
    )
    journey.save("visit-labs-saved")
    journey.expect_message(journey.t("Saved."))

    journey.click(forms.locator("a[href$='/hrct/']"), "hrct")
    scores = {
        f"{pattern}_{lobe}": score
        for pattern, score in (("gg", 2), ("cons", 0), ("fib", 1))
        for lobe in ("rul", "rml", "rll", "lul", "lll")
    }
    journey.fill(
        {
            "scan_date": visit_date.isoformat(),
            "reader": typed["reader"],
            "blinded": "True",
            "dominant_pattern": "op",
            **scores,
        }
    )
    journey.save("visit-hrct-saved")
    journey.expect_message(journey.t("Saved."))

    journey.click(forms.locator("a[href$='/pft/']"), "pft")
    journey.fill(
        {
            "done": "True",
            "fvc_l": "2.1",
            "fvc_pct": "62",
            "fev1_l": "1.8",
            "fev1_pct": "66",
            "dlco_value": "3.9",
            "dlco_unit": "mmol/min/kPa",
            "dlco_pct": "44",
            "dlco_hb_corrected": "True",
            "reference_equation": "GLI 2012",
        }
    )
    journey.save("visit-complete")
    journey.expect_message(journey.t("Saved."))

    expect(forms.locator(".badge.text-bg-success")).to_have_count(5)
    expect(forms.locator(".badge.text-bg-secondary")).to_have_count(0)
    expect(page.locator("main h1 .badge")).to_have_text(journey.t("done"))
    expect(page.get_by_test_id("hrct-total")).to_have_text("15")
    derived = page.get_by_test_id("derived")
    expect(derived.locator("dd").nth(1)).to_have_text(
        "212.1 · " + journey.t("Berlin: %(berlin)s", berlin=journey.t("mild (> 200 to 300)"))
    )

    oxygenation = Oxygenation.objects.get(visit=visit)
    assert str(oxygenation.fio2) == "0.33" and oxygenation.fio2_source == "estimated"
    assert HrctScore.objects.get(visit=visit).total == 15
    assert PulmonaryFunction.objects.get(visit=visit).fvc_pct == 62
    labs = {lab.analyte: lab for lab in LabResult.objects.filter(visit=visit)}
    assert sorted(labs) == ["crp", "ferritin", "kl6", "ldh"]
    assert labs["ferritin"].clinically_significant is True
    assert all(not lab.soft_range_fields for lab in labs.values())
    return visit


def casebook_endpoints(journey: Journey, participant: Participant, visit: Visit) -> None:
    """Back in the casebook: the visit done, and its key endpoints in the table and the plots."""
    page = journey.page
    journey.click(page.locator(f"main a[href='{participant.get_absolute_url()}']"), "casebook-end")
    timeline = page.get_by_test_id("visit-timeline")
    expect(timeline.locator(f"a[href='{visit.get_absolute_url()}']")).to_have_count(1)
    expect(timeline.locator(".badge.visit-done")).to_have_count(1)
    endpoints = page.get_by_test_id("change-from-baseline")
    rows = endpoints.locator("tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0).locator("a")).to_have_attribute("href", visit.get_absolute_url())
    expect(cells.nth(1)).to_have_text("212.1")  # P/F to one decimal, as in the source
    expect(cells.nth(8)).to_have_text("15")
    plots = endpoints.locator("img.endpoint-plot")
    assert plots.count() == 8
    for index in range(plots.count()):
        plots.nth(index).scroll_into_view_if_needed()
        expect(plots.nth(index)).to_have_js_property("complete", True)
        assert plots.nth(index).evaluate("img => img.naturalWidth") > 0
    svg = page.request.get(plots.first.get_attribute("src"))
    assert svg.ok and svg.headers["content-type"] == "image/svg+xml"
    texts = [" ".join(t.split()) for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg.text())]
    assert f"{journey.t('P/F ratio')} (mmHg)" in texts
    if journey.language != "en":
        english = [t for t in texts if english_words(t, journey.allowed)]
        if english:
            journey.problems.append(f"P/F plot: {english}")


def home_worklist(journey: Journey, ae: AdverseEvent) -> None:
    """The home page counts the SAE report due within 24 h and the baseline visit missed, and
    links each count to the worklist page that lists them."""
    page = journey.page
    journey.click(page.locator("nav a.nav-link[href='/']"), "home-end")
    worklist = page.get_by_test_id("worklist")
    expect(worklist.locator("[data-count]")).to_have_text(["1", "1", "0"])
    # The automatic query on the confirmed unusual heart rate waits for an answer.
    expect(page.locator("[data-count=queries]")).to_have_text("1")
    overdue, today = worklist.locator("ul").nth(0), worklist.locator("ul").nth(1)
    expect(overdue.locator("[data-kind-count=visit]")).to_have_text("1")
    expect(today.locator("[data-kind-count=report]")).to_have_text("1")
    journey.click(overdue.locator("[data-kind=visit] a"), "worklist-overdue")
    rows = page.get_by_test_id("work-items").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator(".badge")).to_have_text(journey.t("visit"))
    expect(rows.locator("a").last).to_have_attribute(
        "href", "/participants/MDA5-001/visits/new/?code=baseline"
    )
    journey.click(page.locator("nav a.nav-link[href='/']"), "home-end")
    journey.click(
        page.get_by_test_id("worklist").locator("ul").nth(1).locator("[data-kind=report] a"),
        "worklist-today",
    )
    reports = page.get_by_test_id("work-reports").locator("tbody tr")
    expect(reports.locator(".badge")).to_have_text(journey.t("SAE report"))
    expect(reports).to_contain_text("MDA5-001")
    expect(reports.locator("a").last).to_have_attribute("href", ae.get_absolute_url())


def reference_text() -> frozenset[str]:
    """Text shown in English by design: the CTCAE terminology and the names of people."""
    values = set()
    for term in CtcaeTerm.objects.all():
        values.update([term.soc, term.term, term.definition])
        values.update(term.grade_text(grade) for grade in term.grades)
    for user in get_user_model().objects.all():
        values.update([user.printed_name, user.username])
    return frozenset(value for value in values if value)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_coordinator_screens_enrolls_doses_reports_an_sae_and_enters_day_14(
    language, celery_worker, open_session, shot, coordinator, investigator
):
    today = timezone.localdate()
    page = open_session(coordinator, language=language)
    expect(page.locator("html")).to_have_attribute("lang", DJANGO_LANGUAGE[language])
    journey = Journey(
        page, language, shot, allowed=reference_text() if language != "en" else frozenset()
    )
    journey.arrived("home")
    expect(page.get_by_test_id("worklist").locator("[data-count]")).to_have_text(["0", "0", "0"])
    expect(page.locator("[data-count=queries]")).to_have_text("0")

    screening = screen(journey, today)
    consent_and_identity(journey, screening, coordinator)
    participant = enroll(journey, screening, today)
    record_doses(journey, participant)
    ae = report_serious_ae(journey, participant, investigator)
    visit = day14_visit(journey, participant, today)
    casebook_endpoints(journey, participant, visit)
    home_worklist(journey, ae)

    assert journey.pages > 30
    assert not journey.problems, (
        f"English left on {len(journey.problems)} pages of the Chinese interface:\n"
        + "\n".join(journey.problems)
    )
