"""The numbers of the DSMB safety report, from the same selectors as the pages (PROTOCOL §7)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from crf import monitoring
from crf.models import DataQuery, QueryState, Signature
from crf.schedule import ItemState
from dashboards import selectors as dashboard_selectors
from dosing import selectors as dosing_selectors
from dosing.models import INHALATION_EVENTS
from enrollment import selectors as enrollment_selectors
from enrollment.models import ProtocolDeviation
from outcomes import selectors as outcomes_selectors
from safety import selectors as safety_selectors
from safety.clocks import clocks
from safety.models import RELATED, StoppingRuleAlert

KEY_LABS = ("ferritin", "crp", "ldh", "kl6", "lymphocytes", "ck")


@dataclass
class AeRow:
    soc: str
    term: str
    events: int
    participants: int
    by_grade: list[int]  # participants by worst grade 1..5
    related_participants: int


@dataclass
class DsmbData:
    cutoff: dt.datetime
    today: dt.date
    flow: dashboard_selectors.Consort
    participants: list
    baseline: list[tuple[str, str]]
    compliance: list[tuple[str, dosing_selectors.Compliance]]
    study_compliance: dosing_selectors.StudyCompliance
    ae_rows: list[AeRow]
    events: list
    saes: list
    susars: list
    deaths: list
    interruptions: list
    inhalation: list[tuple[str, int, int]]
    lab_shifts: dict[str, Counter]
    series: dict[str, list[tuple[str, list[tuple[int, float]]]]]
    alerts: list
    deviations: list
    missing_forms: list[tuple[str, str, str]]
    overdue_visits: list[tuple[str, str, dt.date]]
    query_ages: Counter
    signatures: list[tuple[Signature, bool]]
    clock_rows: list = field(default_factory=list)


def _category(lab) -> str:
    """A result against its own normal range, in the unit it was entered in."""
    return "missing" if lab.value is None else lab.out_of_range or "normal"


def dsmb_data(cutoff: dt.datetime) -> DsmbData:
    """Collect every section's numbers as of the cut-off."""
    today = timezone.localdate(cutoff)
    participants = list(enrollment_selectors.participants().filter(created_at__lte=cutoff))
    ids = [p.pk for p in participants]
    flow = dashboard_selectors.consort(today, cutoff)

    doses = dosing_selectors.doses_by_participant(ids)  # read once, for every section
    compliance_map = dosing_selectors.compliance_by_participant(today, participants, doses=doses)
    compliance = [(p.participant_id, compliance_map[p.pk]) for p in participants]
    study = dosing_selectors.study_compliance(today, participants, compliance=compliance_map)

    events = [
        ae
        for ae in safety_selectors.adverse_events().filter(participant_id__in=ids)
        if ae.created_at <= cutoff and ae.onset_date <= today
    ]
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for ae in events:
        grouped[(ae.term.soc, ae.term_label)].append(ae)
    ae_rows = []
    for (soc, term), aes in sorted(grouped.items()):
        worst: dict[int, int] = {}
        related = set()
        for ae in aes:
            worst[ae.participant_id] = max(worst.get(ae.participant_id, 0), ae.worst_grade)
            if ae.rel_study_drug in RELATED:
                related.add(ae.participant_id)
        by_grade = [sum(1 for g in worst.values() if g == grade) for grade in range(1, 6)]
        ae_rows.append(AeRow(soc, term, len(aes), len(worst), by_grade, len(related)))

    inhalation = []
    all_doses = [d for days in doses.values() for d in days.values() if d.dose_date <= today]
    for name, label, _term in INHALATION_EVENTS:
        hit = [
            d
            for d in all_doses
            if getattr(d, name) or (name == "ev_desaturation" and d.desaturation_computed)
        ]
        inhalation.append((str(label), len(hit), len({d.participant_id for d in hit})))

    visits = outcomes_selectors.visits_by_participant(ids)
    baseline_values = []
    lab_shifts: dict[str, Counter] = {code: Counter() for code in KEY_LABS}
    series: dict[str, list] = {code: [] for code in ("pf_ratio", "ferritin", "kl6", "hrct_total")}
    missing_forms, overdue = [], []
    for participant in participants:
        pvisits = [v for v in visits.get(participant.pk, []) if v.visit_date <= today]
        rows = outcomes_selectors.change_from_baseline(participant, pvisits)
        for code in series:
            points = outcomes_selectors.endpoint_series(rows, code)
            if points:
                series[code].append((participant.participant_id, points))
        base = next((v for v in pvisits if v.code == "baseline"), None)
        if base:
            values = outcomes_selectors.endpoint_values(base)
            baseline_values.append(values)
            worst: dict[str, str] = {}  # analyte: the last abnormal category after baseline
            for visit in pvisits:
                if visit is not base:
                    for later in visit.labs.all():
                        if (category := _category(later)) != "normal":
                            worst[later.analyte] = category
            for lab in base.labs.all():
                if lab.analyte in lab_shifts:
                    lab_shifts[lab.analyte][(_category(lab), worst.get(lab.analyte, "normal"))] += 1
        for visit in pvisits:
            for form in visit.required_forms:
                if outcomes_selectors.form_state(visit, form) is False:
                    missing_forms.append(
                        (
                            participant.participant_id,
                            visit.label,
                            str(outcomes_selectors.FORM_LABELS[form]),
                        )
                    )
        schedule = outcomes_selectors.schedule_of(
            participant,
            today,
            {day: d for day, d in doses.get(participant.pk, {}).items() if d.dose_date <= today},
            pvisits,
        )
        for item in schedule.visits:
            if item.state == ItemState.MISSED:
                overdue.append((participant.participant_id, item.label, item.latest))

    baseline = _baseline_characteristics(participants, today, baseline_values)
    query_ages: Counter = Counter()
    for query in DataQuery.objects.exclude(state=QueryState.CLOSED).filter(opened_at__lte=cutoff):
        age = (cutoff - query.opened_at).days
        query_ages["< 7 days" if age < 7 else "7-30 days" if age <= 30 else "> 30 days"] += 1
    signatures = [
        (sig, monitoring.signature_valid(sig))
        for sig in Signature.objects.filter(
            signed_at__lte=cutoff, scope__in=("visit", "casebook")
        ).select_related("content_type")
    ]
    clock_rows = []
    for ae in events:
        for clock in clocks(ae, [r for r in ae.reports.all() if r.sent_at <= cutoff]):
            clock_rows.append((ae, clock, clock.state(cutoff)))
    return DsmbData(
        cutoff=cutoff,
        today=today,
        flow=flow,
        participants=participants,
        baseline=baseline,
        compliance=compliance,
        study_compliance=study,
        ae_rows=ae_rows,
        events=events,
        saes=[ae for ae in events if ae.serious],
        susars=[ae for ae in events if ae.susar],
        deaths=[ae for ae in events if ae.worst_grade == 5 or ae.outcome == "fatal"],
        interruptions=[ae for ae in events if ae.action_taken in ("interrupted", "withdrawn")],
        inhalation=inhalation,
        lab_shifts=lab_shifts,
        series=series,
        alerts=list(
            StoppingRuleAlert.objects.filter(triggered_at__lte=cutoff).select_related(
                "acknowledged_by"
            )
        ),
        deviations=list(
            ProtocolDeviation.objects.filter(
                retired_at__isnull=True, occurred_on__lte=today
            ).select_related("participant")
        ),
        missing_forms=missing_forms,
        overdue_visits=overdue,
        query_ages=query_ages,
        signatures=signatures,
        clock_rows=clock_rows,
    )


def _baseline_characteristics(participants, today, baseline_values) -> list[tuple[str, str]]:
    def median(values):
        values = sorted(v for v in values if v is not None)
        if not values:
            return "-"
        mid = len(values) // 2
        value = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        return f"{value:g} ({min(values):g}-{max(values):g})"

    ages = [p.screening.age_at(p.enrollment_date) for p in participants]
    women = sum(1 for p in participants if p.screening.sex == "F")
    n = len(participants) or 1
    return [
        (_("Participants"), str(len(participants))),
        (_("Age, years: median (range)"), median(ages)),
        (_("Women, n (%)"), f"{women} ({round(100 * women / n)} %)"),
        (
            _("Clinically amyopathic DM, n"),
            str(sum(1 for p in participants if p.screening.dm_classification == "cadm")),
        ),
        (
            _("P/F ratio at baseline: median (range)"),
            median([v.get("pf_ratio") for v in baseline_values]),
        ),
        (
            _("Ferritin at baseline, ng/mL"),
            median([v.get("ferritin") for v in baseline_values]),
        ),
        (
            _("KL-6 at baseline, U/mL"),
            median([v.get("kl6") for v in baseline_values]),
        ),
        (
            _("HRCT total at baseline (0-75)"),
            median([v.get("hrct_total") for v in baseline_values]),
        ),
    ]
