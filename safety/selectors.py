"""Reads of adverse events for the AE pages, the dashboard and the reports (one source of truth)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from crf.schedule import date_of_study_day, study_day
from dosing.models import DoseRecord, Given
from dosing.selectors import Compliance, with_compliance
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant
from safety import clocks as clock_rules
from safety.clocks import Clock
from safety.models import RELATED, AdverseEvent, AeFollowUp, SafetyReport
from study import protocol


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


CLOCK_STATES = clock_rules.STATES


@dataclass
class Filters:
    """What the dashboard, its tables and the CSV download are narrowed to (from the URL)."""

    participant: str = ""
    min_grade: int | None = None
    serious: bool | None = None
    related: bool | None = None
    onset_from: dt.date | None = None
    onset_to: dt.date | None = None
    assessed: bool | None = None
    clock: str = ""  # a clock state: events with a clock in that state

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
        clock = query.get("clock", "")
        return cls(
            participant=query.get("participant", "").strip(),
            min_grade=int(grade) if grade in {"1", "2", "3", "4", "5"} else None,
            serious=as_bool(query.get("serious")),
            related=as_bool(query.get("related")),
            onset_from=as_date(query.get("from")),
            onset_to=as_date(query.get("to")),
            assessed=as_bool(query.get("assessed")),
            clock=clock if clock in CLOCK_STATES else "",
        )

    @property
    def narrows_events(self) -> bool:
        """Whether some events are left out (beyond the participant chosen)."""
        return any(
            value not in (None, "")
            for value in (
                self.min_grade,
                self.serious,
                self.related,
                self.onset_from,
                self.onset_to,
                self.assessed,
                self.clock,
            )
        )

    def apply(self, events: QuerySet[AdverseEvent]) -> QuerySet[AdverseEvent]:
        """Narrow events read through with_figures."""
        if self.participant:
            events = events.filter(participant__participant_id=self.participant)
        if self.min_grade:
            events = events.filter(worst__gte=self.min_grade)
        if self.serious is not None:
            events = events.filter(serious=self.serious)
        if self.related is True:
            events = events.filter(rel_study_drug__in=RELATED)
        elif self.related is False:
            events = events.exclude(rel_study_drug__in=RELATED)
        if self.onset_from:
            events = events.filter(onset_date__gte=self.onset_from)
        if self.onset_to:
            events = events.filter(onset_date__lte=self.onset_to)
        if self.assessed is not None:
            events = events.filter(assessed_at__isnull=not self.assessed)
        if self.clock:
            events = events.filter(Q(initial_state=self.clock) | Q(susar_state=self.clock))
        return events


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


class AddDays(Func):
    """A date plus a number of days (PostgreSQL's date + integer)."""

    arg_joiner = " + "
    template = "(%(expressions)s)"
    output_field = DateField()


def in_window_condition() -> Q:
    """endpoint_window in SQL: onset from the first dose to the last dose given (or the last
    planned dosing day) + AE_WINDOW_DAYS_AFTER_LAST_DOSE days."""
    last_given = Subquery(
        DoseRecord.objects.filter(
            participant=OuterRef("participant"),
            retired_at__isnull=True,
            given__in=(Given.YES, Given.PARTIAL),
        )
        .order_by("-dose_date")
        .values("dose_date")[:1],
        output_field=DateField(),
    )
    last_dose = Coalesce(
        last_given, AddDays("participant__first_dose_date", Value(protocol.DOSING_DAYS - 1))
    )
    return Q(
        participant__first_dose_date__isnull=False,
        onset_date__gte=F("participant__first_dose_date"),
        onset_date__lte=AddDays(last_dose, Value(protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE)),
    )


def with_figures(events: QuerySet[AdverseEvent], now: dt.datetime) -> QuerySet[AdverseEvent]:
    """Add what the lists show of each event, computed by the database: `worst` (read back by
    AdverseEvent.worst_grade), `relatedness` (2 related, 1 not, 0 not assessed) and the report
    clocks of safety.clocks.with_clocks."""
    return clock_rules.with_clocks(
        events.annotate(
            worst=AdverseEvent.worst_grade_expression(),
            relatedness=Case(
                When(rel_study_drug__in=RELATED, then=Value(2)),
                When(rel_study_drug="", then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        ),
        now,
    )


def events(filters: Filters, now: dt.datetime) -> QuerySet[AdverseEvent]:
    """Current events, narrowed by the filters, with their figures: one query."""
    return filters.apply(
        with_figures(
            AdverseEvent.objects.filter(retired_at__isnull=True).select_related(
                "participant", "term", "assessed_by"
            ),
            now,
        )
    ).order_by("participant__number", "number")


# Sort keys of the tables: the columns to order by, ascending; "-key" reverses the first.
EVENT_SORTS = {
    "participant": ("participant__number", "number"),
    "onset": ("onset_date", "participant__number", "number"),
    "grade": ("worst", "participant__number", "number"),
    "serious": ("serious", "participant__number", "number"),
    "related": ("relatedness", "participant__number", "number"),
}
PARTICIPANT_SORTS = {
    "participant": ("number",),
    "events": ("ae_count", "number"),
    "serious": ("sae_count", "number"),
    "related": ("related_count", "number"),
    "grade": ("worst", "number"),
    "compliance": ("dose_ratio", "number"),
}
CLOCK_SORTS = {
    "urgency": ("waiting", "due_at", "participant_number", "ae_number"),
    "due": ("due_at", "participant_number", "ae_number"),
    "participant": ("participant_number", "ae_number", "code"),
}


def sort(queryset: QuerySet, key: str, sorts: dict, default: str) -> tuple[QuerySet, str]:
    """Order by a sort key from the URL (unknown keys fall back to the default)."""
    name = key.removeprefix("-")
    if name not in sorts:
        name, key = default, default
    first, *rest = sorts[name]
    if key.startswith("-"):
        return queryset.order_by(F(first).desc(nulls_last=True), *rest), key
    return queryset.order_by(F(first).asc(nulls_last=True), *rest), key


@dataclass
class Summary:
    events: int
    in_window: int
    open_saes: int
    awaiting: int
    susars: int
    overdue: int
    running: int
    totals_by_grade: dict[int, list[int]]  # grade -> [events, related]


def summary(events_: QuerySet[AdverseEvent]) -> Summary:
    """The figures at the top of the dashboard: one aggregate query."""

    def clock_in(state):
        return Q(initial_state=state) | Q(susar_state=state)

    figures = {
        "events": Count("pk"),
        "in_window": Coalesce(Sum("in_window"), 0),
        "open_saes": Count("pk", filter=Q(serious=True, ongoing=True)),
        "awaiting": Count("pk", filter=Q(assessed_at__isnull=True)),
        "susars": Count("pk", filter=clock_rules.IS_SUSAR),
        "overdue": Count("pk", filter=clock_in("overdue")),
        "running": Count("pk", filter=clock_in("running")),
    }
    by_grade = {}
    for grade in range(1, 6):
        by_grade[f"grade{grade}"] = Count("pk", filter=Q(worst=grade))
        by_grade[f"related{grade}"] = Count("pk", filter=Q(worst=grade, rel_study_drug__in=RELATED))
    # Grouped by a constant rather than aggregate(), which would wrap the annotated query in a
    # subquery and lose the names the filters refer to.
    rows = list(
        events_.annotate(
            in_window=Case(
                When(in_window_condition(), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            everything=Value(1),
        )
        .order_by()
        .values("everything")
        .annotate(**figures, **by_grade)
    )
    values = rows[0] if rows else dict.fromkeys([*figures, *by_grade], 0)
    return Summary(
        **{name: values[name] for name in figures},
        totals_by_grade={g: [values[f"grade{g}"], values[f"related{g}"]] for g in range(1, 6)},
    )


def participants(filters: Filters, now: dt.datetime, today: dt.date) -> QuerySet[Participant]:
    """Participants with the counts of their (filtered) events, their worst grade and their
    dosing compliance, all computed by the database; those without a matching event are left
    out when the filters narrow the events."""
    per_participant = (
        filters.apply(with_figures(AdverseEvent.objects.filter(retired_at__isnull=True), now))
        .filter(participant=OuterRef("pk"))
        .order_by()
        .values("participant")
    )

    def of_events(aggregate, default=0):
        value = Subquery(
            per_participant.annotate(value=aggregate).values("value"),
            output_field=IntegerField(),
        )
        return value if default is None else Coalesce(value, default)

    result = with_compliance(enrollment_selectors.participants(), today).annotate(
        ae_count=of_events(Count("pk")),
        sae_count=of_events(Count("pk", filter=Q(serious=True))),
        related_count=of_events(Count("pk", filter=Q(rel_study_drug__in=RELATED))),
        worst=of_events(Max("worst"), default=None),
        dose_ratio=Case(
            When(dose_due=0, then=Value(None)),
            default=Cast("dose_given", FloatField()) / Cast("dose_due", FloatField()),
            output_field=FloatField(),
        ),
    )
    if filters.participant:
        result = result.filter(participant_id=filters.participant)
    if filters.narrows_events:
        result = result.filter(ae_count__gt=0)
    return result


@dataclass
class TimelineMark:
    ae: AdverseEvent
    day: int


@dataclass
class ParticipantSafety:
    participant: Participant
    by_grade: dict[int, list[int]] = field(default_factory=dict)  # grade -> [events, related]
    marks: list[TimelineMark] = field(default_factory=list)
    dosing_days: list[int] = field(default_factory=list)  # study days with a dose given
    compliance: Compliance | None = None


TIMELINE_FIRST_DAY = -3
TIMELINE_LAST_DAY = protocol.DOSING_DAYS + protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE


def participant_rows(
    page: list[Participant], filters: Filters, now: dt.datetime
) -> list[ParticipantSafety]:
    """The grade matrix and timeline of one page of participants (read through
    `participants`): two queries, however many participants the trial has."""
    ids = [p.pk for p in page]
    by_participant: dict[int, list[AdverseEvent]] = defaultdict(list)
    for ae in events(filters, now).filter(participant_id__in=ids):
        by_participant[ae.participant_id].append(ae)
    given: dict[int, list[int]] = defaultdict(list)
    for participant_id, day in (
        DoseRecord.objects.filter(
            participant_id__in=ids,
            retired_at__isnull=True,
            given__in=(Given.YES, Given.PARTIAL),
        )
        .order_by("participant_id", "study_day")
        .values_list("participant_id", "study_day")
    ):
        given[participant_id].append(day)
    rows = []
    for participant in page:
        row = ParticipantSafety(
            participant=participant,
            by_grade={grade: [0, 0] for grade in range(1, 6)},
            dosing_days=given[participant.pk],
            compliance=Compliance(due=participant.dose_due, given=participant.dose_given),
        )
        for ae in by_participant[participant.pk]:
            counts = row.by_grade[ae.worst_grade]
            counts[0] += 1
            counts[1] += ae.rel_study_drug in RELATED
            if participant.first_dose_date:
                row.marks.append(
                    TimelineMark(ae, study_day(participant.first_dose_date, ae.onset_date))
                )
        rows.append(row)
    return rows


@dataclass
class ClockRow:
    ae: AdverseEvent
    clock: Clock
    state: str


def clocks(filters: Filters, now: dt.datetime) -> QuerySet:
    """Every report clock of the filtered events, one row each (values: pk, code, due_at,
    sent_at, state), running and overdue ones first: two SELECTs in one UNION query."""
    base = filters.apply(with_figures(AdverseEvent.objects.filter(retired_at__isnull=True), now))

    def of(code: str):
        due, sent, state = f"{code}_due", f"{code}_sent", f"{code}_state"
        rows = base.filter(**{f"{due}__isnull": False})
        if filters.clock:
            rows = rows.filter(**{state: filters.clock})
        return (
            rows.annotate(
                code=Value(code, output_field=CharField()),
                due_at=F(due),
                sent_at=F(sent),
                state=F(state),
                waiting=Case(
                    When(**{f"{state}__in": clock_rules.OPEN_STATES}, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                ),
                participant_number=F("participant__number"),
                ae_number=F("number"),
            )
            .order_by()
            .values(
                "pk", "code", "due_at", "sent_at", "state", "waiting",
                "participant_number", "ae_number",
            )
        )  # fmt: skip

    return of("initial").union(of("susar"), all=True)


def clock_rows(rows) -> list[ClockRow]:
    """ClockRows of one page of `clocks`: one query for their events."""
    rows = list(rows)
    events_ = AdverseEvent.objects.select_related("participant", "term").in_bulk(
        {row["pk"] for row in rows}
    )
    result = []
    for row in rows:
        ae = events_[row["pk"]]
        if row["code"] == "initial":
            label = clock_rules.initial_label()
        else:
            label = clock_rules.susar_label((row["due_at"] - ae.awareness_at).days)
        clock = Clock(row["code"], label, row["due_at"], row["sent_at"])
        result.append(ClockRow(ae, clock, row["state"]))
    return result
