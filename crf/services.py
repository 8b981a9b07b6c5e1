"""Writes of clinical records: create, change (with reason and optimistic lock), retire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf import monitoring
from crf.audit import actor_context, audit_context
from crf.locking import refuse_under_lock
from crf.models import AccessLog, ClinicalRecord, RecordStatus
from crf.signals import record_saved


@dataclass
class StaleRecordError(Exception):
    """Someone else changed the record since the user opened it."""

    changed_by: object
    changed_at: datetime
    current_version: int

    def __str__(self) -> str:
        return _("This record was changed by %(who)s at %(when)s after you opened it.") % {
            "who": self.changed_by,
            "when": timezone.localtime(self.changed_at).strftime("%Y-%m-%d %H:%M"),
        }


def _reason_required_error() -> ValidationError:
    return ValidationError(
        {"reason_for_change": _("Give a reason for changing a submitted record.")},
        code="reason_required",
    )


@transaction.atomic
def record_create(*, record: ClinicalRecord, actor, submit: bool = True) -> ClinicalRecord:
    """Store a new clinical record, as submitted or as a draft."""
    refuse_under_lock(record)
    record.created_by = actor
    record.updated_by = actor
    record.status = RecordStatus.SUBMITTED if submit else RecordStatus.DRAFT
    record.full_clean()
    if record.pk is None and record.audit_subject_needs_pk:
        _allocate_pk(record)
    with audit_context(subject=record.audit_subject, **actor_context(actor)):
        record.save(force_insert=True)
    _after_save(record, changed=False)
    return record


def _allocate_pk(record: ClinicalRecord) -> None:
    """Take the row's id from its sequence before the insert, so its audit event can name it."""
    meta = record._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s))", [meta.db_table, meta.pk.column]
        )
        record.pk = cursor.fetchone()[0]


def _after_save(record: ClinicalRecord, *, changed: bool) -> None:
    """Raise queries for confirmed unusual values; tell monitors and signers about a change;
    let derived data follow (crf.signals.record_saved)."""
    if record.soft_range_fields:
        monitoring.soft_range_queries(record)
    if changed:
        monitoring.on_record_changed(record)
    record_saved.send(sender=type(record), record=record, created=not changed)


@transaction.atomic
def record_update(
    *,
    record: ClinicalRecord,
    actor,
    expected_version: int,
    reason: str = "",
    submit: bool | None = None,
) -> ClinicalRecord:
    """Save the changed fields of `record`, refusing a stale edit and a change without reason."""
    model = type(record)
    # Lock the row so two simultaneous saves are serialised and the second sees the new version.
    # No join: after waiting for the lock, PostgreSQL re-checks a joined row against the new
    # version and would drop it (a new updated_by), losing the record instead of refusing.
    current = model.objects.select_for_update().get(pk=record.pk)
    if current.version != expected_version:
        raise StaleRecordError(current.updated_by, current.updated_at, current.version)
    if current.is_locked:
        raise ValidationError(_("This record is locked; it must be unlocked before any change."))
    if not current.is_editable:
        raise ValidationError(_("This record is marked as entered in error and cannot be changed."))
    reason = reason.strip()
    if current.requires_reason_for_change and not reason:
        raise _reason_required_error()
    record.status = current.status
    if submit:
        record.status = RecordStatus.SUBMITTED
    record.updated_by = actor
    record.full_clean()
    with audit_context(reason=reason or None, subject=record.audit_subject, **actor_context(actor)):
        record.save()
    record.refresh_from_db(fields=["version", "updated_at"])
    _after_save(record, changed=True)
    return record


@transaction.atomic
def record_retire(
    *, record: ClinicalRecord, actor, expected_version: int, reason: str
) -> ClinicalRecord:
    """Mark a record as entered in error; it stays in the database and in the audit trail."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Say why the record is entered in error.")}, code="reason_required"
        )
    model = type(record)
    current = model.objects.select_for_update().get(pk=record.pk)  # no join: see record_update
    if current.version != expected_version:
        raise StaleRecordError(current.updated_by, current.updated_at, current.version)
    if current.is_retired:
        raise ValidationError(_("This record is already marked as entered in error."))
    if current.is_locked:
        raise ValidationError(_("This record is locked; it must be unlocked before any change."))
    current.retired_at = timezone.now()
    current.retired_reason = reason
    current.updated_by = actor
    with audit_context(reason=reason, subject=current.audit_subject, **actor_context(actor)):
        current.save(update_fields=["retired_at", "retired_reason", "updated_by", "updated_at"])
    current.refresh_from_db(fields=["version", "updated_at"])
    _after_save(current, changed=True)
    return current


def record_save(
    *,
    record: ClinicalRecord,
    actor,
    expected_version: int | None = None,
    reason: str = "",
    submit: bool = True,
) -> ClinicalRecord:
    """Create the record, or change it when it already exists."""
    if record.pk is None:
        return record_create(record=record, actor=actor, submit=submit)
    return record_update(
        record=record, actor=actor, expected_version=expected_version, reason=reason, submit=submit
    )


def _access_log(request, *, label: str, record_id, subject: str) -> AccessLog:
    user = request.user
    match = getattr(request, "resolver_match", None)
    return AccessLog(
        user=user,
        username=user.get_username(),
        role=",".join(user.roles),
        record_label=label,
        record_id=str(record_id),
        subject=subject,
        page=match.view_name if match else request.path[:100],
        request_id=getattr(request, "request_id", "") or "",
        ip=request.META.get("REMOTE_ADDR") or None,
    )


@transaction.atomic
def identity_view_record(*, request, record: ClinicalRecord) -> AccessLog:
    """Log that the request's user was shown the record's identifying details (GET pages only).

    One row per page view: who, in which role, when, which record and participant, on which page,
    in which request and from where; never the values shown.
    """
    log = _access_log(
        request, label=record._meta.label, record_id=record.pk, subject=record.audit_subject
    )
    log.full_clean()
    log.save()
    return log


@transaction.atomic
def identity_views_record(*, request, records: list[tuple[str, str, str]]) -> list[AccessLog]:
    """Log one page view showing the identifying details of several records at once.

    `records` holds (model label, record id, participant) of each record shown; one row each,
    in one INSERT, however many there are.
    """
    logs = [
        _access_log(request, label=label, record_id=record_id, subject=subject)
        for label, record_id, subject in dict.fromkeys(records)
    ]
    return AccessLog.objects.bulk_create(logs)
