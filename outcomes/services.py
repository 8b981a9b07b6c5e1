"""Writes of visits and follow-up CRFs; the protocol deviation of an out-of-window visit."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.services import (
    StaleRecordError,
    record_create,
    record_retire,
    record_save,
    record_update,
)
from enrollment.models import DeviationCategory, DeviationSeverity, Participant, ProtocolDeviation
from outcomes import selectors
from outcomes.models import UNSCHEDULED, LabResult, Visit
from study import protocol


def _schedule_item(participant: Participant, code: str):
    """The visit's item in the participant's schedule, from everything recorded so far."""
    schedule = selectors.schedules([participant], timezone.localdate())[participant.pk]
    return schedule.get(code)


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
    if visit.code != UNSCHEDULED:
        visit_window_deviation_update(
            visit=visit, item=_schedule_item(participant, visit.code), actor=actor, reason=reason
        )
    return visit


def _deviation_description(visit: Visit, item) -> str:
    return _(
        "%(visit)s done on %(date)s, %(days)+d days from its target %(target)s; "
        "window %(earliest)s to %(latest)s."
    ) % {
        "visit": item.label,
        "date": visit.visit_date,
        "days": (visit.visit_date - item.target).days,
        "target": item.target,
        "earliest": item.earliest,
        "latest": item.latest,
    }


def visit_window_deviation_update(
    *, visit: Visit, item, actor, reason: str = ""
) -> ProtocolDeviation | None:
    """Keep the automatic deviation of a visit in step with its date (PROTOCOL.md section 3).

    Out of window: record it, or bring the open one up to the new date (its review, which was of
    the old date, is cleared). Back in the window: close the open one, with the reason. Both
    changes are audited like any other; a save that leaves the date alone changes nothing.
    """
    key = f"visit-window:{visit.pk}"
    mine = Q(source_key=key) | Q(source_key__startswith=f"{key}:")
    current = ProtocolDeviation.objects.filter(mine, retired_at__isnull=True).first()
    if item.in_window(visit.visit_date):
        if current is None:
            return None
        return record_retire(
            record=current,
            actor=actor,
            expected_version=current.version,
            reason=_(
                "Visit date changed to %(date)s, inside its window (%(earliest)s to %(latest)s)."
            )
            % {"date": visit.visit_date, "earliest": item.earliest, "latest": item.latest},
        )
    description = _deviation_description(visit, item)
    if current is None:
        if ProtocolDeviation.objects.filter(mine).exists():
            key = f"{key}:{visit.version}"  # the earlier one was closed: a new deviation
        return record_create(
            record=ProtocolDeviation(
                participant=visit.participant,
                category=DeviationCategory.VISIT_WINDOW,
                severity=DeviationSeverity.MINOR,
                occurred_on=visit.visit_date,
                description=description,
                source_key=key,
            ),
            actor=actor,
        )
    if current.occurred_on == visit.visit_date and current.description == description:
        return current
    previous = current.occurred_on
    current.occurred_on = visit.visit_date
    current.description = description
    current.reviewed_by = None
    current.reviewed_at = None
    if previous != visit.visit_date:
        change = _("Visit date changed from %(old)s to %(new)s.") % {
            "old": previous,
            "new": visit.visit_date,
        }
    else:
        change = _("The visit's target moved to %(target)s.") % {"target": item.target}
    return record_update(
        record=current,
        actor=actor,
        expected_version=current.version,
        reason=f"{change} {reason}".strip(),
    )


@dataclass
class LabResultsStale(Exception):
    """Results of the panel changed by someone else since the user opened the page, by test."""

    errors: dict[str, StaleRecordError]


@transaction.atomic
def lab_results_save(
    *,
    visit: Visit,
    changes: list[tuple[LabResult, int | None]],
    actor,
    reason: str = "",
) -> list[LabResult]:
    """Store the changed results of a visit's panel, all or none, each against its version.

    `changes` pairs each changed result with the version the user opened (None for a test that
    had no result then). A changed submitted result needs the reason, which goes to each one.
    """
    # Serialise the panel saves of one visit, so two first entries of a test cannot both pass.
    current_visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if current_visit.is_locked:
        raise ValidationError(
            _("This visit is locked; its results cannot be changed until it is unlocked."),
            code="locked",
        )
    current = {
        result.analyte: result
        for result in LabResult.objects.select_for_update(of=("self",))
        .select_related("updated_by")
        .filter(visit=visit, retired_at__isnull=True, analyte__in=[r.analyte for r, _v in changes])
    }
    stale = {}
    for result, expected_version in changes:
        now = current.get(result.analyte)
        if now is not None and (now.pk != result.pk or now.version != expected_version):
            stale[result.analyte] = StaleRecordError(now.updated_by, now.updated_at, now.version)
        elif now is not None and now.is_locked:
            raise ValidationError(
                _("%(test)s is locked; it must be unlocked before any change.")
                % {"test": now.get_analyte_display()},
                code="locked",
            )
    if stale:
        raise LabResultsStale(stale)
    return [
        record_save(record=result, actor=actor, expected_version=version, reason=reason)
        for result, version in changes
    ]
