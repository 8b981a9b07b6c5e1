"""Reads of adverse events for the AE pages, the dashboard and the reports (one source of truth)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from crf.schedule import date_of_study_day, study_day
from dosing.selectors import doses_by_participant, last_dose_given
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant
from safety.clocks import Clock, clocks
from safety.models import RELATED, AdverseEvent, AeFollowUp, SafetyReport
from trialportal import protocol


def adverse_events() -> QuerySet[AdverseEvent]:
    """Current adverse events with all a list needs: three queries whatever their number."""
    return (
        AdverseEvent.objects.filter(retired_at__isnull=True)
        .select_related("participant", "term", "assessed_by")
        .prefetch_related(
            Prefetch("follow_ups", queryset=AeFollowUp.objects.filter(retired_at__isnull=True)),
            Prefetch("reports", queryset=SafetyReport.objects.filter(retired_at__isnull=True)),
        )
        .order_by("participant__number", "number")
    )


@dataclass
class Filters:
    participant: str = ""
    min_grade: int | None = None
    serious: bool | None = None
    related: bool | None = None
    onset_from: dt.date | None = None
    onset_to: dt.date | None = None

    @classmethod
    def from_query(cls, query) -> Filters:
        def as_bool(value):
            return {"yes": True, "no": False}.get(value)

        def as_date(value):
            try:
                return dt.date.fromisoformat(value) if value else None
            except ValueError:
                return None

        grade = query.get("grade", "")
        return cls(
            participant=query.get("participant", "").strip(),
            min_grade=int(grade) if grade in {"1", "2", "3", "4", "5"} else None,
            serious=as_bool(query.get("serious")),
            related=as_bool(query.get("related")),
            onset_from=as_date(query.get("from")),
            onset_to=as_date(query.get("to")),
        )

    def apply(self, events: list[AdverseEvent]) -> list[AdverseEvent]:
        result = []
        for ae in events:
            if self.participant and ae.participant.participant_id != self.participant:
                continue
            if self.min_grade and ae.worst_grade < self.min_grade:
                continue
            if self.serious is not None and ae.serious != self.serious:
                continue
            if self.related is not None and (ae.related is True) != self.related:
                continue
            if self.onset_from and ae.onset_date < self.onset_from:
                continue
            if self.onset_to and ae.onset_date > self.onset_to:
                continue
            result.append(ae)
        return result


def endpoint_window(
    participant: Participant, last_dose: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """The primary-endpoint window: first dose to last dose + 30 days (a protocol setting)."""
    if participant.first_dose_date is None:
        return None
    last = last_dose or date_of_study_day(participant.first_dose_date, protocol.DOSING_DAYS)
    return participant.first_dose_date, last + dt.timedelta(
        days=protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE
    )


@dataclass
class TimelineMark:
    ae: AdverseEvent
    day: int


@dataclass
class ParticipantSafety:
    participant: Participant
    by_grade: dict[int, list[int]] = field(default_factory=dict)  # grade -> [events, related]
    window: tuple[dt.date, dt.date] | None = None
    marks: list[TimelineMark] = field(default_factory=list)
    dosing_days: list[int] = field(default_factory=list)  # study days with a dose given


@dataclass
class ClockRow:
    ae: AdverseEvent
    clock: Clock
    state: str


@dataclass
class Dashboard:
    events: list[AdverseEvent]
    rows: list[ParticipantSafety]
    awaiting_assessment: list[AdverseEvent]
    open_saes: list[AdverseEvent]
    clock_rows: list[ClockRow]
    in_window: int
    totals_by_grade: dict[int, list[int]]
    susars: list[AdverseEvent]


TIMELINE_FIRST_DAY = -3
TIMELINE_LAST_DAY = protocol.DOSING_DAYS + protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE


def dashboard(filters: Filters, now: dt.datetime | None = None) -> Dashboard:
    """Everything the investigators' AE dashboard shows, in a fixed number of queries."""
    now = now or timezone.now()
    participants = list(enrollment_selectors.participants())
    doses = doses_by_participant([p.pk for p in participants])
    events = filters.apply(list(adverse_events()))
    by_participant: dict[int, list[AdverseEvent]] = defaultdict(list)
    for ae in events:
        by_participant[ae.participant_id].append(ae)
    rows, in_window = [], 0
    totals = {grade: [0, 0] for grade in range(1, 6)}
    for participant in participants:
        if filters.participant and participant.participant_id != filters.participant:
            continue
        participant_doses = doses.get(participant.pk, {})
        given = [d for d in participant_doses.values() if d.counts_as_given]
        row = ParticipantSafety(
            participant=participant,
            by_grade={grade: [0, 0] for grade in range(1, 6)},
            window=endpoint_window(participant, last_dose_given(participant_doses)),
            dosing_days=sorted(d.study_day for d in given),
        )
        for ae in by_participant.get(participant.pk, []):
            grade = ae.worst_grade
            row.by_grade[grade][0] += 1
            totals[grade][0] += 1
            if ae.rel_study_drug in RELATED:
                row.by_grade[grade][1] += 1
                totals[grade][1] += 1
            if row.window and row.window[0] <= ae.onset_date <= row.window[1]:
                in_window += 1
            if participant.first_dose_date:
                day = study_day(participant.first_dose_date, ae.onset_date)
                row.marks.append(TimelineMark(ae, day))
        rows.append(row)
    clock_rows = []
    for ae in events:
        for clock in clocks(ae, list(ae.reports.all())):
            clock_rows.append(ClockRow(ae, clock, clock.state(now)))
    clock_rows.sort(key=lambda row: (row.state not in ("overdue", "running"), row.clock.due_at))
    return Dashboard(
        events=events,
        rows=rows,
        awaiting_assessment=[ae for ae in events if not ae.is_assessed],
        open_saes=[ae for ae in events if ae.serious and ae.ongoing],
        clock_rows=clock_rows,
        in_window=in_window,
        totals_by_grade=totals,
        susars=[ae for ae in events if ae.susar],
    )
