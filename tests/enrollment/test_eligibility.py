"""Eligibility is computed from the answers; every failed criterion is stored."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from enrollment.models import Failure, Screening
from tests.factories import make_consent, make_screening, screening_answers

pytestmark = pytest.mark.django_db


def test_an_eligible_screen_has_no_failure(coordinator):
    screening = make_screening(coordinator)
    assert screening.eligible is True
    assert screening.failure_reasons == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"dm_classification": "neither"}, Failure.NO_DM),
        ({"mda5_result": "negative", "mda5_titre": "neg"}, Failure.MDA5_NEGATIVE),
        ({"rpild_confirmed": False}, Failure.NO_RPILD),
        ({"pregnant_or_breastfeeding": True}, Failure.PREGNANT),
        (
            {
                "childbearing_potential": True,
                "pregnancy_test_result": "positive",
                "pregnancy_test_date": dt.date.today(),
            },
            Failure.PREGNANCY_TEST,
        ),
        ({"severe_allergy": True}, Failure.ALLERGY),
        ({"active_pulmonary_infection": True}, Failure.INFECTION),
        ({"pulmonary_embolism": True}, Failure.EMBOLISM),
        ({"extracorporeal_support": True}, Failure.ECMO),
        ({"other_unsafe": True, "other_unsafe_text": "uncontrolled sepsis"}, Failure.OTHER_UNSAFE),
    ],
)
def test_each_failed_criterion_is_a_screen_failure_reason(coordinator, changes, reason):
    screening = make_screening(coordinator, **changes)
    assert screening.eligible is False
    assert screening.failure_reasons == [reason]


def test_every_failed_criterion_is_stored(coordinator):
    screening = make_screening(
        coordinator, rpild_confirmed=False, severe_allergy=True, pulmonary_embolism=True
    )
    assert screening.failure_reasons == [Failure.NO_RPILD, Failure.ALLERGY, Failure.EMBOLISM]
    assert "Pulmonary embolism" in screening.failure_labels


def test_age_counts_at_consent(coordinator):
    today = timezone.localdate()
    # 17 on the screening date, 18 on the day before consent... turns 18 tomorrow.
    birth = dt.date(today.year - 18, today.month, today.day) + dt.timedelta(days=1)
    screening = make_screening(
        coordinator, date_of_birth=birth, screening_date=today - dt.timedelta(days=1)
    )
    assert screening.failure_reasons == [Failure.AGE]
    consent_at = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(9)))
    # A consent on the 18th birthday (dated today here would be refused by the form).
    from enrollment.models import Consent
    from enrollment.services import consent_save

    with time_machine.travel(consent_at + dt.timedelta(hours=1), tick=False):
        consent_save(
            consent=Consent(
                screening=screening,
                form_version="2.1",
                consented_at=consent_at,
                obtained_by=coordinator,
            ),
            actor=coordinator,
        )
    screening.refresh_from_db()
    assert screening.eligible is True


def test_a_re_evaluation_after_consent_is_audited_with_its_reason(coordinator):
    from crf.selectors import record_history

    today = timezone.localdate()
    birth = dt.date(today.year - 76, today.month, today.day) + dt.timedelta(
        days=3
    )  # 75 for 3 more days
    screening = make_screening(coordinator, date_of_birth=birth, screening_date=today)
    assert screening.eligible
    # Consent recorded after the 76th birthday: the screen becomes ineligible.
    from enrollment.models import Consent
    from enrollment.services import consent_save

    consent_at = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=3), dt.time(9)))
    # The service records the consent that took place; a consent is not dated in the future.
    with time_machine.travel(consent_at + dt.timedelta(hours=1), tick=False):
        consent_save(
            consent=Consent(
                screening=screening,
                form_version="2.1",
                consented_at=consent_at,
                obtained_by=coordinator,
            ),
            actor=coordinator,
        )
    screening.refresh_from_db()
    assert screening.failure_reasons == [Failure.AGE]
    assert (
        record_history(screening)[-1].reason == "Eligibility re-evaluated with the age at consent."
    )


def test_the_database_refuses_an_eligible_screen_with_reasons(coordinator):
    from django.db import IntegrityError, transaction

    screening = make_screening(coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Screening.objects.filter(pk=screening.pk).update(failure_reasons=["age"])


@pytest.mark.parametrize(
    ("progression_days", "hint"), [(30, True), (90, True), (91, False), (None, None)]
)
def test_the_rpild_hint_checks_worsening_within_three_months_of_onset(progression_days, hint):
    answers = screening_answers()
    onset = answers["symptom_onset_date"]
    answers["hrct_progression_date"] = (
        onset + dt.timedelta(days=progression_days) if progression_days is not None else None
    )
    assert Screening(**answers).rpild_hint is hint


def test_no_progression_gives_a_negative_hint():
    assert Screening(**screening_answers(hrct_progression=False)).rpild_hint is False


def test_consent_is_linked_to_the_screen(coordinator):
    screening = make_screening(coordinator)
    consent = make_consent(screening, coordinator)
    assert screening.consent == consent
