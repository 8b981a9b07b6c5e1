"""Reads of the nebulization log: today's doses, the dose grid and compliance (one selector)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    Count,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, JSONObject, Least
from django.utils.translation import gettext_lazy as _

from crf.schedule import DoseFact, ItemState, Schedule, date_of_study_day, item_state
from dosing.models import DoseRecord, Given
from enrollment import schedule_store
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant
from study import protocol


def doses_by_participant(participant_ids=None) -> dict[int, dict[int, DoseRecord]]:
    """Current (not entered-in-error) dose records, by participant pk and study day: one query."""
    doses = DoseRecord.objects.filter(retired_at__isnull=True)
    if participant_ids is not None:
        doses = doses.filter(participant_id__in=participant_ids)
    result: dict[int, dict[int, DoseRecord]] = defaultdict(dict)
    for dose in doses.order_by("participant_id", "study_day"):
        result[dose.participant_id][dose.study_day] = dose
    return result


def with_dose_facts(participants: QuerySet[Participant]) -> QuerySet[Participant]:
    """Add each participant's current dose records as `dose_facts` (study day, date, given), in
    the same query: for the lists, whose query count is fixed."""
    return participants.annotate(
        dose_facts=ArrayAgg(
            JSONObject(day="doses__study_day", date="doses__dose_date", given="doses__given"),
            filter=Q(doses__isnull=False, doses__retired_at__isnull=True),
            default=Value([]),
        )
    )


def dose_facts(participant: Participant) -> dict[int, DoseFact]:
    """The DoseFact of each study day from a participant read through with_dose_facts."""
    return {
        row["day"]: DoseFact(
            dt.date.fromisoformat(row["date"]), row["given"] in (Given.YES, Given.PARTIAL)
        )
        for row in participant.dose_facts
    }


def last_dose_given(doses: dict[int, DoseRecord]) -> dt.date | None:
    """The date of the last dose given in full or in part, if any."""
    return max((dose.dose_date for dose in doses.values() if dose.counts_as_given), default=None)


@dataclass
class Interruption:
    day: int
    given: str
    reason: str


@dataclass
class Compliance:
    due: int = 0
    given: int = 0  # in full or partly
    full: int = 0
    partial: int = 0
    not_given: int = 0
    missed: list[int] = field(default_factory=list)  # due days with no record at all
    total_particles: int = 0
    interruptions: list[Interruption] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        return round(100 * self.given / self.due) if self.due else None

    @property
    def full_course(self) -> bool:
        return self.full == protocol.DOSING_DAYS


def compliance_for(
    participant: Participant, doses: dict[int, DoseRecord], today: dt.date
) -> Compliance:
    """Doses given / doses due to date; a day is due once it has passed (or is recorded)."""
    result = Compliance()
    for day in range(1, protocol.DOSING_DAYS + 1):
        on = date_of_study_day(participant.anchor, day)
        dose = doses.get(day)
        if dose is None:
            # The schedule's rule: due once its day has passed, unless the participant had left.
            state = item_state(
                earliest=on, latest=on, today=today, expected_until=participant.exit_date
            )
            if state == ItemState.MISSED:
                result.due += 1
                result.missed.append(day)
            continue
        result.due += 1
        if dose.given == Given.YES:
            result.full += 1
        elif dose.given == Given.PARTIAL:
            result.partial += 1
        else:
            result.not_given += 1
        if dose.counts_as_given:
            result.given += 1
            result.total_particles += dose.dose_particles or 0
        if dose.given != Given.YES:
            reason = dose.get_not_given_reason_display()
            if dose.not_given_text:
                reason = f"{reason}: {dose.not_given_text}"
            result.interruptions.append(Interruption(day, dose.get_given_display(), reason))
    return result


class DaysBetween(Func):
    """`later - earlier` of two dates, in days (PostgreSQL's date subtraction)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()


def with_compliance(participants: QuerySet[Participant], today: dt.date) -> QuerySet[Participant]:
    """Add `dose_due` and `dose_given` as compliance_for counts them, in the same query.

    A day with a current record is due; a day without one is due (missed) once it has passed
    before the participant left: days 1 to min(today, exit) - anchor, clamped to the dosing days.
    """
    current = DoseRecord.objects.filter(participant=OuterRef("pk"), retired_at__isnull=True)

    def count(records):
        return Coalesce(
            Subquery(
                records.order_by().values("participant").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            0,
        )

    exit_date = Case(When(exit__retired_at__isnull=True, then=F("exit__exit_date")))
    until = Least(Value(today, output_field=DateField()), exit_date)  # LEAST skips NULL
    anchor = Coalesce("first_dose_date", "planned_first_dose")
    return participants.annotate(
        dose_days_passed=Greatest(
            Value(0), Least(Value(protocol.DOSING_DAYS), DaysBetween(until, anchor))
        ),
        dose_recorded=count(current),
        dose_recorded_passed=count(current.filter(study_day__lte=OuterRef("dose_days_passed"))),
        dose_given=count(current.filter(given__in=(Given.YES, Given.PARTIAL))),
    ).annotate(
        dose_due=F("dose_recorded") + F("dose_days_passed") - F("dose_recorded_passed"),
    )


def compliance_by_participant(
    today: dt.date,
    participants: list[Participant] | None = None,
    *,
    doses: dict[int, dict[int, DoseRecord]] | None = None,
) -> dict[int, Compliance]:
    """Compliance of every participant (or of those given): two queries, fewer if given."""
    if participants is None:
        participants = list(enrollment_selectors.participants())
    if doses is None:
        doses = doses_by_participant([p.pk for p in participants])
    return {p.pk: compliance_for(p, doses.get(p.pk, {}), today) for p in participants}


@dataclass
class StudyCompliance:
    participants: int
    due: int
    given: int
    full_courses: int
    total_particles: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.given / self.due) if self.due else None


def study_compliance(
    today: dt.date,
    participants: list[Participant] | None = None,
    *,
    compliance: dict[int, Compliance] | None = None,
) -> StudyCompliance:
    """Totals over every participant (or those given; or of their compliance, if given)."""
    if compliance is None:
        compliance = compliance_by_participant(today, participants)
    values = list(compliance.values())
    return StudyCompliance(
        participants=sum(1 for c in values if c.due),
        due=sum(c.due for c in values),
        given=sum(c.given for c in values),
        full_courses=sum(1 for c in values if c.full_course),
        total_particles=sum(c.total_particles for c in values),
    )


@dataclass
class DoseCell:
    day: int
    date: dt.date
    state: str  # yes, partial, no, missed, due, upcoming
    label: str
    dose: DoseRecord | None
    events: bool


CELL_LABELS = {
    "yes": _("given"),
    "partial": _("partly given"),
    "no": _("not given"),
    "missed": _("missed: no record"),
    "due": _("due today"),
    "upcoming": _("upcoming"),
    "not_expected": _("not expected"),
}
# The cell of a day without a record shows its schedule state.
CELL_STATE = {
    ItemState.SCHEDULED: "upcoming",
    ItemState.DUE: "due",
    ItemState.MISSED: "missed",
    ItemState.NOT_EXPECTED: "not_expected",
}


def dose_grid(schedule: Schedule, doses: dict[int, DoseRecord]) -> list[DoseCell]:
    """The dosing days of a participant's schedule with their state."""
    cells = []
    for item in schedule.doses:
        dose = doses.get(item.study_day)
        state = dose.given if dose is not None else CELL_STATE[item.state]
        cells.append(
            DoseCell(
                item.study_day,
                item.target,
                state,
                str(CELL_LABELS[state]),
                dose,
                bool(dose and dose.inhalation_events),
            )
        )
    return cells


@dataclass
class TodayRow:
    participant: Participant
    study_day: int
    today_dose: DoseRecord | None
    missed: list[int]

    @property
    def in_dosing(self) -> bool:
        return 1 <= self.study_day <= protocol.DOSING_DAYS


def today_participants(today: dt.date) -> QuerySet[Participant]:
    """Every participant on study whose dosing is under way or who has a day missed, with the
    missed days as `missed_days`, computed in SQL on the stored schedule."""
    schedule_store.refresh(today)
    missed = (
        schedule_store.entries(today)
        .filter(participant=OuterRef("pk"), kind="dose", state=ItemState.MISSED)
        .order_by("study_day")
    )
    first = today - dt.timedelta(days=protocol.DOSING_DAYS - 1)
    return (
        enrollment_selectors.participants()
        .filter(Q(exit__isnull=True) | Q(exit__retired_at__isnull=False))
        .annotate(
            anchor_date=Coalesce("first_dose_date", "planned_first_dose"),
            missed_days=ArraySubquery(missed.values("study_day")),
        )
        .filter(Q(anchor_date__range=(first, today)) | Exists(missed))
        .order_by("number")
    )


def today_rows(today: dt.date, participants: list[Participant]) -> list[TodayRow]:
    """The rows of one page of dosing today: one query for today's dose records."""
    days = {p.pk: p.study_day_on(today) for p in participants}
    doses = {
        dose.participant_id: dose
        for dose in DoseRecord.objects.filter(
            participant_id__in=days, retired_at__isnull=True
        ).select_related("participant")
        if dose.study_day == days[dose.participant_id]
    }
    return [
        TodayRow(
            participant=p,
            study_day=days[p.pk],
            today_dose=doses.get(p.pk),
            missed=list(p.missed_days),
        )
        for p in participants
    ]
