"""The visit-schedule engine: study days, target dates and windows (PROTOCOL.md sections 1 and 3).

Pure functions of a participant's facts (anchor dates, dose and visit records, study exit);
nothing here touches the database. Study day 1 is the day of
the first dose and there is no day 0: the day before day 1 is day -1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Anchor(StrEnum):
    FIRST_DOSE = "first_dose"
    LAST_DOSE = "last_dose"  # offset counts days after the last dose


@dataclass(frozen=True)
class VisitDef:
    """A scheduled visit: its target relative to an anchor, and its window in days."""

    code: str
    label: str
    anchor: Anchor
    offset: int
    before: int
    after: int
    forms: tuple[str, ...] = ()


class ItemState(StrEnum):
    """The state of a scheduled item (PROTOCOL.md section 3: scheduled, due, done, missed...)."""

    SCHEDULED = "scheduled"  # its window has not opened
    DUE = "due"  # today is inside the window
    INCOMPLETE = "incomplete"  # recorded, but a form of the visit is still missing
    DONE = "done"  # recorded in its window (a visit: with every form)
    OUT_OF_WINDOW = "out_of_window"  # done, outside its window
    MISSED = "missed"  # the window closed without a record
    NOT_EXPECTED = "not_expected"  # after the participant left the study


ITEM_STATE_LABELS = {
    ItemState.SCHEDULED: _("scheduled"),
    ItemState.DUE: _("due"),
    ItemState.INCOMPLETE: _("forms missing"),
    ItemState.DONE: _("done"),
    ItemState.OUT_OF_WINDOW: _("done out of window"),
    ItemState.MISSED: _("missed"),
    ItemState.NOT_EXPECTED: _("not expected"),
}


@dataclass(frozen=True)
class DoseFact:
    """What the schedule needs to know of a dose record."""

    dose_date: dt.date
    given: bool  # given in full or in part


@dataclass(frozen=True)
class VisitFact:
    """What the schedule needs to know of a recorded visit."""

    visit_date: dt.date
    complete: bool  # every form the protocol lists for the visit is recorded


@dataclass(frozen=True)
class ScheduleFacts:
    """Everything a participant's schedule depends on, read beforehand: no query happens here."""

    first_dose: dt.date  # the actual first dose once given, else the planned one
    doses: Mapping[int, DoseFact] = field(default_factory=dict)  # by study day
    visits: Mapping[str, VisitFact] = field(default_factory=dict)  # by visit code
    exit_date: dt.date | None = None  # the day the participant left: no dose from that day
    visits_end: dt.date | None = None  # no visit expected from this day; None while followed


@dataclass(frozen=True)
class ScheduleItem:
    kind: str  # "visit" or "dose"
    code: str
    label: str
    target: dt.date
    earliest: dt.date
    latest: dt.date
    study_day: int
    done_on: dt.date | None = None  # the date of its record
    state: ItemState = ItemState.SCHEDULED
    anchor: Anchor = Anchor.FIRST_DOSE

    @property
    def state_label(self) -> str:
        return str(ITEM_STATE_LABELS[self.state])

    def in_window(self, on: dt.date) -> bool:
        return self.earliest <= on <= self.latest


def item_state(
    *,
    earliest: dt.date,
    latest: dt.date,
    today: dt.date,
    recorded_on: dt.date | None = None,
    complete: bool = True,
    expected_until: dt.date | None = None,
) -> ItemState:
    """The state of one item: the single rule every page, task and report reads.

    An item without a record is not expected when the participant's expected period ended
    before its window closed (`expected_until` is the first day nothing more is expected).
    """
    if recorded_on is not None:
        if not complete:
            return ItemState.INCOMPLETE
        if earliest <= recorded_on <= latest:
            return ItemState.DONE
        return ItemState.OUT_OF_WINDOW
    if expected_until is not None and expected_until <= latest:
        return ItemState.NOT_EXPECTED
    if today < earliest:
        return ItemState.SCHEDULED
    if today <= latest:
        return ItemState.DUE
    return ItemState.MISSED


@dataclass(frozen=True)
class Schedule:
    """A participant's schedule on a given day: every dosing day and visit with its state."""

    items: tuple[ScheduleItem, ...]
    today: dt.date
    last_dose: dt.date  # the anchor of the visits counted from the last dose
    dosing_ended: bool

    def __iter__(self) -> Iterator[ScheduleItem]:
        return iter(self.items)

    def get(self, code: str) -> ScheduleItem | None:
        return next((item for item in self.items if item.code == code), None)

    @property
    def visits(self) -> list[ScheduleItem]:
        return [item for item in self.items if item.kind == "visit"]

    @property
    def doses(self) -> list[ScheduleItem]:
        return [item for item in self.items if item.kind == "dose"]

    def next_due(self) -> ScheduleItem | None:
        """The first item still to do whose window has not closed."""
        for item in self.items:
            if item.state in (ItemState.SCHEDULED, ItemState.DUE):
                return item
            if item.state == ItemState.INCOMPLETE and item.latest >= self.today:
                return item
        return None

    def last_visit(self) -> ScheduleItem | None:
        """The latest visit with a record."""
        done = [item for item in self.visits if item.done_on is not None]
        return max(done, key=lambda item: item.done_on) if done else None


def date_of_study_day(first_dose: dt.date, day: int) -> dt.date:
    """Return the calendar date of a study day (day 1 = first dose, no day 0)."""
    if day == 0:
        raise ValueError("There is no study day 0.")
    return first_dose + dt.timedelta(days=day - 1 if day > 0 else day)


def study_day(first_dose: dt.date, on: dt.date) -> int:
    """Return the study day of a date (the day before day 1 is day -1)."""
    delta = (on - first_dose).days
    return delta + 1 if delta >= 0 else delta


def dosing_end(facts: ScheduleFacts, *, today: dt.date, dosing_days: int) -> tuple[bool, dt.date]:
    """Whether dosing has ended, and the last dose that anchors the safety follow-up.

    Dosing has ended once the participant left the study or the last planned dosing day has
    passed (PROTOCOL.md section 4). From then on the last dose is the last one actually given,
    in full or in part, as for the AE window (section 6); before, it is the planned last day.
    """
    planned = date_of_study_day(facts.first_dose, dosing_days)
    ended = facts.exit_date is not None or today > planned
    given = [dose.dose_date for dose in facts.doses.values() if dose.given]
    return ended, (max(given) if ended and given else planned)


def build_schedule(
    facts: ScheduleFacts, *, today: dt.date, dosing_days: int, visits: Iterable[VisitDef]
) -> Schedule:
    """Return the dosing days and visits in date order, each with its state today.

    A pure function of the facts, so that it can be computed from any prefetched data (and later
    in SQL) and give the same answer on every page, in every task and report.
    """
    ended, last_dose = dosing_end(facts, today=today, dosing_days=dosing_days)
    items = []
    for day in range(1, dosing_days + 1):
        on = date_of_study_day(facts.first_dose, day)
        dose = facts.doses.get(day)
        recorded_on = dose.dose_date if dose else None
        items.append(
            ScheduleItem(
                kind="dose",
                code=f"dose-{day}",
                label=str(_("Dosing day %(day)s") % {"day": day}),
                target=on,
                earliest=on,
                latest=on,
                study_day=day,
                done_on=recorded_on,
                # A dose recorded on another date (with its reason) still counts as done.
                state=ItemState.DONE
                if dose
                else item_state(
                    earliest=on, latest=on, today=today, expected_until=facts.exit_date
                ),
            )
        )
    for visit in visits:
        if visit.anchor == Anchor.FIRST_DOSE:
            target = date_of_study_day(facts.first_dose, visit.offset)
        else:
            target = last_dose + dt.timedelta(days=visit.offset)
        earliest = target - dt.timedelta(days=visit.before)
        latest = target + dt.timedelta(days=visit.after)
        record = facts.visits.get(visit.code)
        items.append(
            ScheduleItem(
                kind="visit",
                code=visit.code,
                label=str(_(visit.label)),
                target=target,
                earliest=earliest,
                latest=latest,
                study_day=study_day(facts.first_dose, target),
                done_on=record.visit_date if record else None,
                state=item_state(
                    earliest=earliest,
                    latest=latest,
                    today=today,
                    recorded_on=record.visit_date if record else None,
                    complete=record.complete if record else True,
                    expected_until=facts.visits_end,
                ),
                anchor=visit.anchor,
            )
        )
    # Baseline (day 1, pre-dose) sorts before the dose of day 1.
    items.sort(key=lambda item: (item.target, item.kind != "visit"))
    return Schedule(items=tuple(items), today=today, last_dose=last_dose, dosing_ended=ended)
