"""The schedule engine: study days without day 0, targets and windows (PROTOCOL.md section 3)."""

from __future__ import annotations

import datetime as dt

import pytest

from crf.schedule import (
    DoseFact,
    ItemState,
    ScheduleFacts,
    VisitFact,
    build_schedule,
    date_of_study_day,
    study_day,
)
from study import protocol

FIRST = dt.date(2026, 3, 2)


def schedule(first=FIRST, today=FIRST, **facts):
    items = build_schedule(
        ScheduleFacts(first_dose=first, **facts),
        today=today,
        dosing_days=protocol.DOSING_DAYS,
        visits=protocol.VISITS,
    )
    return {item.code: item for item in items}, items


def test_study_day_one_is_the_first_dose_and_there_is_no_day_zero():
    assert study_day(FIRST, FIRST) == 1
    assert study_day(FIRST, FIRST - dt.timedelta(days=1)) == -1
    assert study_day(FIRST, FIRST + dt.timedelta(days=13)) == 14
    assert date_of_study_day(FIRST, -1) == dt.date(2026, 3, 1)
    with pytest.raises(ValueError):
        date_of_study_day(FIRST, 0)


def test_the_schedule_has_fourteen_dosing_days_and_the_protocol_visits():
    _, items = schedule()
    doses = [item for item in items if item.kind == "dose"]
    assert [dose.study_day for dose in doses] == list(range(1, 15))
    assert doses[-1].target == dt.date(2026, 3, 15)
    visits = [item.code for item in items if item.kind == "visit"]
    assert visits == ["baseline", "day14", "day28", "safety30", "month3", "month6", "month12"]


@pytest.mark.parametrize(
    ("code", "target", "earliest", "latest"),
    [
        ("baseline", "2026-03-02", "2026-02-27", "2026-03-02"),
        ("day14", "2026-03-15", "2026-03-14", "2026-03-16"),
        ("day28", "2026-03-29", "2026-03-26", "2026-04-01"),
        ("safety30", "2026-04-14", "2026-04-11", "2026-04-17"),  # last dose 03-15 + 30 days
        ("month3", "2026-05-30", "2026-05-16", "2026-06-13"),  # day 90
        ("month6", "2026-08-28", "2026-08-14", "2026-09-11"),
        ("month12", "2027-03-01", "2027-01-30", "2027-03-31"),  # day 365
    ],
)
def test_each_visit_has_its_target_and_window(code, target, earliest, latest):
    by_code, _ = schedule()
    item = by_code[code]
    assert (item.target, item.earliest, item.latest) == (
        dt.date.fromisoformat(target),
        dt.date.fromisoformat(earliest),
        dt.date.fromisoformat(latest),
    )


def test_a_later_first_dose_moves_every_target():
    before, _ = schedule()
    after, _ = schedule(first=FIRST + dt.timedelta(days=3))
    for code, item in before.items():
        assert after[code].target - item.target == dt.timedelta(days=3)


def given(*days, on=FIRST):
    return {day: DoseFact(date_of_study_day(on, day), True) for day in days}


def test_an_early_end_of_dosing_moves_the_safety_follow_up_to_the_last_dose_given():
    stopped = {**given(1, 2, 3, 4, 5), 6: DoseFact(dt.date(2026, 3, 7), False)}
    # While dosing could still go on, the follow-up stays at the planned last day.
    by_code, _ = schedule(doses=stopped, today=dt.date(2026, 3, 10))
    assert by_code["safety30"].target == dt.date(2026, 4, 14)
    # Once day 14 has passed, or the participant left, it counts from the last dose given.
    by_code, _ = schedule(doses=stopped, today=dt.date(2026, 3, 16))
    assert by_code["safety30"].target == dt.date(2026, 4, 5)
    by_code, _ = schedule(doses=stopped, today=dt.date(2026, 3, 10), exit_date=dt.date(2026, 3, 9))
    assert by_code["safety30"].target == dt.date(2026, 4, 5)


def test_a_last_dose_given_late_moves_the_safety_follow_up_later():
    doses = {**given(*range(1, 14)), 14: DoseFact(dt.date(2026, 3, 20), True)}
    by_code, _ = schedule(doses=doses, today=dt.date(2026, 3, 21))
    assert by_code["safety30"].target == dt.date(2026, 4, 19)


def test_states_follow_the_window():
    by_code, _ = schedule(doses=given(1), today=dt.date(2026, 3, 13))
    assert by_code["day14"].state == ItemState.SCHEDULED
    assert by_code["dose-1"].state == ItemState.DONE
    assert by_code["dose-2"].state == ItemState.MISSED
    assert schedule(today=dt.date(2026, 3, 16))[0]["day14"].state == ItemState.DUE
    assert schedule(today=dt.date(2026, 3, 17))[0]["day14"].state == ItemState.MISSED
    assert schedule(today=dt.date(2026, 3, 2))[0]["dose-1"].state == ItemState.DUE


def test_a_visit_is_done_when_every_form_is_recorded_in_its_window():
    on = dt.date(2026, 3, 15)
    done = schedule(visits={"day14": VisitFact(on, True)}, today=on)[0]["day14"]
    assert done.state == ItemState.DONE and done.done_on == on
    partial = schedule(visits={"day14": VisitFact(on, False)}, today=on)[0]["day14"]
    assert partial.state == ItemState.INCOMPLETE
    late = dt.date(2026, 3, 19)
    moved = schedule(visits={"day14": VisitFact(late, True)}, today=late)[0]["day14"]
    assert moved.state == ItemState.OUT_OF_WINDOW


def test_next_due_skips_what_is_done_or_missed():
    items = build_schedule(
        ScheduleFacts(first_dose=FIRST, doses=given(*range(1, 15))),
        today=dt.date(2026, 3, 16),
        dosing_days=protocol.DOSING_DAYS,
        visits=protocol.VISITS,
    )
    assert items.next_due().code == "day14"
    assert schedule()[1].next_due().code == "baseline"


def test_nothing_is_expected_once_the_participant_left():
    # Left on 2026-03-28, inside the Day 28 window: that visit and every later one is not expected.
    by_code, _ = schedule(
        today=dt.date(2026, 6, 20),
        exit_date=dt.date(2026, 3, 28),
        visits_end=dt.date(2026, 3, 28),
    )
    assert by_code["day14"].state == ItemState.MISSED
    for code in ("day28", "safety30", "month3"):
        assert by_code[code].state == ItemState.NOT_EXPECTED
    assert by_code["dose-14"].state == ItemState.MISSED
    # Withdrawn from dosing with follow-up permitted: no dose, but the visits are expected.
    by_code, _ = schedule(today=dt.date(2026, 3, 20), exit_date=dt.date(2026, 3, 10))
    assert by_code["dose-8"].state == ItemState.MISSED  # the day before the withdrawal
    assert by_code["dose-9"].state == ItemState.NOT_EXPECTED
    assert by_code["day14"].state == ItemState.MISSED
    assert by_code["day28"].state == ItemState.SCHEDULED
