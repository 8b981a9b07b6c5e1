"""Consistency rules of screening, consent, enrollment and the end of study (PROTOCOL.md §1-5).

Plain functions over the values of one record (see crf/rules.py): the forms run them for the
message at the field, the services as the invariant on create and on edit. Context values the
rules read besides the record's own fields: `consent_date` and `screening_date` of the screen a
participant was enrolled from; `enrollment_date` for an end of study and a consent (None before
enrollment); `date_of_birth` for a consent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.rules import refuse
from enrollment.eligibility import age_in_range
from enrollment.models import ExitKind, Mda5Result, Mda5Titre, PregnancyTest, Sex, age_on
from study import protocol

Data = Mapping[str, Any]


# --- Screening --------------------------------------------------------------------------------

SCREENING_DATE_FIELDS = (
    "screening_date",
    "date_of_birth",
    "mda5_test_date",
    "symptom_onset_date",
    "ild_diagnosis_date",
    "hrct_first_date",
    "hrct_progression_date",
    "pf_ratio_first_date",
    "pf_ratio_latest_date",
    "pregnancy_test_date",
)


def _date_plausible(name: str):
    def rule(data: Data) -> None:
        value, birth = data.get(name), data.get("date_of_birth")
        if value and value > timezone.localdate():
            refuse(name, _("This date is in the future."), "future")
        if value and birth and name != "date_of_birth" and value < birth:
            refuse(name, _("This date is before the date of birth."), "before_birth")

    rule.__name__ = f"{name}_plausible"
    return rule


def birth_plausible(data: Data) -> None:
    birth, screened = data.get("date_of_birth"), data.get("screening_date")
    if birth and screened and age_on(birth, screened) > 120:
        refuse("date_of_birth", _("Check the date of birth."), "implausible")


def mda5_titre_matches_result(data: Data) -> None:
    result, titre = data.get("mda5_result"), data.get("mda5_titre")
    if result == Mda5Result.POSITIVE and not titre:
        refuse("mda5_titre", _("Give the titre of a positive result."), "required")
    if result == Mda5Result.POSITIVE and titre == Mda5Titre.NEGATIVE:
        refuse("mda5_titre", _("A positive result cannot have a negative titre."), "inconsistent")
    if result == Mda5Result.NEGATIVE and titre not in ("", Mda5Titre.NEGATIVE, Mda5Titre.UNITS):
        refuse("mda5_titre", _("A negative result cannot have a positive titre."), "inconsistent")


def mda5_value_measured(data: Data) -> None:
    if data.get("mda5_titre") == Mda5Titre.UNITS and data.get("mda5_value") is None:
        refuse("mda5_value", _("Give the measured value."), "required")


def mda5_unit_given(data: Data) -> None:
    if data.get("mda5_titre") == Mda5Titre.UNITS and not data.get("mda5_unit"):
        refuse("mda5_unit", _("Give the unit."), "required")


def hrct_progression_dated(data: Data) -> None:
    if data.get("hrct_progression") and not data.get("hrct_progression_date"):
        refuse(
            "hrct_progression_date", _("Give the date of the HRCT showing progression."), "required"
        )


def hrct_progression_after_first(data: Data) -> None:
    first, progression = data.get("hrct_first_date"), data.get("hrct_progression_date")
    if first and progression and progression < first:
        refuse(
            "hrct_progression_date",
            _("The progression HRCT cannot precede the first HRCT."),
            "order",
        )


def _pf_ratio_dated(value: str, day: str):
    def rule(data: Data) -> None:
        if data.get(value) is not None and not data.get(day):
            refuse(day, _("Give the date of this measurement."), "required")

    rule.__name__ = f"{value}_dated"
    return rule


def pf_ratio_latest_after_first(data: Data) -> None:
    first, latest = data.get("pf_ratio_first_date"), data.get("pf_ratio_latest_date")
    if first and latest and latest < first:
        refuse(
            "pf_ratio_latest_date",
            _("The latest measurement cannot precede the earlier one."),
            "order",
        )


def male_not_pregnant(data: Data) -> None:
    if data.get("sex") == Sex.MALE and data.get("pregnant_or_breastfeeding"):
        refuse(
            "pregnant_or_breastfeeding",
            _("Not applicable to a male participant."),
            "inconsistent",
        )


def female_childbearing_answered(data: Data) -> None:
    if data.get("sex") == Sex.FEMALE and data.get("childbearing_potential") is None:
        refuse("childbearing_potential", _("Answer for a female participant."), "required")


def pregnancy_test_done(data: Data) -> None:
    """A woman of childbearing potential has a pregnancy test result (or 'not done'), dated."""
    if data.get("sex") == Sex.MALE or not data.get("childbearing_potential"):
        return
    result = data.get("pregnancy_test_result")
    if not result:
        refuse(
            "pregnancy_test_result",
            _("A pregnancy test is required for a woman of childbearing potential."),
            "required",
        )
    if result != PregnancyTest.NOT_DONE and not data.get("pregnancy_test_date"):
        refuse("pregnancy_test_date", _("Give the date of the test."), "required")


def other_unsafe_described(data: Data) -> None:
    if data.get("other_unsafe") and not (data.get("other_unsafe_text") or "").strip():
        refuse("other_unsafe_text", _("Describe the condition judged unsafe."), "required")


SCREENING_RULES = (
    *(_date_plausible(name) for name in SCREENING_DATE_FIELDS),
    birth_plausible,
    mda5_titre_matches_result,
    mda5_value_measured,
    mda5_unit_given,
    hrct_progression_dated,
    hrct_progression_after_first,
    _pf_ratio_dated("pf_ratio_first", "pf_ratio_first_date"),
    _pf_ratio_dated("pf_ratio_latest", "pf_ratio_latest_date"),
    pf_ratio_latest_after_first,
    male_not_pregnant,
    female_childbearing_answered,
    pregnancy_test_done,
    other_unsafe_described,
)
SCREENING_FIELDS = (
    *SCREENING_DATE_FIELDS,
    "sex",
    "mda5_result",
    "mda5_titre",
    "mda5_value",
    "mda5_unit",
    "hrct_progression",
    "pf_ratio_first",
    "pf_ratio_latest",
    "pregnant_or_breastfeeding",
    "childbearing_potential",
    "pregnancy_test_result",
    "other_unsafe",
    "other_unsafe_text",
)


# --- Consent ----------------------------------------------------------------------------------


def consent_not_in_future(data: Data) -> None:
    at = data.get("consented_at")
    if at and at > timezone.now():
        refuse("consented_at", _("Consent cannot be dated in the future."), "future")


def age_at_consent_in_range(data: Data) -> None:
    """Age counts at consent (PROTOCOL.md section 2)."""
    at, birth = data.get("consented_at"), data.get("date_of_birth")
    if not (at and birth):
        return
    age = age_on(birth, timezone.localdate(at))
    if not age_in_range(age):
        refuse(
            "consented_at",
            _("Age at consent would be %(age)s; the protocol requires %(min)s to %(max)s years.")
            % {"age": age, "min": protocol.AGE_MIN, "max": protocol.AGE_MAX},
            "age",
        )


def consent_before_enrollment(data: Data) -> None:
    at, enrolled = data.get("consented_at"), data.get("enrollment_date")
    if at and enrolled and timezone.localdate(at) > enrolled:
        refuse(
            "consented_at",
            _("Consent cannot be after enrollment (%(date)s).") % {"date": enrolled},
            "after_enrollment",
        )


def consent_after_birth(data: Data) -> None:
    at, birth = data.get("consented_at"), data.get("date_of_birth")
    if at and birth and timezone.localdate(at) < birth:
        refuse("consented_at", _("Consent cannot precede the date of birth."), "before_birth")


CONSENT_RULES = (consent_not_in_future, consent_before_enrollment, consent_after_birth)
# The form also refuses a consent at an age outside the range, so a typing error is caught at the
# field. The service records a consent that did take place whatever the age: eligibility then
# counts the age at consent and marks the screen ineligible, so it cannot be enrolled.
CONSENT_FORM_RULES = (*CONSENT_RULES, age_at_consent_in_range)


def consent_context(screening) -> dict[str, Any]:
    """The screen's values the consent rules read."""
    participant = getattr(screening, "participant", None) if screening.pk else None
    return {
        "date_of_birth": screening.date_of_birth,
        "enrollment_date": participant.enrollment_date if participant else None,
    }


# --- Enrollment: the participant's dates ------------------------------------------------------


def enrollment_not_in_future(data: Data) -> None:
    enrolled = data.get("enrollment_date")
    if enrolled and enrolled > timezone.localdate():
        refuse("enrollment_date", _("Enrollment cannot be dated in the future."), "future")


def enrollment_after_consent(data: Data) -> None:
    enrolled, consented = data.get("enrollment_date"), data.get("consent_date")
    if enrolled and consented and enrolled < consented:
        refuse("enrollment_date", _("Enrollment cannot precede consent."), "before_consent")


def first_dose_after_consent(data: Data) -> None:
    planned, consented = data.get("planned_first_dose"), data.get("consent_date")
    if planned and consented and planned < consented:
        refuse("planned_first_dose", _("The first dose cannot precede consent."), "before_consent")


def first_dose_within_screening_window(data: Data) -> None:
    """The first dose falls within the screening window, else the patient is re-screened."""
    planned, screened = data.get("planned_first_dose"), data.get("screening_date")
    if not (planned and screened):
        return
    latest = screened + dt.timedelta(days=protocol.SCREENING_WINDOW_DAYS)
    if planned > latest:
        refuse(
            "planned_first_dose",
            _(
                "The first dose must be within %(days)s days of screening (by %(date)s); "
                "re-screen otherwise."
            )
            % {"days": protocol.SCREENING_WINDOW_DAYS, "date": latest},
            "screening_window",
        )


def _first_dose_after_enrollment(name: str):
    def rule(data: Data) -> None:
        value, enrolled = data.get(name), data.get("enrollment_date")
        consented = data.get("consent_date")
        if name == "planned_first_dose" and value and consented and value < consented:
            return  # the message about consent says it already
        if value and enrolled and value < enrolled:
            refuse(name, _("The first dose cannot precede enrollment."), "before_enrollment")

    rule.__name__ = f"{name}_after_enrollment"
    return rule


def first_dose_not_in_future(data: Data) -> None:
    given = data.get("first_dose_date")
    if given and given > timezone.localdate():
        refuse("first_dose_date", _("This date is in the future."), "future")


PARTICIPANT_RULES = (
    enrollment_not_in_future,
    enrollment_after_consent,
    first_dose_after_consent,
    first_dose_within_screening_window,
    _first_dose_after_enrollment("planned_first_dose"),
    _first_dose_after_enrollment("first_dose_date"),
    first_dose_not_in_future,
)
PARTICIPANT_FIELDS = ("enrollment_date", "planned_first_dose", "first_dose_date")


def participant_context(screening) -> dict[str, Any]:
    """The screen's dates the enrollment rules read."""
    consent = getattr(screening, "consent", None)
    return {
        "consent_date": timezone.localdate(consent.consented_at) if consent else None,
        "screening_date": screening.screening_date,
    }


# --- End of study -----------------------------------------------------------------------------


def exit_not_in_future(data: Data) -> None:
    on = data.get("exit_date")
    if on and on > timezone.localdate():
        refuse("exit_date", _("This date is in the future."), "future")


def exit_after_enrollment(data: Data) -> None:
    on, enrolled = data.get("exit_date"), data.get("enrollment_date")
    if on and enrolled and on < enrolled:
        refuse("exit_date", _("This date is before enrollment."), "before_enrollment")


EXIT_REQUIRED = {
    ExitKind.WITHDRAWN: ("decided_by", "reason"),
    ExitKind.DIED: ("death_cause",),
    ExitKind.LOST: ("last_contact_date",),
}


def _required_for_kind(name: str):
    def rule(data: Data) -> None:
        if name in EXIT_REQUIRED.get(data.get("kind"), ()) and not data.get(name):
            refuse(name, _("Required for this status."), "required")

    rule.__name__ = f"{name}_for_kind"
    return rule


def withdrawal_says_follow_up(data: Data) -> None:
    if data.get("kind") == ExitKind.WITHDRAWN and data.get("followup_permitted") is None:
        refuse(
            "followup_permitted",
            _("Say whether follow-up data may still be collected."),
            "required",
        )


def last_contact_before_exit(data: Data) -> None:
    contact, on = data.get("last_contact_date"), data.get("exit_date")
    if contact and on and contact > on:
        refuse(
            "last_contact_date", _("Last contact cannot be after the date of this status."), "order"
        )


STUDY_EXIT_RULES = (
    exit_not_in_future,
    exit_after_enrollment,
    *(
        _required_for_kind(name)
        for name in ("decided_by", "reason", "death_cause", "last_contact_date")
    ),
    withdrawal_says_follow_up,
    last_contact_before_exit,
)
STUDY_EXIT_FIELDS = (
    "kind",
    "exit_date",
    "decided_by",
    "reason",
    "followup_permitted",
    "last_contact_date",
    "death_cause",
)
