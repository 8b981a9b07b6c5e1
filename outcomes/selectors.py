"""Reads of visits and outcomes: visit states and change from baseline, for pages and reports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Prefetch
from django.utils.translation import gettext_lazy as _

from crf.schedule import DoseFact, Schedule, VisitFact, study_day
from dosing import selectors as dosing_selectors
from dosing.models import DoseRecord
from enrollment.models import Participant
from outcomes.models import UNSCHEDULED, LabResult, Visit
from study import protocol

CRF_RELATIONS = ("vitals", "oxygenation", "pft", "six_mwt", "hrct", "survival")
FORM_LABELS = {
    "vitals": _("Vital signs"),
    "oxygenation": _("Oxygenation"),
    "labs": _("Laboratory and serology"),
    "pft": _("Pulmonary function"),
    "hrct": _("HRCT score"),
    "6mwt": _("6-minute walk"),
    "survival": _("Survival status"),
    "conmeds": _("Concomitant medications"),
    "ae_review": _("Adverse-event review"),
    "end_of_study": _("End of study"),
}
FORM_RELATION = {"6mwt": "six_mwt"}


def visits_by_participant(participant_ids=None) -> dict[int, list[Visit]]:
    """Current visits with every CRF and lab result: a fixed number of queries."""
    visits = (
        Visit.objects.filter(retired_at__isnull=True)
        .select_related(*CRF_RELATIONS)
        .prefetch_related(
            Prefetch("labs", queryset=LabResult.objects.filter(retired_at__isnull=True))
        )
        .order_by("participant_id", "visit_date", "pk")
    )
    if participant_ids is not None:
        visits = visits.filter(participant_id__in=participant_ids)
    result: dict[int, list[Visit]] = defaultdict(list)
    for visit in visits:
        result[visit.participant_id].append(visit)
    return result


def form_state(visit: Visit, form: str) -> bool | None:
    """Whether the visit has this CRF (None for forms kept as logs elsewhere)."""
    if form == "labs":
        return bool(list(visit.labs.all()))
    relation = FORM_RELATION.get(form, form)
    if relation in CRF_RELATIONS:
        record = getattr(visit, relation, None)
        return record is not None and not record.is_retired
    return None


def _relation(form: str) -> str:
    return FORM_RELATION.get(form, form)


# The forms recorded on the visit itself (the AE review, con-meds... are logs kept elsewhere).
VISIT_FORMS = tuple(
    form for form in FORM_LABELS if form == "labs" or _relation(form) in CRF_RELATIONS
)


def forms_recorded(visit: Visit) -> set[str]:
    """The visit's forms that have a current record."""
    return {form for form in VISIT_FORMS if form_state(visit, form)}


def visit_complete(code: str, recorded: set[str]) -> bool:
    """Whether every form the protocol lists for the visit, of those kept on it, is recorded."""
    required = next((v.forms for v in protocol.VISITS if v.code == code), ())
    return all(form in recorded for form in required if form in VISIT_FORMS)


def visit_facts_by_participant(participant_ids) -> dict[int, dict[str, VisitFact]]:
    """Each current scheduled visit's date and completeness, by participant pk: one query."""
    relations = [_relation(form) for form in VISIT_FORMS if form != "labs"]
    rows = (
        Visit.objects.filter(participant_id__in=participant_ids, retired_at__isnull=True)
        .exclude(code=UNSCHEDULED)
        .annotate(
            has_labs=Exists(LabResult.objects.filter(visit=OuterRef("pk"), retired_at__isnull=True))
        )
        .values(
            "participant_id",
            "code",
            "visit_date",
            "has_labs",
            *(f"{rel}__{column}" for rel in relations for column in ("id", "retired_at")),
        )
    )
    result: dict[int, dict[str, VisitFact]] = defaultdict(dict)
    for row in rows:
        recorded = {
            form
            for form in VISIT_FORMS
            if (row["has_labs"] if form == "labs" else _current(row, _relation(form)))
        }
        result[row["participant_id"]][row["code"]] = VisitFact(
            row["visit_date"], visit_complete(row["code"], recorded)
        )
    return result


def _current(row: dict, relation: str) -> bool:
    return row[f"{relation}__id"] is not None and row[f"{relation}__retired_at"] is None


def _schedule(
    participant: Participant,
    today: dt.date,
    doses: dict[int, DoseFact],
    visits: dict[str, VisitFact],
) -> Schedule:
    return participant.schedule(today=today, doses=doses, visits=visits)


def _dose_facts(doses: dict[int, DoseRecord]) -> dict[int, DoseFact]:
    return {day: DoseFact(dose.dose_date, dose.counts_as_given) for day, dose in doses.items()}


def schedule_of(
    participant: Participant, today: dt.date, doses: dict[int, DoseRecord], visits: list[Visit]
) -> Schedule:
    """The participant's schedule from their current dose records and visits (no query)."""
    facts = {
        visit.code: VisitFact(visit.visit_date, visit_complete(visit.code, forms_recorded(visit)))
        for visit in visits
        if visit.code != UNSCHEDULED
    }
    return _schedule(participant, today, _dose_facts(doses), facts)


def schedules(
    participants: list[Participant],
    today: dt.date,
    *,
    doses: dict[int, dict[int, DoseRecord]] | None = None,
) -> dict[int, Schedule]:
    """Every participant's schedule with its states, by participant pk: the one schedule truth
    of the pages, reminders and reports.

    One query for the visits, and one for the doses unless they are passed or the participants
    were read through dosing.selectors.with_dose_facts; whatever the number of participants.
    """
    ids = [p.pk for p in participants]
    annotated = all(hasattr(p, "dose_facts") for p in participants)
    if doses is None and not annotated:
        doses = dosing_selectors.doses_by_participant(ids)
    visits = visit_facts_by_participant(ids)
    return {
        p.pk: _schedule(
            p,
            today,
            _dose_facts(doses.get(p.pk, {}))
            if doses is not None
            else dosing_selectors.dose_facts(p),
            visits.get(p.pk, {}),
        )
        for p in participants
    }


# --- Change from baseline -------------------------------------------------------------------------

ENDPOINTS = (
    ("pf_ratio", _("P/F ratio"), "mmHg"),
    ("fvc_pct", _("FVC % predicted"), "%"),
    ("dlco_pct", _("DLCO % predicted"), "%"),
    ("ferritin", _("Ferritin"), "ng/mL"),
    ("kl6", _("KL-6"), "U/mL"),
    ("crp", _("CRP"), "mg/L"),
    ("ldh", _("LDH"), "U/L"),
    ("hrct_total", _("HRCT total"), "/75"),
)


def endpoint_values(visit: Visit) -> dict[str, float | None]:
    values: dict[str, float | None] = dict.fromkeys(code for code, _label, _unit in ENDPOINTS)
    oxygenation = getattr(visit, "oxygenation", None)
    if oxygenation is not None and not oxygenation.is_retired:
        values["pf_ratio"] = oxygenation.pf_ratio
    pft = getattr(visit, "pft", None)
    if pft is not None and pft.done and not pft.is_retired:
        values["fvc_pct"], values["dlco_pct"] = pft.fvc_pct, pft.dlco_pct
    for lab in visit.labs.all():
        if lab.analyte in values:
            values[lab.analyte] = lab.canonical_value
    hrct = getattr(visit, "hrct", None)
    if hrct is not None and not hrct.is_retired:
        values["hrct_total"] = hrct.total
    return values


@dataclass
class EndpointRow:
    visit: Visit
    study_day: int | None
    values: dict[str, float | None]
    changes: dict[str, float | None] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def change_from_baseline(participant: Participant, visits: list[Visit]) -> list[EndpointRow]:
    """The key endpoints at every visit with their change from the baseline visit."""
    baseline = next((v for v in visits if v.code == "baseline"), None)
    base = endpoint_values(baseline) if baseline else {}
    rows = []
    for visit in sorted(visits, key=lambda v: v.visit_date):
        values = endpoint_values(visit)
        if not any(value is not None for value in values.values()):
            continue
        row = EndpointRow(
            visit=visit,
            study_day=study_day(participant.first_dose_date, visit.visit_date)
            if participant.first_dose_date
            else None,
            values=values,
        )
        for code, value in values.items():
            if value is not None and base.get(code) is not None and visit is not baseline:
                row.changes[code] = round(value - base[code], 1)
        if abs(row.changes.get("fvc_pct") or 0) >= protocol.FVC_CHANGE_FLAG:
            row.flags.add("fvc_pct")
        if abs(row.changes.get("dlco_pct") or 0) >= protocol.DLCO_CHANGE_FLAG:
            row.flags.add("dlco_pct")
        rows.append(row)
    return rows


def endpoint_series(rows: list[EndpointRow], code: str) -> list[tuple[int, float]]:
    """(study day, value) points of one endpoint, for the plots."""
    return [
        (row.study_day, row.values[code])
        for row in rows
        if row.study_day is not None and row.values.get(code) is not None
    ]
