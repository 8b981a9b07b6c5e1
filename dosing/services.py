"""Writes of the nebulization log."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crf.rules import check_rules, values_of
from crf.services import record_save, record_update
from dosing import rules
from dosing.models import DoseRecord
from enrollment.models import Participant


def dose_date_refusal(participant: Participant, dose_date) -> str | None:
    """Return why no dose can be recorded on this date for this participant, or None."""
    if dose_date < participant.enrollment_date:
        return _("No dose can be recorded before enrollment (%(date)s).") % {
            "date": participant.enrollment_date
        }
    study_exit = getattr(participant, "exit", None)
    if study_exit is not None and not study_exit.is_retired and dose_date > study_exit.exit_date:
        return _(
            "No dose can be recorded after the participant left the study (%(status)s, %(date)s)."
        ) % {
            "status": study_exit.get_kind_display().lower(),
            "date": study_exit.exit_date,
        }
    return None


@transaction.atomic
def dose_record(
    *, dose: DoseRecord, actor, expected_version: int | None = None, reason: str = ""
) -> DoseRecord:
    """Store a dose record; the dose of day 1 sets the actual first dose (study day 1)."""
    # Lock the participant: two submissions for the same participant are serialised, so the
    # second sees the first and gets a clear message instead of a constraint error.
    participant = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("exit")
        .get(pk=dose.participant_id)
    )
    check_rules(
        {**values_of(dose, rules.DOSE_FIELDS), "anchor": participant.anchor}, rules.DOSE_RULES
    )
    refusal = dose_date_refusal(participant, dose.dose_date)
    if refusal:
        raise ValidationError({"dose_date": refusal}, code="outside_participation")
    duplicate = (
        DoseRecord.objects.filter(
            participant=participant, study_day=dose.study_day, retired_at__isnull=True
        )
        .exclude(pk=dose.pk)
        .exists()
    )
    if duplicate:
        raise ValidationError(
            {
                "study_day": _("Day %(day)s is already recorded for this participant.")
                % {"day": dose.study_day}
            },
            code="duplicate_day",
        )
    try:
        with transaction.atomic():
            dose = record_save(
                record=dose, actor=actor, expected_version=expected_version, reason=reason
            )
    except IntegrityError as exc:  # a concurrent transaction won despite the lock (defensive)
        raise ValidationError(
            {
                "study_day": _("Day %(day)s is already recorded for this participant.")
                % {"day": dose.study_day}
            },
            code="duplicate_day",
        ) from exc
    if (
        dose.study_day == 1
        and dose.counts_as_given
        and participant.first_dose_date != dose.dose_date
    ):
        participant.first_dose_date = dose.dose_date
        record_update(
            record=participant,
            actor=actor,
            expected_version=participant.version,
            reason=_("Actual first dose recorded in the dosing log."),
        )
    return dose
