"""The schedule engine: study days without day 0, targets and windows (PROTOCOL.md section 3)."""

from __future__ import annotations

import datetime as dt

import pytest

from crf.schedule import ItemState, build_schedule, date_of_study_day, next_due, study_day
from trialportal import protocol

FIRST = dt.date(2026, 3, 2)


def schedule(first=FIRST, **kwargs):
    items = build_schedule(
        first_dose=first, dosing_days=protocol.DOSING_DAYS, visits=protocol.VISITS, **kwargs
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


def test_an_actual_last_dose_moves_the_safety_follow_up():
    by_code, _ = schedule(last_dose=dt.date(2026, 3, 20))
    assert by_code["safety30"].target == dt.date(2026, 4, 19)


def test_states_follow_the_window():
    by_code, items = schedule(done={"dose-1": FIRST})
    day14 = by_code["day14"]
    assert day14.state(dt.date(2026, 3, 13)) == ItemState.UPCOMING
    assert day14.state(dt.date(2026, 3, 16)) == ItemState.OPEN
    assert day14.state(dt.date(2026, 3, 17)) == ItemState.PASSED
    assert by_code["dose-1"].state(dt.date(2026, 3, 20)) == ItemState.DONE
    assert next_due(items, dt.date(2026, 3, 16)).code == "day14"
    assert next_due(items, dt.date(2026, 3, 2)).code == "baseline"


def test_nothing_is_expected_after_the_last_expected_day():
    by_code, _ = schedule()
    month3 = by_code["month3"]
    assert month3.state(dt.date(2026, 6, 20), end=dt.date(2026, 4, 1)) == ItemState.NOT_EXPECTED
    assert month3.state(dt.date(2026, 6, 20), end=None) == ItemState.PASSED
