"""Eligibility computed from the screening answers (PROTOCOL.md section 2)."""

from __future__ import annotations

import datetime as dt

from enrollment.models import DmClassification, Failure, Mda5Result, PregnancyTest, Screening
from study import protocol


def age_in_range(age: int) -> bool:
    return protocol.AGE_MIN <= age <= protocol.AGE_MAX


def evaluate(screening: Screening, *, consent_date: dt.date | None = None) -> list[str]:
    """Return every failed criterion; an empty list means eligible.

    Age counts at consent; before consent is recorded, at the screening date.
    """
    failures = []
    age = screening.age_at(consent_date or screening.screening_date)
    if not age_in_range(age):
        failures.append(Failure.AGE)
    if screening.dm_classification == DmClassification.NEITHER:
        failures.append(Failure.NO_DM)
    if screening.mda5_result != Mda5Result.POSITIVE:
        failures.append(Failure.MDA5_NEGATIVE)
    if not screening.rpild_confirmed:
        failures.append(Failure.NO_RPILD)
    if screening.pregnant_or_breastfeeding:
        failures.append(Failure.PREGNANT)
    if screening.pregnancy_test_result == PregnancyTest.POSITIVE:
        failures.append(Failure.PREGNANCY_TEST)
    if screening.severe_allergy:
        failures.append(Failure.ALLERGY)
    if screening.active_pulmonary_infection:
        failures.append(Failure.INFECTION)
    if screening.pulmonary_embolism:
        failures.append(Failure.EMBOLISM)
    if screening.extracorporeal_support:
        failures.append(Failure.ECMO)
    if screening.other_unsafe:
        failures.append(Failure.OTHER_UNSAFE)
    return [str(code) for code in failures]


def apply(screening: Screening, *, consent_date: dt.date | None = None) -> None:
    """Store the computed verdict on the screening (not saved)."""
    screening.failure_reasons = evaluate(screening, consent_date=consent_date)
    screening.eligible = not screening.failure_reasons
