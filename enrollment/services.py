"""Writes of screening, consent, enrollment and end of study."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.rules import check_rules, values_of
from crf.services import record_create, record_update
from enrollment import eligibility, medical_history, rules
from enrollment.models import Consent, MedicalHistory, Participant, Screening, StudyExit
from study import protocol

# Serialises participant-ID allocation: two enrollments at the same moment wait for each other, so
# numbers are neither duplicated nor skipped (a rolled-back enrollment releases its number).
ENROLLMENT_LOCK_KEY = 0x4D444135  # "MDA5"


def _consent_date(screening: Screening) -> dt.date | None:
    consent = getattr(screening, "consent", None) if screening.pk else None
    return timezone.localdate(consent.consented_at) if consent else None


@transaction.atomic
def screening_save(
    *, screening: Screening, actor, expected_version: int | None = None, reason: str = ""
) -> Screening:
    """Store a screening with its eligibility computed from the answers."""
    check_rules(values_of(screening, rules.SCREENING_FIELDS), rules.SCREENING_RULES)
    eligibility.apply(screening, consent_date=_consent_date(screening))
    if screening.pk is None:
        return record_create(record=screening, actor=actor)
    return record_update(
        record=screening, actor=actor, expected_version=expected_version, reason=reason
    )


@transaction.atomic
def consent_save(
    *, consent: Consent, actor, expected_version: int | None = None, reason: str = ""
) -> Consent:
    """Store the consent and re-evaluate the screen with the age at consent."""
    check_rules(
        {
            **values_of(consent, ("consented_at",)),
            **rules.consent_context(consent.screening),
        },
        rules.CONSENT_RULES,
    )
    if consent.pk is None:
        consent = record_create(record=consent, actor=actor)
    else:
        consent = record_update(
            record=consent, actor=actor, expected_version=expected_version, reason=reason
        )
    screening = Screening.objects.select_for_update().get(pk=consent.screening_id)
    before = (screening.eligible, list(screening.failure_reasons))
    eligibility.apply(screening, consent_date=timezone.localdate(consent.consented_at))
    if (screening.eligible, screening.failure_reasons) != before:
        record_update(
            record=screening,
            actor=actor,
            expected_version=screening.version,
            reason=_("Eligibility re-evaluated with the age at consent."),
        )
    return consent


def enrollment_refusal(screening: Screening) -> str | None:
    """Return why this screen cannot be enrolled, or None."""
    if screening.is_retired:
        return _("This screening is marked as entered in error.")
    if hasattr(screening, "participant"):
        return _("This screening is already enrolled as %(pid)s.") % {
            "pid": screening.participant.participant_id
        }
    if not screening.eligible:
        return _("This screening is not eligible: %(reasons)s.") % {
            "reasons": "; ".join(screening.failure_labels)
        }
    if getattr(screening, "consent", None) is None or screening.consent.is_retired:
        return _("Record the informed consent before enrolling.")
    return None


@transaction.atomic
def participant_enroll(
    *, screening: Screening, enrollment_date: dt.date, planned_first_dose: dt.date, actor
) -> Participant:
    """Enroll an eligible, consented screen and allocate the next participant ID."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ENROLLMENT_LOCK_KEY])
    # Re-read under the lock: another coordinator may have enrolled this screen a moment ago.
    screening = (
        Screening.objects.select_for_update(of=("self",))
        .select_related("consent", "participant")
        .get(pk=screening.pk)
    )
    refusal = enrollment_refusal(screening)
    if refusal:
        raise ValidationError(refusal, code="not_enrollable")
    enrolled = Participant.objects.count()
    if enrolled >= protocol.ENROLLMENT_CAP:
        raise ValidationError(
            _(
                "The enrollment cap of %(cap)s participants is reached; no further participant "
                "can be enrolled without a protocol amendment."
            )
            % {"cap": protocol.ENROLLMENT_CAP},
            code="cap_reached",
        )
    check_rules(
        {
            "enrollment_date": enrollment_date,
            "planned_first_dose": planned_first_dose,
            **rules.participant_context(screening),
        },
        rules.PARTICIPANT_RULES,
    )
    number = (
        Participant.objects.order_by("-number").values_list("number", flat=True).first() or 0
    ) + 1
    participant = Participant(
        participant_id=protocol.PARTICIPANT_ID_FORMAT.format(number=number),
        number=number,
        screening=screening,
        enrollment_date=enrollment_date,
        planned_first_dose=planned_first_dose,
    )
    return record_create(record=participant, actor=actor)


@transaction.atomic
def participant_update(
    *, participant: Participant, actor, expected_version: int, reason: str
) -> Participant:
    """Change the planned or actual first dose; every visit target follows."""
    check_rules(
        {
            **values_of(participant, rules.PARTICIPANT_FIELDS),
            **rules.participant_context(participant.screening),
        },
        rules.PARTICIPANT_RULES,
    )
    return record_update(
        record=participant, actor=actor, expected_version=expected_version, reason=reason
    )


@transaction.atomic
def study_exit_save(
    *, study_exit: StudyExit, actor, expected_version: int | None = None, reason: str = ""
) -> StudyExit:
    """Record how a participant left the study; their data stays and reminders stop."""
    check_rules(
        {
            **values_of(study_exit, rules.STUDY_EXIT_FIELDS),
            "enrollment_date": study_exit.participant.enrollment_date,
        },
        rules.STUDY_EXIT_RULES,
    )
    if study_exit.pk is None:
        return record_create(record=study_exit, actor=actor)
    return record_update(
        record=study_exit, actor=actor, expected_version=expected_version, reason=reason
    )


@transaction.atomic
def medical_history_save(
    *, history: MedicalHistory, actor, expected_version: int | None = None, reason: str = ""
) -> MedicalHistory:
    """Record (or correct) a condition present before the first dose."""
    participant = Participant.objects.select_related("screening").get(pk=history.participant_id)
    errors = medical_history.history_errors(
        start_date=history.start_date,
        ongoing=history.ongoing,
        end_date=history.end_date,
        first_dose=participant.anchor,
        born=participant.screening.date_of_birth,
        today=timezone.localdate(),
    )
    if errors:
        raise ValidationError(errors)
    if history.pk is None:
        return record_create(record=history, actor=actor)
    return record_update(
        record=history, actor=actor, expected_version=expected_version, reason=reason
    )


@transaction.atomic
def deviation_review(*, deviation, actor):
    """Record the investigator's review of a protocol deviation."""
    deviation.reviewed_by = actor
    deviation.reviewed_at = timezone.now()
    return record_update(
        record=deviation,
        actor=actor,
        expected_version=deviation.version,
        reason=_("Reviewed by the investigator."),
    )
