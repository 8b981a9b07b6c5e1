"""Enrollment and end-of-study rules hold on edit as on create, in the form and the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crf.rules import rule_errors
from enrollment import rules
from enrollment.models import StudyExit
from enrollment.services import participant_enroll, participant_update, study_exit_save
from tests.factories import make_consent, make_participant, make_screening

pytestmark = pytest.mark.django_db


def _dates():
    today = timezone.localdate()
    screened = today - dt.timedelta(days=5)
    return {
        "TODAY": today,
        "TOMORROW": today + dt.timedelta(days=1),
        "S": screened,
        "S-1": screened - dt.timedelta(days=1),
        "S-2": screened - dt.timedelta(days=2),
        "S+2": screened + dt.timedelta(days=2),
        "S+15": screened + dt.timedelta(days=15),
    }


def _resolve(changes: dict) -> dict:
    dates = _dates()
    return {key: dates.get(value, value) for key, value in changes.items()}


@pytest.fixture
def screening(coordinator):
    """A consented screen (consent the day before screening), screened five days ago."""
    screening = make_screening(coordinator, screening_date=_dates()["S"])
    make_consent(screening, coordinator)
    return screening


BOTH, CREATE, EDIT = ("create", "edit"), ("create",), ("edit",)
# (modes, changes, field, code) over enrollment on day S with the first dose planned on S+2.
PARTICIPANT_CASES = [
    (BOTH, {"planned_first_dose": "S-1"}, "planned_first_dose", "before_enrollment"),
    (BOTH, {"planned_first_dose": "S-2"}, "planned_first_dose", "before_consent"),
    (BOTH, {"planned_first_dose": "S+15"}, "planned_first_dose", "screening_window"),
    (CREATE, {"enrollment_date": "TOMORROW"}, "enrollment_date", "future"),
    (CREATE, {"enrollment_date": "S-2"}, "enrollment_date", "before_consent"),
    (EDIT, {"first_dose_date": "S-1"}, "first_dose_date", "before_enrollment"),
    (EDIT, {"first_dose_date": "TOMORROW"}, "first_dose_date", "future"),
]
PARTICIPANT_PARAMS = [
    pytest.param(mode, changes, field, code, id=f"{mode}-{field}-{code}")
    for modes, changes, field, code in PARTICIPANT_CASES
    for mode in modes
]


@pytest.mark.parametrize(("mode", "changes", "field", "code"), PARTICIPANT_PARAMS)
def test_the_service_holds_each_enrollment_rule(coordinator, screening, mode, changes, field, code):
    values = _resolve({"enrollment_date": "S", "planned_first_dose": "S+2", **changes})
    with pytest.raises(ValidationError) as refused:
        if mode == "create":
            participant_enroll(screening=screening, actor=coordinator, **values)
        else:
            participant = participant_enroll(
                screening=screening, actor=coordinator, **_resolve(
                    {"enrollment_date": "S", "planned_first_dose": "S+2"}
                )
            )  # fmt: skip
            for name, value in values.items():
                setattr(participant, name, value)
            participant_update(
                participant=participant,
                actor=coordinator,
                expected_version=participant.version,
                reason="correction",
            )
    assert code in [error.code for error in refused.value.error_dict[field]]


@pytest.mark.parametrize(("mode", "changes", "field", "code"), PARTICIPANT_PARAMS)
def test_the_forms_show_each_enrollment_rule_at_its_field(
    client_for, coordinator, screening, mode, changes, field, code
):
    client = client_for(coordinator)
    values = _resolve({"enrollment_date": "S", "planned_first_dose": "S+2", **changes})
    data = {name: value.isoformat() for name, value in values.items()}
    if mode == "create":
        response = client.post(f"/screening/{screening.pk}/enroll/", data)
    else:
        participant = participant_enroll(
            screening=screening, actor=coordinator, **_resolve(
                {"enrollment_date": "S", "planned_first_dose": "S+2"}
            )
        )  # fmt: skip
        data.pop("enrollment_date")
        data.update(version=str(participant.version), reason_for_change="correction")
        response = client.post(f"/participants/{participant.participant_id}/edit/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert code in [error.code for error in errors.get(field, [])], errors


WITHDRAWN = {
    "kind": "withdrawn",
    "exit_date": "TODAY",
    "decided_by": "participant",
    "reason": "declined further nebulization",
    "followup_permitted": True,
    "last_contact_date": None,
    "death_cause": "",
}
EXIT_CASES = [
    ({"exit_date": "TOMORROW"}, "exit_date", "future"),
    ({"exit_date": "S-1"}, "exit_date", "before_enrollment"),
    ({"decided_by": ""}, "decided_by", "required"),
    ({"reason": ""}, "reason", "required"),
    ({"followup_permitted": None}, "followup_permitted", "required"),
    ({"kind": "died", "death_cause": ""}, "death_cause", "required"),
    ({"kind": "lost", "last_contact_date": None}, "last_contact_date", "required"),
    (
        {"kind": "lost", "exit_date": "S+2", "last_contact_date": "TODAY"},
        "last_contact_date",
        "order",
    ),
]
EXIT_IDS = [f"{field}-{code}" for _changes, field, code in EXIT_CASES]


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=_dates()["S+2"], screening_date=_dates()["S"])


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), EXIT_CASES, ids=EXIT_IDS)
def test_the_service_holds_each_end_of_study_rule(
    coordinator, participant, mode, changes, field, code
):
    study_exit = StudyExit(participant=participant, **_resolve(WITHDRAWN))
    expected_version = None
    if mode == "edit":
        study_exit = study_exit_save(study_exit=study_exit, actor=coordinator)
        expected_version = study_exit.version
    for name, value in _resolve(changes).items():
        setattr(study_exit, name, value)
    with pytest.raises(ValidationError) as refused:
        study_exit_save(
            study_exit=study_exit,
            actor=coordinator,
            expected_version=expected_version,
            reason="correction",
        )
    assert code in [error.code for error in refused.value.error_dict[field]]


def _form_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), EXIT_CASES, ids=EXIT_IDS)
def test_the_end_of_study_form_shows_each_rule_at_its_field(
    client_for, coordinator, participant, mode, changes, field, code
):
    url = f"/participants/{participant.participant_id}/exit/"
    data = {name: _form_value(value) for name, value in _resolve({**WITHDRAWN, **changes}).items()}
    if mode == "edit":
        study_exit = study_exit_save(
            study_exit=StudyExit(participant=participant, **_resolve(WITHDRAWN)),
            actor=coordinator,
        )
        data.update(version=str(study_exit.version), reason_for_change="correction")
    response = client_for(coordinator).post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert code in [error.code for error in errors.get(field, [])], errors


def test_the_enrollment_rules_read_a_plain_dict():
    day = dt.date(2026, 3, 10)
    enrolled = {
        "enrollment_date": day,
        "planned_first_dose": day + dt.timedelta(days=2),
        "consent_date": day - dt.timedelta(days=1),
        "screening_date": day - dt.timedelta(days=3),
    }
    assert rule_errors(enrolled, rules.PARTICIPANT_RULES) == {}
    late = rule_errors(
        {**enrolled, "planned_first_dose": day + dt.timedelta(days=20)}, rules.PARTICIPANT_RULES
    )
    assert [error.code for error in late["planned_first_dose"]] == ["screening_window"]
    died = rule_errors({"kind": "died", "exit_date": day}, rules.STUDY_EXIT_RULES)
    assert list(died) == ["death_cause"]
