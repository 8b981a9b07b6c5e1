"""The safety dashboard's figures equal what the Python rules compute, on randomized trials.

The reference is the per-record Python code the single-record pages use: `AdverseEvent.worst_grade`
(the grade history), `safety.clocks.clocks` and `Clock.state`, `dosing.selectors.compliance_for`
and `safety.selectors.endpoint_window`. The dashboard computes the same figures for every
participant at once, so whatever it runs on, it must give these answers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosing.models import DoseRecord
from dosing.selectors import compliance_for, doses_by_participant, last_dose_given
from enrollment.models import Participant, Screening, StudyExit
from safety import selectors
from safety.clocks import clocks
from safety.models import RELATED, AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport
from tests.factories import screening_answers

pytestmark = pytest.mark.django_db

GIVEN = st.sampled_from(["yes", "partial", "no"])
RELATEDNESS = st.sampled_from(
    ["definitely", "probably", "possibly", "possibly_not", "definitely_not"]
)

AE = st.fixed_dictionaries(
    {
        "grade": st.integers(1, 5),
        "onset": st.integers(-5, 60),  # days after the anchor
        "serious": st.sampled_from(
            [None, "sae_death", "sae_life_threatening", "sae_hospitalisation"]
        ),
        "outcome": st.sampled_from(["recovering", "recovered", "fatal"]),
        "assessment": st.none() | st.tuples(RELATEDNESS, st.booleans()),
        "aware_hours_ago": st.integers(0, 24 * 20),
        "retired": st.sampled_from([False, False, False, True]),
        "follow_ups": st.lists(st.tuples(st.integers(1, 5), st.booleans()), max_size=3),
        # (kind, hours after awareness, retired)
        "reports": st.lists(
            st.tuples(
                st.sampled_from(["initial", "susar"]), st.integers(-2, 24 * 20), st.booleans()
            ),
            max_size=3,
        ),
    }
)

PARTICIPANT = st.fixed_dictionaries(
    {
        "anchor": st.integers(-60, 5),  # days from today
        "dosed": st.booleans(),  # the first dose is recorded (else only planned)
        "exit": st.none() | st.tuples(st.integers(0, 30), st.booleans()),  # (day, retired)
        "doses": st.dictionaries(st.integers(1, 14), st.tuples(GIVEN, st.booleans()), max_size=14),
        "aes": st.lists(AE, max_size=4),
    }
)


def build(trial: list[dict], actor, now: dt.datetime) -> None:
    """Insert the trial directly (bulk), as the services would have stored it."""
    today = timezone.localdate(now)
    cough = CtcaeTerm.objects.get(term="Cough")
    by = {"created_by": actor, "updated_by": actor}
    for n, spec in enumerate(trial):
        anchor = today + dt.timedelta(days=spec["anchor"])
        screening = Screening.objects.create(**screening_answers(), eligible=True, **by)
        participant = Participant.objects.create(
            participant_id=f"P-{n:03d}",
            number=n + 1,
            screening=screening,
            enrollment_date=anchor - dt.timedelta(days=1),
            planned_first_dose=anchor,
            first_dose_date=anchor if spec["dosed"] else None,
            **by,
        )
        if spec["exit"] is not None:
            day, retired = spec["exit"]
            StudyExit.objects.create(
                participant=participant,
                kind="completed",
                exit_date=anchor + dt.timedelta(days=day),
                retired_at=now if retired else None,
                **by,
            )
        for day, (given_, retired) in spec["doses"].items():
            DoseRecord.objects.create(
                participant=participant,
                study_day=day,
                dose_date=anchor + dt.timedelta(days=day - 1),
                given=given_,
                not_given_reason="" if given_ == "yes" else "intolerance",
                start_time=dt.time(9),
                retired_at=now if retired else None,
                **by,
            )
        for number, ae in enumerate(spec["aes"], start=1):
            onset = anchor + dt.timedelta(days=ae["onset"])
            fatal = ae["outcome"] == "fatal"
            fields = {
                "participant": participant,
                "number": number,
                "verbatim_term": "cough",
                "term": cough,
                "onset_date": onset,
                "grade": ae["grade"],
                "serious": ae["serious"] is not None,
                "action_taken": "none",
                "outcome": ae["outcome"],
                "ongoing": ae["outcome"] == "recovering",
                "end_date": None if ae["outcome"] == "recovering" else onset + dt.timedelta(days=1),
                "death_date": onset + dt.timedelta(days=1) if fatal else None,
                "awareness_at": now - dt.timedelta(hours=ae["aware_hours_ago"]),
                "retired_at": now if ae["retired"] else None,
                **by,
            }
            if ae["serious"]:
                fields[ae["serious"]] = True
            if ae["assessment"]:
                relatedness, expected = ae["assessment"]
                fields.update(
                    rel_study_drug=relatedness,
                    rel_background="possibly_not",
                    expected=expected,
                    assessed_by=actor,
                    assessed_at=now,
                )
            event = AdverseEvent.objects.create(**fields)
            for k, (grade, retired) in enumerate(ae["follow_ups"]):
                AeFollowUp.objects.create(
                    adverse_event=event,
                    on_date=onset + dt.timedelta(days=k + 1),
                    grade=grade,
                    retired_at=now if retired else None,
                    **by,
                )
            for kind, hours, retired in ae["reports"]:
                SafetyReport.objects.create(
                    adverse_event=event,
                    kind=kind,
                    sent_at=event.awareness_at + dt.timedelta(hours=hours),
                    sent_to="sponsor",
                    retired_at=now if retired else None,
                    **by,
                )


def expected(now: dt.datetime) -> dict:
    """Every figure, from the per-record Python rules."""
    today = timezone.localdate(now)
    participants = list(Participant.objects.select_related("exit").order_by("number"))
    doses = doses_by_participant()
    events = [
        ae
        for ae in AdverseEvent.objects.select_related("participant").order_by("pk")
        if not ae.is_retired
    ]
    worst = {ae.pk: ae.worst_grade for ae in events}
    by_participant: dict[int, dict[int, list[int]]] = {
        p.pk: {grade: [0, 0] for grade in range(1, 6)} for p in participants
    }
    totals = {grade: [0, 0] for grade in range(1, 6)}
    in_window = 0
    windows = {
        p.pk: selectors.endpoint_window(p, last_dose_given(doses.get(p.pk, {})))
        for p in participants
    }
    for ae in events:
        related = ae.rel_study_drug in RELATED
        for counts in (by_participant[ae.participant_id][worst[ae.pk]], totals[worst[ae.pk]]):
            counts[0] += 1
            counts[1] += related
        window = windows[ae.participant_id]
        in_window += bool(window and window[0] <= ae.onset_date <= window[1])
    clock_states = {}
    for ae in events:
        reports = list(SafetyReport.objects.filter(adverse_event=ae))
        for clock in clocks(ae, reports):
            clock_states[(ae.pk, clock.code)] = (
                clock.due_at,
                clock.reported_at,
                clock.state(now),
            )
    compliance = {}
    for p in participants:
        c = compliance_for(p, doses.get(p.pk, {}), today)
        compliance[p.pk] = (c.due, c.given, c.percent)
    per_participant = {}
    for p in participants:
        mine = [ae for ae in events if ae.participant_id == p.pk]
        per_participant[p.pk] = (
            len(mine),
            sum(ae.serious for ae in mine),
            sum(ae.rel_study_drug in RELATED for ae in mine),
            max((worst[ae.pk] for ae in mine), default=None),
        )
    awaiting = {ae.pk for ae in events if not ae.is_assessed}
    return {
        "worst": worst,
        "by_participant": by_participant,
        "per_participant": per_participant,
        "totals": totals,
        "in_window": in_window,
        "clocks": clock_states,
        "awaiting": awaiting,
        "counts": (
            len(events),
            len(awaiting),
            sum(1 for ae in events if ae.serious and ae.ongoing),
            sum(1 for ae in events if ae.susar),
        ),
        "compliance": compliance,
    }


def observed(now: dt.datetime) -> dict:
    """The same figures, as the dashboard computes them (in the database)."""
    from dosing.selectors import Compliance

    filters = selectors.Filters()
    today = timezone.localdate(now)
    events = list(selectors.events(filters, now))
    summary = selectors.summary(selectors.events(filters, now))
    people = list(selectors.participants(filters, now, today))
    rows = selectors.participant_rows(people, filters, now)
    clock_states = {
        (row.ae.pk, row.clock.code): (row.clock.due_at, row.clock.reported_at, row.state)
        for row in selectors.clock_rows(selectors.clocks(filters, now))
    }
    # The clock columns of each event say the same as the clock rows.
    for ae in events:
        for code in ("initial", "susar"):
            due, sent, state = (getattr(ae, f"{code}_{part}") for part in ("due", "sent", "state"))
            if due is None:  # the clock does not run
                assert state is None and (ae.pk, code) not in clock_states
            else:
                assert (due, sent, state) == clock_states[(ae.pk, code)]
    awaiting = selectors.events(selectors.Filters(assessed=False), now)
    return {
        "worst": {ae.pk: ae.worst_grade for ae in events},
        "by_participant": {row.participant.pk: row.by_grade for row in rows},
        "per_participant": {
            p.pk: (p.ae_count, p.sae_count, p.related_count, p.worst) for p in people
        },
        "totals": summary.totals_by_grade,
        "in_window": summary.in_window,
        "clocks": clock_states,
        "awaiting": {ae.pk for ae in awaiting},
        "counts": (summary.events, summary.awaiting, summary.open_saes, summary.susars),
        "compliance": {
            p.pk: (p.dose_due, p.dose_given, Compliance(due=p.dose_due, given=p.dose_given).percent)
            for p in people
        },
    }


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@given(trial=st.lists(PARTICIPANT, min_size=1, max_size=4))
def test_the_dashboard_figures_equal_the_python_rules(trial, coordinator):
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        build(trial, coordinator, now)
        want, got = expected(now), observed(now)
        transaction.set_rollback(True)
    for key in want:
        assert got[key] == want[key], key


def test_the_parity_check_sees_clocks_follow_ups_and_doses(coordinator):
    """The reference itself: one SUSAR with a later worse grade and a late report."""
    now = timezone.now().replace(microsecond=0)
    trial = [
        {
            "anchor": -20,
            "dosed": True,
            "exit": None,
            "doses": {1: ("yes", False), 2: ("partial", False), 3: ("no", False)},
            "aes": [
                {
                    "grade": 2,
                    "onset": 1,
                    "serious": "sae_life_threatening",
                    "outcome": "recovering",
                    "assessment": ("probably", False),
                    "aware_hours_ago": 24 * 10,
                    "retired": False,
                    "follow_ups": [(4, False), (5, True)],
                    "reports": [("initial", 30, False)],
                }
            ],
        }
    ]
    build(trial, coordinator, now)
    want = expected(now)
    (pk,) = want["worst"]
    assert want["worst"][pk] == 4  # the retired grade 5 does not count
    assert want["clocks"][(pk, "initial")][2] == "late"
    assert want["clocks"][(pk, "susar")][2] == "overdue"  # 7 days: life-threatening
    (compliance,) = want["compliance"].values()
    assert compliance == (14, 2, 14)  # days 4 to 14 passed without a record
    assert want == observed(now)
    grouped = defaultdict(int)
    for key in want["clocks"]:
        grouped[key[1]] += 1
    assert grouped == {"initial": 1, "susar": 1}
