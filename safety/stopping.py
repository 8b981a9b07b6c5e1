"""Stopping rules (PROTOCOL.md section 6): evaluated after every AE save; they alert, never block.

`evaluate` is a pure function of the events and the dose records, so every rule can be tested
with constructed data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext_noop

from dosing.models import DoseRecord
from safety.messages import render
from safety.models import RELATED, AdverseEvent, Outcome, Relatedness
from study import protocol


@dataclass(frozen=True)
class RuleHit:
    rule: str
    key: str
    template: str
    params: dict
    participant_id: int | None
    study_wide: bool
    # The one event that met the rule (e.g. "ae:12"), so that an event meeting several rules is
    # announced once; empty when the hit is its own event (a cluster, recurrent desaturation).
    event: str = ""

    @property
    def message(self) -> str:
        return render(self.template, self.params)

    @property
    def event_key(self) -> str:
        return self.event or self.key


def _label(ae: AdverseEvent) -> dict:
    return {
        "pid": ae.participant.participant_id,
        "number": ae.number,
        "term": ae.term.term,
        "grade": ae.worst_grade,
    }


def _within_hours_of_a_dose(ae: AdverseEvent, doses: Iterable[DoseRecord], hours: int) -> bool:
    onset = dt.datetime.combine(ae.onset_date, ae.onset_time or dt.time(0, 0))
    for dose in doses:
        if not dose.counts_as_given:
            continue
        start = dt.datetime.combine(dose.dose_date, dose.start_time or dt.time(0, 0))
        # Without an onset time, any onset on the dose day or the next counts.
        slack = dt.timedelta(hours=hours if ae.onset_time else 24 + hours)
        if start <= onset <= start + slack or (
            ae.onset_time is None and onset.date() == dose.dose_date
        ):
            return True
    return False


def evaluate(
    events: Iterable[AdverseEvent], doses: Mapping[int, Iterable[DoseRecord]]
) -> list[RuleHit]:
    """Return every stopping rule met by these events (and dose records, by participant pk)."""
    hits: list[RuleHit] = []
    clusters: dict[int, dict[int, AdverseEvent]] = defaultdict(dict)
    for ae in events:
        if ae.is_retired:
            continue
        worst = ae.worst_grade
        related = ae.rel_study_drug in RELATED
        died = worst == 5 or ae.outcome == Outcome.FATAL
        if died and ae.rel_study_drug != Relatedness.DEFINITELY_NOT:
            hits.append(
                RuleHit(
                    "death",
                    f"death:{ae.pk}",
                    gettext_noop(
                        "Stopping rule: a death not clearly unrelated to MSC-exos: %(ae)s."
                    ),
                    {"ae": _label(ae)},
                    ae.participant_id,
                    True,
                    event=f"ae:{ae.pk}",
                )
            )
        if related and worst >= protocol.STOP_RELATED_GRADE:
            hits.append(
                RuleHit(
                    "related_grade4",
                    f"related_grade4:{ae.pk}",
                    gettext_noop(
                        "Stopping rule: a grade %(grade)s or higher event at least possibly "
                        "related: %(ae)s."
                    ),
                    {"grade": protocol.STOP_RELATED_GRADE, "ae": _label(ae)},
                    ae.participant_id,
                    True,
                    event=f"ae:{ae.pk}",
                )
            )
        if (
            ae.term.term in protocol.STOP_AIRWAY_TERMS
            and worst >= 4
            and _within_hours_of_a_dose(
                ae, doses.get(ae.participant_id, ()), protocol.STOP_AIRWAY_HOURS
            )
        ):
            hits.append(
                RuleHit(
                    "airway",
                    f"airway:{ae.pk}",
                    gettext_noop(
                        "Stopping rule: %(term)s of grade 4 or higher (needing intubation) "
                        "within %(hours)s h of a dose: %(ae)s."
                    ),
                    {"term": ae.term.term, "hours": protocol.STOP_AIRWAY_HOURS, "ae": _label(ae)},
                    ae.participant_id,
                    True,
                    event=f"ae:{ae.pk}",
                )
            )
        if related and worst >= protocol.STOP_CLUSTER_GRADE:
            clusters[ae.term_id].setdefault(ae.participant_id, ae)
        # Individual stopping: this participant's dosing stops.
        if related and worst >= protocol.INDIVIDUAL_STOP_GRADE:
            hits.append(
                RuleHit(
                    "individual_related",
                    f"individual_related:{ae.pk}",
                    gettext_noop(
                        "Individual stop for %(pid)s: a grade %(grade)s or higher related "
                        "event: %(ae)s."
                    ),
                    {
                        "pid": ae.participant.participant_id,
                        "grade": protocol.INDIVIDUAL_STOP_GRADE,
                        "ae": _label(ae),
                    },
                    ae.participant_id,
                    False,
                    event=f"ae:{ae.pk}",
                )
            )
        if ae.term.term in protocol.INDIVIDUAL_STOP_TERMS:
            hits.append(
                RuleHit(
                    "individual_hypersensitivity",
                    f"individual_hypersensitivity:{ae.pk}",
                    gettext_noop("Individual stop for %(pid)s: hypersensitivity: %(ae)s."),
                    {"pid": ae.participant.participant_id, "ae": _label(ae)},
                    ae.participant_id,
                    False,
                    event=f"ae:{ae.pk}",
                )
            )
    for events_by_participant in clusters.values():
        if len(events_by_participant) >= protocol.STOP_CLUSTER_PARTICIPANTS:
            listed = sorted(events_by_participant.values(), key=lambda ae: ae.participant_id)
            hits.append(
                RuleHit(
                    "cluster",
                    f"cluster:{listed[0].term_id}:"
                    + "-".join(str(ae.participant_id) for ae in listed),
                    gettext_noop(
                        "Stopping rule: %(n)s participants with the same grade %(grade)s or "
                        "higher related event (%(term)s): %(aes)s."
                    ),
                    {
                        "n": len(listed),
                        "grade": protocol.STOP_CLUSTER_GRADE,
                        "term": listed[0].term.term,
                        "aes": [_label(ae) for ae in listed],
                    },
                    None,
                    True,
                )
            )
    for participant_id, participant_doses in doses.items():
        needing_support = [
            dose for dose in participant_doses if _desaturation_needing_support(dose)
        ]
        if len(needing_support) >= 2:
            participant = needing_support[0].participant
            hits.append(
                RuleHit(
                    "individual_desaturation",
                    f"individual_desaturation:{participant_id}",
                    gettext_noop(
                        "Individual stop for %(pid)s: recurrent desaturation needing more "
                        "respiratory support (days %(days)s)."
                    ),
                    {
                        "pid": participant.participant_id,
                        "days": ", ".join(str(d.study_day) for d in needing_support),
                    },
                    participant_id,
                    False,
                )
            )
    return hits


def _desaturation_needing_support(dose: DoseRecord) -> bool:
    if not (dose.desaturation_computed or dose.ev_desaturation):
        return False
    more_flow = (dose.post_o2_flow or 0) > (dose.pre_o2_flow or 0)
    more_fio2 = (dose.post_fio2 or 0) > (dose.pre_fio2 or 0)
    return more_flow or more_fio2
