"""Writes of visits and follow-up CRFs; the protocol deviation of an out-of-window visit."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crf.services import record_create, record_save
from enrollment.models import DeviationCategory, DeviationSeverity, Participant, ProtocolDeviation
from outcomes.models import UNSCHEDULED, LabResult, Visit
from trialportal import protocol


def _schedule_item(participant: Participant, code: str):
    return next((item for item in participant.schedule() if item.code == code), None)


@transaction.atomic
def visit_save(
    *, visit: Visit, actor, expected_version: int | None = None, reason: str = ""
) -> Visit:
    """Record that a visit took place; a scheduled visit outside its window is a deviation."""
    participant = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("exit")
        .get(pk=visit.participant_id)
    )
    if visit.code != UNSCHEDULED:
        if visit.code not in {v.code for v in protocol.VISITS}:
            raise ValidationError({"code": _("Unknown visit.")}, code="unknown_visit")
        taken = Visit.objects.filter(
            participant=participant, code=visit.code, retired_at__isnull=True
        ).exclude(pk=visit.pk)
        if taken.exists():
            raise ValidationError(
                {"code": _("This visit is recorded already.")}, code="duplicate_visit"
            )
    try:
        with transaction.atomic():
            visit = record_save(
                record=visit, actor=actor, expected_version=expected_version, reason=reason
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"code": _("This visit is recorded already.")}, code="duplicate_visit"
        ) from exc
    item = _schedule_item(participant, visit.code) if visit.code != UNSCHEDULED else None
    if item is not None and not item.in_window(visit.visit_date):
        deviation_for_visit_window(visit=visit, item=item, actor=actor)
    return visit


def deviation_for_visit_window(*, visit: Visit, item, actor) -> ProtocolDeviation | None:
    """Record, once, the deviation of a visit done outside its window (PROTOCOL.md section 3)."""
    key = f"visit-window:{visit.pk}"
    if ProtocolDeviation.objects.filter(source_key=key).exists():
        return None
    days = (visit.visit_date - item.target).days
    return record_create(
        record=ProtocolDeviation(
            participant=visit.participant,
            category=DeviationCategory.VISIT_WINDOW,
            severity=DeviationSeverity.MINOR,
            occurred_on=visit.visit_date,
            description=_(
                "%(visit)s done on %(date)s, %(days)+d days from its target %(target)s; "
                "window %(earliest)s to %(latest)s."
            )
            % {
                "visit": item.label,
                "date": visit.visit_date,
                "days": days,
                "target": item.target,
                "earliest": item.earliest,
                "latest": item.latest,
            },
            source_key=key,
        ),
        actor=actor,
    )


@transaction.atomic
def lab_results_save(
    *, visit: Visit, results: list[LabResult], actor, reason: str = ""
) -> list[LabResult]:
    """Store the results of a visit's laboratory panel; a changed result needs the reason."""
    saved = []
    for result in results:
        saved.append(
            record_save(
                record=result,
                actor=actor,
                expected_version=result.version if result.pk else None,
                reason=reason,
            )
        )
    return saved
