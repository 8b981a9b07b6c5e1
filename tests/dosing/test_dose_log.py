"""The nebulization log: each rule of PROTOCOL.md section 4, and each bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from dosing.models import DoseRecord
from dosing.selectors import compliance_for, dose_grid, doses_by_participant
from enrollment.models import StudyExit
from enrollment.services import study_exit_save
from study import protocol
from tests.factories import make_participant

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def participant(coordinator):
    """A participant on study day 6 today."""
    return make_participant(coordinator, first_dose=TODAY() - dt.timedelta(days=5))


def dose_data(participant, day: int, **changes) -> dict:
    on = participant.anchor + dt.timedelta(days=day - 1)
    data = {
        "study_day": str(day),
        "dose_date": on.isoformat(),
        "date_reason": "",
        "given": "yes",
        "not_given_reason": "",
        "not_given_text": "",
        "start_time": "09:00",
        "end_time": "09:25",
        "dose_particles": "2e8",
        "dose_reason": "",
        "volume_ml": "3.0",
        "nebulizer_type": "mesh",
        "device_id": "NEB-07",
        "product_lot": "EXO-2026-031",
        "administered_by": "Nurse Huang",
        "pre_spo2": "94",
        "pre_hr": "88",
        "pre_rr": "22",
        "pre_sbp": "128",
        "pre_dbp": "76",
        "pre_o2_device": "nasal_cannula",
        "pre_o2_flow": "3",
        "pre_fio2": "0.33",
        "post_spo2": "95",
        "post_hr": "86",
        "post_rr": "21",
        "post_sbp": "126",
        "post_dbp": "74",
        "post_o2_device": "nasal_cannula",
        "post_o2_flow": "3",
        "post_fio2": "33",
        "ev_bronchospasm": "False",
        "ev_cough": "False",
        "ev_desaturation": "False",
        "ev_dyspnoea": "False",
        "ev_fever": "False",
        "ev_hypersensitivity": "False",
        "ev_haemoptysis": "False",
        "ev_haemodynamic": "False",
        "ev_notes": "",
    }
    data.update({key: str(value) for key, value in changes.items()})
    return data


def post_dose(client, participant, day: int, **changes):
    return client.post(
        f"/dosing/{participant.participant_id}/new/?day={day}",
        dose_data(participant, day, **changes),
    )


def errors(response, field: str) -> list[str]:
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors.get(field, [])


def test_a_dose_is_recorded_with_derived_duration_and_converted_fio2(
    client_for, coordinator, participant
):
    response = post_dose(client_for(coordinator), participant, 3)
    assert response.status_code == 302, response.context["form"].errors
    dose = DoseRecord.objects.get()
    assert dose.duration_minutes == 25
    assert dose.dose_particles == 200_000_000
    assert str(dose.post_fio2) == "0.33"  # typed as 33 %


@pytest.mark.parametrize("day", [0, 15])
def test_it_rejects_a_dose_outside_days_1_to_14(client_for, coordinator, participant, day):
    response = post_dose(client_for(coordinator), participant, day, date_reason="test")
    assert errors(response, "study_day") == ["Dosing happens on study days 1 to 14 only."]
    assert not DoseRecord.objects.exists()


def test_it_rejects_a_second_record_of_the_same_day(client_for, coordinator, participant):
    client = client_for(coordinator)
    assert post_dose(client, participant, 2).status_code == 302
    response = client.post(
        f"/dosing/{participant.participant_id}/new/?day=3", dose_data(participant, 2)
    )
    assert errors(response, "study_day") == ["Day 2 is already recorded for this participant."]
    assert DoseRecord.objects.count() == 1


def test_it_rejects_a_date_that_does_not_match_the_day_without_a_reason(
    client_for, coordinator, participant
):
    client = client_for(coordinator)
    wrong = participant.anchor + dt.timedelta(days=3)  # day 4's date for day 3
    response = post_dose(client, participant, 3, dose_date=wrong.isoformat())
    assert errors(response, "date_reason")[0].startswith("Day 3 falls on")
    assert wrong.isoformat() in response.content.decode()
    response = post_dose(
        client, participant, 3, dose_date=wrong.isoformat(), date_reason="given after midnight"
    )
    assert response.status_code == 302


def test_it_rejects_a_partial_dose_without_reason(client_for, coordinator, participant):
    response = post_dose(client_for(coordinator), participant, 2, given="partial")
    assert errors(response, "not_given_reason") == [
        "Give the reason the dose was not given in full."
    ]


def test_it_rejects_an_end_time_before_the_start(client_for, coordinator, participant):
    response = post_dose(
        client_for(coordinator), participant, 2, start_time="10:00", end_time="09:40"
    )
    assert errors(response, "end_time") == ["The end time must be after the start time."]
    assert 'value="09:40"' in response.content.decode()


def test_it_rejects_an_spo2_of_101(client_for, coordinator, participant):
    response = post_dose(client_for(coordinator), participant, 2, post_spo2=101)
    assert errors(response, "post_spo2") == ["Not possible: must be within 50 to 100 %."]


def test_an_unusual_spo2_needs_a_confirmation_and_is_flagged(client_for, coordinator, participant):
    client = client_for(coordinator)
    response = post_dose(client, participant, 2, pre_spo2=76, post_spo2=78)
    assert errors(response, "pre_spo2")[0].startswith("Unusual value")
    assert 'name="confirm_unusual"' in response.content.decode()
    response = post_dose(client, participant, 2, pre_spo2=76, post_spo2=78, confirm_unusual="on")
    assert response.status_code == 302
    assert DoseRecord.objects.get().soft_range_fields == ["post_spo2", "pre_spo2"]


def test_a_different_dose_needs_a_reason(client_for, coordinator, participant):
    response = post_dose(client_for(coordinator), participant, 2, dose_particles="1.5e8")
    assert errors(response, "dose_reason")


def test_it_rejects_a_dose_before_enrollment(client_for, coordinator, participant):
    early = participant.enrollment_date - dt.timedelta(days=1)
    response = post_dose(client_for(coordinator), participant, 1, dose_date=early.isoformat())
    assert errors(response, "dose_date")[0].startswith("No dose can be recorded before enrollment")


def test_it_rejects_a_dose_after_withdrawal(client_for, coordinator, participant):
    study_exit_save(
        study_exit=StudyExit(
            participant=participant,
            kind="withdrawn",
            exit_date=participant.anchor + dt.timedelta(days=2),
            decided_by="participant",
            reason="declined further nebulization",
            followup_permitted=True,
        ),
        actor=coordinator,
    )
    response = post_dose(client_for(coordinator), participant, 4)
    assert errors(response, "dose_date")[0].startswith(
        "No dose can be recorded after the participant left"
    )


def test_the_first_dose_sets_study_day_1(client_for, coordinator):
    participant = make_participant(coordinator, first_dose=TODAY() + dt.timedelta(days=1))
    given_today = TODAY()
    response = post_dose(client_for(coordinator), participant, 1, dose_date=given_today.isoformat())
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.first_dose_date == given_today


def test_the_database_refuses_day_15_and_spo2_101(coordinator, participant):
    base = {
        "participant": participant,
        "dose_date": TODAY(),
        "given": "yes",
        "created_by": coordinator,
        "updated_by": coordinator,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseRecord.objects.create(study_day=15, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseRecord.objects.create(study_day=2, post_spo2=101, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseRecord.objects.create(study_day=3, **{**base, "given": "partial"})
    DoseRecord.objects.create(study_day=4, **base)
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseRecord.objects.create(study_day=4, **base)


@pytest.mark.parametrize(
    ("pre", "post", "desaturation"),
    [
        (94, 90, True),
        (94, 91, False),
        (90, 87, True),
        (None, 87, True),
        (None, 90, False),
        (95, None, False),
    ],
)
def test_desaturation_is_a_drop_of_4_points_or_spo2_below_88(pre, post, desaturation):
    dose = DoseRecord(pre_spo2=pre, post_spo2=post)
    assert dose.desaturation_computed is desaturation
    assert ("Hypoxia" in [term for _label, term in dose.inhalation_events]) is desaturation


def test_an_inhalation_event_prompts_an_adverse_event_report(client_for, coordinator, participant):
    client = client_for(coordinator)
    response = post_dose(client, participant, 2, pre_spo2=94, post_spo2=89, ev_cough="True")
    page = client.get(response["Location"]).content.decode()
    assert "Inhalation event on day 2" in page
    assert "Report it as an adverse event" in page


def make_dose(participant, actor, day: int, **fields) -> DoseRecord:
    from dosing.services import dose_record

    values = {
        "participant": participant,
        "study_day": day,
        "dose_date": participant.anchor + dt.timedelta(days=day - 1),
        "given": "yes",
        "start_time": dt.time(9),
        "end_time": dt.time(9, 20),
        "dose_particles": protocol.DOSE_PARTICLES_DEFAULT,
    }
    values.update(fields)
    return dose_record(dose=DoseRecord(**values), actor=actor)


def test_compliance_counts_given_partial_not_given_and_missed_days(coordinator, participant):
    # Study day 6 today: days 1 to 5 are due.
    make_dose(participant, coordinator, 1)
    make_dose(
        participant,
        coordinator,
        2,
        given="partial",
        not_given_reason="intolerance",
        dose_particles=100_000_000,
        dose_reason="stopped early",
    )
    make_dose(
        participant,
        coordinator,
        3,
        given="no",
        not_given_reason="refused",
        start_time=None,
        end_time=None,
        dose_particles=None,
    )
    make_dose(participant, coordinator, 5)
    # day 4 has no record: missed; day 6 (today) is not yet due.
    doses = doses_by_participant([participant.pk])[participant.pk]
    result = compliance_for(participant, doses, TODAY())
    assert (result.due, result.given, result.full, result.partial, result.not_given) == (
        5,
        3,
        2,
        1,
        1,
    )
    assert result.missed == [4]
    assert result.percent == 60
    assert result.total_particles == 500_000_000
    assert [(i.day, i.reason) for i in result.interruptions] == [
        (2, "Intolerance"),
        (3, "Participant refused"),
    ]
    from outcomes.selectors import schedule_of

    schedule = schedule_of(participant, TODAY(), doses, [])
    states = [cell.state for cell in dose_grid(schedule, doses)]
    assert states[:7] == ["yes", "partial", "no", "missed", "yes", "due", "upcoming"]


def test_a_full_course_is_14_of_14_in_full(coordinator):
    participant = make_participant(coordinator, first_dose=TODAY() - dt.timedelta(days=20))
    for day in range(1, 15):
        make_dose(participant, coordinator, day)
    doses = doses_by_participant([participant.pk])[participant.pk]
    result = compliance_for(participant, doses, TODAY())
    assert result.full_course and result.due == 14 and result.percent == 100


def test_a_correction_after_submission_needs_a_reason_and_shows_in_the_history(
    client_for, coordinator, participant
):
    dose = make_dose(participant, coordinator, 2)
    client = client_for(coordinator)
    data = dose_data(participant, 2, end_time="09:30", version=dose.version)
    response = client.post(dose.get_absolute_url(), data)
    assert errors(response, "reason_for_change") == ["This field is required."]
    response = client.post(
        dose.get_absolute_url(), {**data, "reason_for_change": "end time misread"}
    )
    assert response.status_code == 302
    history = client.get(dose.history_url()).content.decode()
    assert "end time misread" in history


@pytest.mark.parametrize("persona", ["monitor", "dsmb_member"])
def test_roles_without_data_entry_cannot_record_doses(request, client_for, participant, persona):
    client = client_for(request.getfixturevalue(persona))
    assert post_dose(client, participant, 2).status_code == 403


def test_a_new_dose_form_proposes_the_date_dose_and_yesterdays_device(
    client_for, coordinator, participant
):
    make_dose(participant, coordinator, 1, device_id="NEB-03", product_lot="LOT-9", volume_ml=4)
    response = client_for(coordinator).get(f"/dosing/{participant.participant_id}/new/")
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert initial["study_day"] == 2
    assert initial["dose_date"] == participant.anchor + dt.timedelta(days=1)
    assert initial["dose_particles"] == protocol.DOSE_PARTICLES_DEFAULT
    assert (initial["device_id"], initial["product_lot"], initial["volume_ml"]) == (
        "NEB-03",
        "LOT-9",
        4,
    )


def test_opening_a_recorded_day_as_new_goes_to_its_record(client_for, coordinator, participant):
    dose = make_dose(participant, coordinator, 1)
    response = client_for(coordinator).get(f"/dosing/{participant.participant_id}/new/?day=1")
    assert response.status_code == 302
    assert response["Location"] == dose.get_absolute_url()
