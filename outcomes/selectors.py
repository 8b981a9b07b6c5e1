"""Reads of visits and outcomes: visit states and change from baseline, for pages and reports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _

from crf.schedule import ScheduleItem, study_day
from enrollment.models import Participant
from outcomes.models import UNSCHEDULED, LabResult, Visit
from trialportal import protocol

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


def visit_status(
    item: ScheduleItem, visit: Visit | None, today: dt.date, end: dt.date | None = None
) -> str:
    """scheduled, due, done, out of window, missed, or not expected (PROTOCOL.md section 3)."""
    if visit is not None:
        return "done" if item.in_window(visit.visit_date) else "out_of_window"
    if end is not None and item.earliest > end:
        return "not_expected"
    if today < item.earliest:
        return "scheduled"
    if today <= item.latest:
        return "due"
    return "missed"


VISIT_STATUS_LABELS = {
    "scheduled": _("scheduled"),
    "due": _("due"),
    "done": _("done"),
    "out_of_window": _("done out of window"),
    "missed": _("missed"),
    "not_expected": _("not expected"),
}


def form_state(visit: Visit, form: str) -> bool | None:
    """Whether the visit has this CRF (None for forms kept as logs elsewhere)."""
    if form == "labs":
        return bool(list(visit.labs.all()))
    relation = FORM_RELATION.get(form, form)
    if relation in CRF_RELATIONS:
        return getattr(visit, relation, None) is not None
    return None


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


def visit_codes_by_participant(participant_ids) -> dict[int, set[str]]:
    """The scheduled visits each participant has had: one light query."""
    rows = Visit.objects.filter(
        participant_id__in=participant_ids, retired_at__isnull=True
    ).exclude(code=UNSCHEDULED)
    result: dict[int, set[str]] = defaultdict(set)
    for participant_id, code in rows.values_list("participant_id", "code"):
        result[participant_id].add(code)
    return result
