"""Screening and consent rules hold on edit as on create, in the form and in the service."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from enrollment.models import Consent, Screening
from enrollment.services import consent_save, screening_save
from tests.factories import (
    make_consent,
    make_participant,
    make_screening,
    screening_answers,
    screening_form_data,
)

pytestmark = pytest.mark.django_db


def _today():
    return timezone.localdate()


# (changes, field, code) over the answers of an eligible screen (tests/factories.py).
CASES = [
    ({"mda5_test_date": "TOMORROW"}, "mda5_test_date", "future"),
    ({"hrct_first_date": "BEFORE_BIRTH"}, "hrct_first_date", "before_birth"),
    ({"date_of_birth": dt.date(1890, 1, 1)}, "date_of_birth", "implausible"),
    ({"mda5_titre": ""}, "mda5_titre", "required"),
    ({"mda5_titre": "neg"}, "mda5_titre", "inconsistent"),
    ({"mda5_titre": "units", "mda5_unit": "U/mL"}, "mda5_value", "required"),
    ({"mda5_titre": "units", "mda5_value": 40}, "mda5_unit", "required"),
    ({"hrct_progression_date": None}, "hrct_progression_date", "required"),
    ({"hrct_progression_date": "DAYS_50"}, "hrct_progression_date", "order"),
    ({"pf_ratio_first_date": None}, "pf_ratio_first_date", "required"),
    ({"pf_ratio_latest_date": "DAYS_50"}, "pf_ratio_latest_date", "order"),
    ({"sex": "M", "pregnant_or_breastfeeding": True}, "pregnant_or_breastfeeding", "inconsistent"),
    ({"childbearing_potential": None}, "childbearing_potential", "required"),
    ({"childbearing_potential": True}, "pregnancy_test_result", "required"),
    (
        {"childbearing_potential": True, "pregnancy_test_result": "negative"},
        "pregnancy_test_date",
        "required",
    ),
    ({"other_unsafe": True}, "other_unsafe_text", "required"),
]
IDS = [f"{field}-{code}" for _changes, field, code in CASES]


def _resolve(changes: dict) -> dict:
    birth = screening_answers()["date_of_birth"]
    tokens = {
        "TOMORROW": _today() + dt.timedelta(days=1),
        "BEFORE_BIRTH": birth - dt.timedelta(days=1),
        "DAYS_50": _today() - dt.timedelta(days=50),
    }
    return {key: tokens.get(value, value) if isinstance(value, str) else value
            for key, value in changes.items()}  # fmt: skip


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), CASES, ids=IDS)
def test_the_service_holds_each_screening_rule(coordinator, mode, changes, field, code):
    changes = _resolve(changes)
    if mode == "create":
        screening, expected_version = Screening(**screening_answers(**changes)), None
    else:
        screening = make_screening(coordinator)
        expected_version = screening.version
        for name, value in changes.items():
            setattr(screening, name, value)
    with pytest.raises(ValidationError) as refused:
        screening_save(
            screening=screening,
            actor=coordinator,
            expected_version=expected_version,
            reason="correction",
        )
    assert code in [error.code for error in refused.value.error_dict[field]]


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(("changes", "field", "code"), CASES, ids=IDS)
def test_the_screening_form_shows_each_rule_at_its_field(
    client_for, coordinator, mode, changes, field, code
):
    data = screening_form_data(**_resolve(changes))
    if mode == "create":
        response = client_for(coordinator).post("/screening/new/", data)
    else:
        screening = make_screening(coordinator)
        data.update(version=str(screening.version), reason_for_change="correction")
        response = client_for(coordinator).post(f"/screening/{screening.pk}/edit/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()
    assert code in [error.code for error in errors.get(field, [])], errors


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@pytest.mark.parametrize("mode", ["create", "edit"])
@pytest.mark.parametrize(
    ("when", "code"),
    [("tomorrow", "future"), ("before_birth", "before_birth")],
)
def test_the_service_holds_each_consent_rule(coordinator, mode, when, code):
    screening = make_screening(coordinator)
    birth = screening.date_of_birth
    at = {
        "tomorrow": timezone.now() + dt.timedelta(days=1),
        "before_birth": _at(birth - dt.timedelta(days=1)),
    }[when]
    if mode == "create":
        consent = Consent(
            screening=screening, form_version="2.1", consented_at=at, obtained_by=coordinator
        )
        expected_version = None
    else:
        consent = make_consent(screening, coordinator)
        consent.consented_at, expected_version = at, consent.version
    with pytest.raises(ValidationError) as refused:
        consent_save(
            consent=consent,
            actor=coordinator,
            expected_version=expected_version,
            reason="correction",
        )
    assert code in [error.code for error in refused.value.error_dict["consented_at"]]


def test_the_service_refuses_a_consent_moved_after_enrollment(coordinator):
    participant = make_participant(coordinator)
    consent = participant.screening.consent
    consent.consented_at = _at(participant.enrollment_date + dt.timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        consent_save(
            consent=consent, actor=coordinator, expected_version=consent.version, reason="typo"
        )
    assert refused.value.error_dict["consented_at"][0].code == "after_enrollment"


def test_the_form_refuses_an_age_at_consent_the_service_leaves_to_eligibility(
    client_for, coordinator
):
    screening = make_screening(coordinator)
    birth = screening.date_of_birth
    at = _at(birth.replace(year=birth.year + 17))
    response = client_for(coordinator).post(
        f"/screening/{screening.pk}/consent/",
        {
            "form_version": "2.1",
            "consented_at": timezone.localtime(at).strftime("%Y-%m-%dT%H:%M"),
            "obtained_by": coordinator.pk,
        },
    )
    assert [e.code for e in response.context["form"].errors.as_data()["consented_at"]] == ["age"]
