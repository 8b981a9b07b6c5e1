"""The stored schedule: its SQL states agree with the Python schedule engine, on any trial."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crf.schedule import ItemState, date_of_study_day
from crf.services import record_retire
from dashboards import selectors as dashboard_selectors
from dosing import selectors as dosing_selectors
from dosing.models import DoseRecord
from enrollment import schedule_store
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant, ScheduleBuild, ScheduleEntry, Screening, StudyExit
from outcomes import selectors as outcomes_selectors
from outcomes.models import (
    HrctScore,
    LabResult,
    Oxygenation,
    PulmonaryFunction,
    SixMinuteWalk,
    Survival,
    Visit,
    VitalSigns,
)
from outcomes.schedule_table import schedule_rebuild
from study import protocol
from tests.factories import (
    complete_visit,
    make_dose,
    make_exit,
    make_participant,
    make_visit,
    screening_answers,
)

pytestmark = pytest.mark.django_db

CRF_MODELS = (VitalSigns, Oxygenation, PulmonaryFunction, SixMinuteWalk, HrctScore, Survival)
BASE = dt.date(2026, 3, 2)


def python_truth(today: dt.date):
    participants = list(
        dosing_selectors.with_dose_facts(enrollment_selectors.participants().order_by("pk"))
    )
    return participants, outcomes_selectors.schedules(participants, today)


def assert_stored_matches(today: dt.date) -> None:
    """Every item's dates and state, every next item and last visit, the worklist buckets and
    dosing today, read in SQL, equal what build_schedule gives for `today`."""
    schedule_store.refresh(today)
    participants, truth = python_truth(today)
    stored = {(e.participant_id, e.code): e for e in schedule_store.entries(today)}
    ids = [p.pk for p in participants]
    following = schedule_store.next_entries(today, ids)
    last = schedule_store.last_visits(today, ids)
    buckets = {
        (e.participant_id, e.code): e.bucket for e in dashboard_selectors.work_entries(today)
    }
    expected_buckets = {}
    week_end = today + dt.timedelta(days=7)
    for p in participants:
        schedule = truth[p.pk]
        assert len([key for key in stored if key[0] == p.pk]) == len(schedule.items)
        for item in schedule:
            entry = stored[(p.pk, item.code)]
            assert (
                entry.kind,
                entry.study_day,
                entry.target,
                entry.earliest,
                entry.latest,
                entry.done_on,
                entry.state,
            ) == (
                item.kind,
                item.study_day,
                item.target,
                item.earliest,
                item.latest,
                item.done_on,
                item.state.value,
            ), (p.participant_id, item.code, today)
            assert schedule_store.entry_label(entry) == item.label
            if p.expected_until is not None:
                continue
            # The home page's former Python rule.
            bucket = None
            if item.state == ItemState.MISSED:
                bucket = "overdue"
            elif item.state == ItemState.DUE:
                bucket = "today"
            elif item.state == ItemState.INCOMPLETE:
                bucket = "overdue" if item.latest < today else "today"
            elif (
                item.kind == "visit"
                and item.state == ItemState.SCHEDULED
                and item.earliest <= week_end
            ):
                bucket = "week"
            if bucket:
                expected_buckets[(p.pk, item.code)] = bucket
        want_next, want_last = schedule.next_due(), schedule.last_visit()
        got_next, got_last = following.get(p.pk), last.get(p.pk)
        assert (got_next.code if got_next else None) == (want_next.code if want_next else None)
        assert (got_last.code if got_last else None) == (want_last.code if want_last else None)
    assert buckets == expected_buckets
    # Dosing today: participants on study in their dosing days or with a day missed.
    doses = dosing_selectors.doses_by_participant(ids)
    want_today = {}
    for p in participants:
        if not p.is_active:
            continue
        missed = dosing_selectors.compliance_for(p, doses.get(p.pk, {}), today).missed
        if 1 <= p.study_day_on(today) <= protocol.DOSING_DAYS or missed:
            want_today[p.pk] = missed
    got_today = {p.pk: list(p.missed_days) for p in dosing_selectors.today_participants(today)}
    assert got_today == want_today


# --- A random trial ------------------------------------------------------------------------------

dose_plans = st.sampled_from(["none", "none", "yes", "yes", "yes", "no", "shifted", "retired"])
visit_plans = st.sampled_from(["none", "complete", "incomplete", "shifted", "retired"])
exits = st.one_of(
    st.none(),
    st.tuples(
        st.sampled_from(["withdrawn", "completed", "lost", "died"]),
        st.integers(min_value=0, max_value=400),  # days after the first dose
        st.booleans(),  # follow-up permitted (withdrawals)
        st.booleans(),  # the exit record is retired
    ),
)
participant_plans = st.fixed_dictionaries(
    {
        "first_dose": st.integers(min_value=0, max_value=200),  # days after BASE
        "given": st.booleans(),  # the actual first dose is recorded, else only planned
        "doses": st.lists(dose_plans, min_size=14, max_size=14),
        "visits": st.lists(
            st.tuples(visit_plans, st.integers(min_value=-20, max_value=20)),
            min_size=len(protocol.VISITS),
            max_size=len(protocol.VISITS),
        ),
        "exit": exits,
    }
)


@pytest.fixture
def template_visits(coordinator):
    """A visit of every code with every form, whose records the random trials copy."""
    participant = make_participant(coordinator, first_dose=timezone.localdate())
    visits = {}
    for visit_def in protocol.VISITS:
        visit = make_visit(participant, coordinator, visit_def.code)
        complete_visit(visit, coordinator)
        visits[visit_def.code] = visit
    return visits


def _copy_forms(source: Visit, target: Visit, *, every: bool) -> None:
    """Give `target` the forms of `source`: all of them, or all but one required form."""
    copied = []
    for model in (*CRF_MODELS, LabResult):
        copied += [(model, row) for row in model.objects.filter(visit=source)]
    if not every:
        copied = copied[1:]  # the first form (vital signs, or survival) is left out
    for model, row in copied:
        row.pk = None
        row.id = None
        row.visit = target
        model.objects.bulk_create([row])


def _retired(**fields):
    return {**fields, "retired_at": timezone.now(), "retired_reason": "entered in error"}


def build_trial(plans, actor, templates) -> list[Participant]:
    participants = []
    for n, plan in enumerate(plans):
        first = BASE + dt.timedelta(days=plan["first_dose"])
        screening = Screening.objects.create(
            **screening_answers(), eligible=True, created_by=actor, updated_by=actor
        )
        participant = Participant.objects.create(
            participant_id=f"RAND-{n:03d}",
            number=50_000 + n,
            screening=screening,
            enrollment_date=first - dt.timedelta(days=3),
            planned_first_dose=first,
            first_dose_date=first if plan["given"] else None,
            created_by=actor,
            updated_by=actor,
        )
        common = {"participant": participant, "created_by": actor, "updated_by": actor}
        for day, dose_plan in enumerate(plan["doses"], start=1):
            if dose_plan == "none":
                continue
            on = date_of_study_day(first, day) + dt.timedelta(days=2 * (dose_plan == "shifted"))
            values = {**common, "study_day": day, "dose_date": on, "given": "yes"}
            if dose_plan == "no":
                values.update(given="no", not_given_reason="adverse_event")
            if dose_plan == "retired":
                values = _retired(**values)
            DoseRecord.objects.create(**values)
        for visit_def, (visit_plan, shift) in zip(protocol.VISITS, plan["visits"], strict=True):
            if visit_plan == "none":
                continue
            on = date_of_study_day(first, visit_def.offset) + dt.timedelta(days=shift)
            values = {**common, "code": visit_def.code, "visit_date": on}
            if visit_plan == "retired":
                values = _retired(**values)
            visit = Visit.objects.create(**values)
            if visit_plan != "retired":
                _copy_forms(templates[visit_def.code], visit, every=visit_plan != "incomplete")
        if plan["exit"] is not None:
            kind, after, followup, retired = plan["exit"]
            values = {
                **common,
                "kind": kind,
                "exit_date": first + dt.timedelta(days=after),
            }
            if kind == "withdrawn":
                values.update(
                    decided_by="participant", reason="declined", followup_permitted=followup
                )
            if kind == "died":
                values["death_cause"] = "respiratory failure"
            if retired:
                values = _retired(**values)
            StudyExit.objects.create(**values)
        participants.append(participant)
    return participants


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(participant_plans, min_size=1, max_size=4),
    built=st.integers(min_value=-20, max_value=450),
    read=st.integers(min_value=-20, max_value=450),
)
def test_sql_states_equal_the_python_schedule_on_a_random_trial(
    coordinator, template_visits, plans, built, read
):
    with transaction.atomic():
        participants = build_trial(plans, coordinator, template_visits)
        # Built on one day, read on another: entries that stopped holding are rebuilt first.
        schedule_rebuild(
            participant_ids=[p.pk for p in Participant.objects.all()],
            today=BASE + dt.timedelta(days=built),
        )
        assert_stored_matches(BASE + dt.timedelta(days=read))
        assert participants
        transaction.set_rollback(True)


# --- Every save keeps the table in step ----------------------------------------------------------


def test_every_save_of_a_schedule_fact_rebuilds_the_participant(coordinator):
    today = timezone.localdate()
    participant = make_participant(coordinator, first_dose=today - dt.timedelta(days=20))
    assert ScheduleBuild.objects.filter(participant=participant).exists()
    assert_stored_matches(today)
    dose = make_dose(participant, coordinator, 1)
    assert ScheduleEntry.objects.get(participant=participant, code="dose-1").done_on
    record_retire(record=dose, actor=coordinator, expected_version=dose.version, reason="error")
    assert ScheduleEntry.objects.get(participant=participant, code="dose-1").done_on is None
    for day in range(1, 6):
        make_dose(participant, coordinator, day)
    visit = make_visit(participant, coordinator, "day14")
    entry = ScheduleEntry.objects.get(participant=participant, code="day14")
    assert entry.done_on == visit.visit_date and not entry.complete
    complete_visit(visit, coordinator)
    assert ScheduleEntry.objects.get(participant=participant, code="day14").complete
    assert_stored_matches(today)
    vitals = VitalSigns.objects.get(visit=visit)
    record_retire(record=vitals, actor=coordinator, expected_version=vitals.version, reason="x")
    assert not ScheduleEntry.objects.get(participant=participant, code="day14").complete
    make_exit(participant, coordinator, on=today - dt.timedelta(days=2))
    assert ScheduleBuild.objects.get(participant=participant).visits_end is not None
    assert_stored_matches(today)


def test_a_participant_crossing_the_last_planned_dosing_day_is_rebuilt_on_read(coordinator):
    today = timezone.localdate()
    participant = make_participant(coordinator, first_dose=today - dt.timedelta(days=12))
    for day in range(1, 4):
        make_dose(participant, coordinator, day)
    planned = today - dt.timedelta(days=12) + dt.timedelta(days=13)
    assert ScheduleEntry.objects.get(participant=participant, code="safety30").target == (
        planned + dt.timedelta(days=30)
    )
    later = today + dt.timedelta(days=5)  # dosing has ended: the last dose given anchors
    assert schedule_store.refresh(later) == [participant.pk]
    last_given = participant.anchor + dt.timedelta(days=2)
    assert ScheduleEntry.objects.get(participant=participant, code="safety30").target == (
        last_given + dt.timedelta(days=30)
    )
    assert schedule_store.refresh(later) == []  # nothing stale any more
    assert_stored_matches(later)
