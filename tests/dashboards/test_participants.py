"""Participant list, casebook, study status changes and the CONSORT flow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboards.selectors import consort
from enrollment.models import Failure
from tests.factories import bulk_participants, make_participant, make_screening

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [10, 1000])
def test_the_participant_list_issues_a_fixed_number_of_queries(
    client_for, coordinator, django_assert_max_num_queries, count
):
    bulk_participants(coordinator, count)
    client = client_for(coordinator)
    # The stale-schedule check, the paginator's count, the page, its next items and last visits.
    with django_assert_max_num_queries(14):
        response = client.get("/participants/")
    assert response.status_code == 200
    # One page of 50, whatever the number of participants.
    assert response.content.decode().count(">BULK-") == min(count, 50)


@pytest.mark.parametrize("count", [10, 1000])
def test_the_screening_log_issues_a_fixed_number_of_queries(
    client_for, coordinator, django_assert_max_num_queries, count
):
    bulk_participants(coordinator, count)
    client = client_for(coordinator)
    with django_assert_max_num_queries(11):
        assert client.get("/screening/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/consort/").status_code == 200


def test_the_list_shows_status_study_day_and_next_due_item(client_for, coordinator):
    today = timezone.localdate()
    make_participant(coordinator, first_dose=today + dt.timedelta(days=2))
    html = client_for(coordinator).get("/participants/").content.decode()
    assert "MDA5-001" in html
    assert "On study" in html
    assert ">-2<" in html  # two days before day 1
    assert "Baseline" in html


def test_recording_the_actual_first_dose_re_anchors_the_casebook(client_for, coordinator):
    today = timezone.localdate()
    participant = make_participant(coordinator, first_dose=today + dt.timedelta(days=2))
    client = client_for(coordinator)
    response = client.post(
        f"/participants/{participant.participant_id}/edit/",
        {
            "planned_first_dose": participant.planned_first_dose.isoformat(),
            "first_dose_date": today.isoformat(),
            "version": participant.version,
            "reason_for_change": "first dose given today",
        },
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    from outcomes.selectors import schedules

    day28 = schedules([participant], today)[participant.pk].get("day28")
    assert day28.target == today + dt.timedelta(days=27)
    html = client.get(participant.get_absolute_url()).content.decode()
    assert (today + dt.timedelta(days=27)).isoformat() in html
    assert "study day 1 today" in html


def test_a_first_dose_in_the_future_is_refused(client_for, coordinator):
    participant = make_participant(coordinator)
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/edit/",
        {
            "planned_first_dose": participant.planned_first_dose.isoformat(),
            "first_dose_date": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
            "version": participant.version,
            "reason_for_change": "x",
        },
    )
    assert response.context["form"].errors["first_dose_date"] == ["This date is in the future."]


def exit_url(participant) -> str:
    return f"/participants/{participant.participant_id}/exit/"


def test_a_withdrawal_needs_who_decided_why_and_whether_follow_up_continues(
    client_for, coordinator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    client = client_for(coordinator)
    response = client.post(
        exit_url(participant), {"kind": "withdrawn", "exit_date": timezone.localdate().isoformat()}
    )
    errors = response.context["form"].errors
    assert set(errors) >= {"decided_by", "reason", "followup_permitted"}
    response = client.post(
        exit_url(participant),
        {
            "kind": "withdrawn",
            "exit_date": timezone.localdate().isoformat(),
            "decided_by": "participant",
            "reason": "moved to another city",
            "followup_permitted": "True",
        },
    )
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.study_status == "withdrawn"
    html = client.get("/participants/").content.decode()
    assert "Withdrawn" in html


def test_a_death_needs_its_cause(client_for, coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=20)
    )
    response = client_for(coordinator).post(
        exit_url(participant), {"kind": "died", "exit_date": timezone.localdate().isoformat()}
    )
    assert response.context["form"].errors["death_cause"] == ["Required for this status."]


def test_an_exit_before_enrollment_or_in_the_future_is_refused(client_for, coordinator):
    participant = make_participant(coordinator)
    client = client_for(coordinator)
    for day, message in (
        (participant.enrollment_date - dt.timedelta(days=1), "This date is before enrollment."),
        (timezone.localdate() + dt.timedelta(days=1), "This date is in the future."),
    ):
        response = client.post(
            exit_url(participant), {"kind": "completed", "exit_date": day.isoformat()}
        )
        assert message in response.context["form"].errors["exit_date"]


def test_the_consort_flow_counts_screens_failures_and_outcomes(coordinator):
    today = timezone.localdate()
    failed = make_screening(coordinator, pulmonary_embolism=True)
    make_screening(coordinator, pulmonary_embolism=True, previous_screening=failed)  # same person
    make_screening(coordinator, rpild_confirmed=False, extracorporeal_support=True)
    make_screening(coordinator)  # eligible, not enrolled
    make_participant(coordinator, first_dose=today - dt.timedelta(days=40))
    make_participant(coordinator)  # awaiting first dose

    flow = consort(today)
    assert (flow.screens, flow.persons, flow.rescreens) == (6, 5, 1)
    assert flow.failed == 2
    assert dict(flow.failure_reasons) == {
        str(Failure.EMBOLISM.label): 1,
        str(Failure.NO_RPILD.label): 1,
        str(Failure.ECMO.label): 1,
    }
    assert flow.eligible_not_enrolled == 1
    assert (flow.enrolled, flow.dosed, flow.on_study) == (2, 1, 2)
    assert dict(flow.reached)["Day 28"] == 1
    assert dict(flow.reached)["Month 3"] == 0


def test_the_casebook_links_every_form_to_its_history(client_for, coordinator):
    participant = make_participant(coordinator)
    html = client_for(coordinator).get(participant.get_absolute_url()).content.decode()
    assert participant.screening.history_url() in html
    assert participant.screening.consent.history_url() in html
    assert participant.history_url() in html


def test_after_a_death_later_visits_are_not_expected(client_for, coordinator):
    from enrollment.models import StudyExit
    from enrollment.services import study_exit_save

    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=40)
    )
    study_exit_save(
        study_exit=StudyExit(
            participant=participant,
            kind="died",
            exit_date=participant.anchor + dt.timedelta(days=20),
            death_cause="respiratory failure",
        ),
        actor=coordinator,
    )
    participant.refresh_from_db()
    assert participant.expected_until == participant.anchor + dt.timedelta(days=20)
    html = client_for(coordinator).get(participant.get_absolute_url()).content.decode()
    assert html.count("not expected") >= 5  # day 28 onwards


def test_the_consort_flow_names_the_visits_before_anyone_is_dosed(coordinator):
    make_participant(coordinator)  # awaiting first dose
    from django.utils import translation

    reached = dict(consort(timezone.localdate()).reached)
    assert reached["Day 28"] == 0 and "day28" not in reached
    # The labels read in the language of the page or report that shows them.
    with translation.override("zh-hans"):
        assert [str(label) for label in reached][:2] == ["第 28 天", "第 3 个月"]
