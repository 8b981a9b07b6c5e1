"""Dose-record rules hold on edit as on create, in the form and in the service (§4, §9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crf.rules import rule_errors
from dosing import rules
from dosing.models import DoseRecord
from dosing.services import dose_record
from tests.dosing.test_dose_log import dose_data, make_dose
from tests.factories import make_participant

pytestmark = pytest.mark.django_db

DAY = 2


@pytest.fixture
def participant(coordinator):
    """A participant on study day 6 today."""
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5))


# (changes, field, code): every rule of the dose form, by model values.
CASES = [
    ({"study_day": 15}, "study_day", "study_day"),
    ({"dose_date": "TOMORROW", "date_reason": "late entry"}, "dose_date", "future"),
    ({"dose_date": "DAY_4"}, "date_reason", "date_mismatch"),
    ({"given": "partial", "not_given_reason": ""}, "not_given_reason", "required"),
    (
        {"given": "no", "not_given_reason": "other", "not_given_text": ""},
        "not_given_text",
        "required",
    ),
    ({"start_time": None}, "start_time", "required"),
    ({"dose_particles": None}, "dose_particles", "required"),
    ({"end_time": dt.time(8, 50)}, "end_time", "order"),
    ({"dose_particles": 100_000_000}, "dose_reason", "dose_reason"),
    ({"pre_sbp": 90, "pre_dbp": 95}, "pre_dbp", "bp_order"),
    ({"post_sbp": 90, "post_dbp": 90}, "post_dbp", "bp_order"),
]
CASE_IDS = [f"{field}-{code}" for _changes, field, code in CASES]


def _resolve(participant, changes: dict) -> dict:
    tokens = {
        "TOMORROW": timezone.localdate() + dt.timedelta(days=1),
        "DAY_4": participant.anchor + dt.timedelta(days=3),
    }
    return {key: tokens.get(value, value) for key, value in changes.items()}


def _post(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()[:5] if isinstance(value, dt.time) else value.isoformat()
    return str(value)


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), CASES, ids=CASE_IDS)
def test_the_service_holds_each_dose_rule_on_create_and_on_edit(
    coordinator, participant, mode, changes, field, code
):
    changes = _resolve(participant, changes)
    if mode == "create":
        dose = DoseRecord(
            participant=participant,
            study_day=DAY,
            dose_date=participant.anchor + dt.timedelta(days=DAY - 1),
            given="yes",
            start_time=dt.time(9),
            end_time=dt.time(9, 20),
            dose_particles=200_000_000,
        )
        expected_version = None
    else:
        dose = make_dose(participant, coordinator, DAY)
        expected_version = dose.version
    for name, value in changes.items():
        setattr(dose, name, value)
    with pytest.raises(ValidationError) as refused:
        dose_record(
            dose=dose, actor=coordinator, expected_version=expected_version, reason="correction"
        )
    assert code in [error.code for error in refused.value.error_dict[field]]


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), CASES, ids=CASE_IDS)
def test_the_form_shows_each_dose_rule_at_its_field_on_create_and_on_edit(
    client_for, coordinator, participant, mode, changes, field, code
):
    client = client_for(coordinator)
    data = dose_data(
        participant, DAY, **{k: _post(v) for k, v in _resolve(participant, changes).items()}
    )
    if mode == "create":
        url = f"/dosing/{participant.participant_id}/new/?day={DAY}"
    else:
        dose = make_dose(participant, coordinator, DAY)
        url = f"/dosing/{participant.participant_id}/day/{DAY}/"
        data.update(version=str(dose.version), reason_for_change="correction")
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert code in [error.code for error in errors.get(field, [])], errors


def test_the_dose_rules_read_a_plain_dict():
    anchor = dt.date(2026, 3, 1)
    dose = {
        "study_day": 3,
        "dose_date": dt.date(2026, 3, 3),
        "given": "yes",
        "start_time": dt.time(9),
        "end_time": dt.time(9, 20),
        "dose_particles": 200_000_000,
        "anchor": anchor,
    }
    assert rule_errors(dose, rules.DOSE_RULES) == {}
    moved = rule_errors({**dose, "dose_date": dt.date(2026, 3, 4)}, rules.DOSE_RULES)
    assert [error.code for error in moved["date_reason"]] == ["date_mismatch"]
    explained = {**dose, "dose_date": dt.date(2026, 3, 4), "date_reason": "clinic closed"}
    assert rule_errors(explained, rules.DOSE_RULES) == {}
    missed = rule_errors({"study_day": 3, "given": "no"}, rules.DOSE_RULES)
    assert [error.code for error in missed["not_given_reason"]] == ["required"]
