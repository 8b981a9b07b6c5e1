"""The visit-schedule engine: study days, target dates and windows (PROTOCOL.md sections 1 and 3).

Pure functions of the anchor dates; nothing here touches the database. Study day 1 is the day of
the first dose and there is no day 0: the day before day 1 is day -1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    UPCOMING = "upcoming"
    OPEN = "open"  # today is inside the window
    DONE = "done"
    PASSED = "passed"  # the window closed without a record
    NOT_EXPECTED = "not_expected"  # after the participant left the study


ITEM_STATE_LABELS = {
    ItemState.UPCOMING: _("upcoming"),
    ItemState.OPEN: _("due now"),
    ItemState.DONE: _("done"),
    ItemState.PASSED: _("window passed"),
    ItemState.NOT_EXPECTED: _("not expected"),
}


@dataclass(frozen=True)
class ScheduleItem:
    kind: str  # "visit" or "dose"
    code: str
    label: str
    target: dt.date
    earliest: dt.date
    latest: dt.date
    study_day: int
    done_on: dt.date | None = None

    def state(self, today: dt.date, end: dt.date | None = None) -> ItemState:
        """The item's state today; `end` is the last day anything is expected, if any."""
        if self.done_on is not None:
            return ItemState.DONE
        if end is not None and self.earliest > end:
            return ItemState.NOT_EXPECTED
        if today < self.earliest:
            return ItemState.UPCOMING
        if today <= self.latest:
            return ItemState.OPEN
        return ItemState.PASSED

    def state_label(self, today: dt.date, end: dt.date | None = None) -> str:
        return str(ITEM_STATE_LABELS[self.state(today, end)])

    def in_window(self, on: dt.date) -> bool:
        return self.earliest <= on <= self.latest


def date_of_study_day(first_dose: dt.date, day: int) -> dt.date:
    """Return the calendar date of a study day (day 1 = first dose, no day 0)."""
    if day == 0:
        raise ValueError("There is no study day 0.")
    return first_dose + dt.timedelta(days=day - 1 if day > 0 else day)


def study_day(first_dose: dt.date, on: dt.date) -> int:
    """Return the study day of a date (the day before day 1 is day -1)."""
    delta = (on - first_dose).days
    return delta + 1 if delta >= 0 else delta


def build_schedule(
    *,
    first_dose: dt.date,
    dosing_days: int,
    visits: Iterable[VisitDef],
    last_dose: dt.date | None = None,
    done: Mapping[str, dt.date] | None = None,
) -> list[ScheduleItem]:
    """Return the dosing days and visits in date order.

    `first_dose` is the actual first dose when known, else the planned one, so that recording the
    actual first dose re-anchors every target. `last_dose` defaults to the planned last dosing day.
    `done` maps item codes (e.g. "day14", "dose-3") to the date they were done.
    """
    done = done or {}
    last_dose = last_dose or date_of_study_day(first_dose, dosing_days)
    items = []
    for day in range(1, dosing_days + 1):
        on = date_of_study_day(first_dose, day)
        code = f"dose-{day}"
        items.append(
            ScheduleItem(
                kind="dose",
                code=code,
                label=str(_("Dosing day %(day)s") % {"day": day}),
                target=on,
                earliest=on,
                latest=on,
                study_day=day,
                done_on=done.get(code),
            )
        )
    for visit in visits:
        if visit.anchor == Anchor.FIRST_DOSE:
            target = date_of_study_day(first_dose, visit.offset)
        else:
            target = last_dose + dt.timedelta(days=visit.offset)
        items.append(
            ScheduleItem(
                kind="visit",
                code=visit.code,
                label=str(_(visit.label)),
                target=target,
                earliest=target - dt.timedelta(days=visit.before),
                latest=target + dt.timedelta(days=visit.after),
                study_day=study_day(first_dose, target),
                done_on=done.get(visit.code),
            )
        )
    # Baseline (day 1, pre-dose) sorts before the dose of day 1.
    items.sort(key=lambda item: (item.target, item.kind != "visit"))
    return items


def next_due(items: Iterable[ScheduleItem], today: dt.date) -> ScheduleItem | None:
    """Return the first item not done whose window has not closed."""
    for item in items:
        if item.done_on is None and item.latest >= today:
            return item
    return None
