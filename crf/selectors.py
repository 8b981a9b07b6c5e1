"""Reads of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db import models
from django.http import Http404
from django.utils import timezone
from pghistory.models import Events

from accounts.access import can
from crf.models import AccessLog, ClinicalRecord

# The action of an audit review row for a logged view of identifying details.
VIEWED = "viewed"


@dataclass
class FieldChange:
    field: str
    label: str
    old: object
    new: object


@dataclass
class HistoryEntry:
    at: datetime
    action: str
    username: str | None
    role: str | None
    reason: str | None
    request_id: str | None
    ip: str | None
    task: str | None
    changes: list[FieldChange]


def clinical_model(label: str) -> type[ClinicalRecord]:
    """Return the clinical model named 'app_label.model_name', or raise 404."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None
    if not issubclass(model, ClinicalRecord):
        raise Http404
    return model


def _display(field: models.Field | None, value):
    if value is None or value == "":
        return None
    if field is not None and field.choices:
        return dict(field.flatchoices).get(value, value)
    return value


def _changes(
    model, fields: dict, skip: set, action: str, previous: dict, data: dict
) -> list[FieldChange]:
    changes = []
    for attname, value in data.items():
        if attname in skip or attname not in fields:
            continue
        old = previous.get(attname)
        if action == "insert" and value in (None, ""):
            continue
        if action != "insert" and old == value:
            continue
        field = fields[attname]
        changes.append(
            FieldChange(
                field=field.name,
                label=str(field.verbose_name),
                old=_display(field, old),
                new=_display(field, value),
            )
        )
    return changes


def _field_maps(model):
    fields = {f.attname: f for f in model._meta.concrete_fields}
    skip = {
        f.attname for f in fields.values() if f.name in model.BOOKKEEPING_FIELDS or f.primary_key
    }
    return fields, skip


def _entry(event, changes) -> HistoryEntry:
    context = event.pgh_context or {}
    return HistoryEntry(
        at=event.pgh_created_at,
        action=event.pgh_label,
        username=context.get("username"),
        role=context.get("role"),
        reason=context.get("reason"),
        request_id=context.get("request_id"),
        ip=context.get("ip"),
        task=context.get("task"),
        changes=changes,
    )


def record_history(record: ClinicalRecord) -> list[HistoryEntry]:
    """Return the record's audit events, oldest first, each with its changed fields."""
    model = type(record)
    fields, skip = _field_maps(model)
    entries: list[HistoryEntry] = []
    previous: dict = {}
    for event in Events.objects.tracks(record).order_by("pgh_created_at", "pgh_id"):
        data = event.pgh_data or {}
        entries.append(
            _entry(event, _changes(model, fields, skip, event.pgh_label, previous, data))
        )
        previous = data
    return entries


@dataclass
class AuditRow(HistoryEntry):
    subject: str = ""
    form: str = ""
    record_id: str = ""
    # The model's label (app.Model) and whether the row shows identifying values.
    label: str = ""
    identifying: bool = False


def clinical_models() -> list[type[ClinicalRecord]]:
    return [m for m in apps.get_models() if issubclass(m, ClinicalRecord)]


def readable_models(user) -> list[type[ClinicalRecord]]:
    """The clinical models whose records and history the user may read.

    The one rule for every place that shows records of many models at once (audit review and its
    CSV, exports): what a role may not open (identifying details, for site staff only), it may
    not read there either.
    """
    return [m for m in clinical_models() if can(user, m.view_perm)]


def audit_form_choices(user) -> list[tuple[str, str]]:
    return sorted((m._meta.label, str(m._meta.verbose_name)) for m in readable_models(user))


def audit_rows(filters: dict, *, user) -> list[AuditRow]:
    """Every change of clinical data the user may read, newest first, by participant, user, form
    and date; with the logged views of identifying details for those who may read them."""
    models = {m._meta.label: m for m in readable_models(user)}
    labels = [filters["form"]] if filters.get("form") in models else list(models)
    events = Events.objects.filter(pgh_obj_model__in=labels).order_by("pgh_created_at", "pgh_id")
    if filters.get("participant"):
        events = events.filter(pgh_context__subject=filters["participant"])
    maps = {label: _field_maps(models[label]) for label in labels}
    previous: dict[tuple[str, str], dict] = {}
    rows = []
    for event in events:
        model = models[event.pgh_obj_model]
        fields, skip = maps[event.pgh_obj_model]
        key = (event.pgh_obj_model, event.pgh_obj_id)
        data = event.pgh_data or {}
        entry = _entry(
            event, _changes(model, fields, skip, event.pgh_label, previous.get(key, {}), data)
        )
        previous[key] = data
        rows.append(
            AuditRow(
                **entry.__dict__,
                subject=(event.pgh_context or {}).get("subject", ""),
                form=str(model._meta.verbose_name),
                record_id=event.pgh_obj_id,
                label=event.pgh_obj_model,
                identifying=model.identifying and bool(entry.changes),
            )
        )
    rows.extend(_access_rows(filters, models))
    rows.sort(key=lambda row: row.at)
    if filters.get("user"):
        rows = [row for row in rows if row.username == filters["user"]]
    if filters.get("from"):
        rows = [
            row for row in rows if timezone.localtime(row.at).date().isoformat() >= filters["from"]
        ]
    if filters.get("to"):
        rows = [
            row for row in rows if timezone.localtime(row.at).date().isoformat() <= filters["to"]
        ]
    rows.reverse()
    return rows


def identifying_records(rows: list[AuditRow]) -> list[tuple[str, str, str]]:
    """(label, record id, participant) of the records whose identifying values the rows show."""
    return list(
        dict.fromkeys(
            (row.label, str(row.record_id), row.subject) for row in rows if row.identifying
        )
    )


def _access_rows(filters: dict, models: dict) -> list[AuditRow]:
    """The logged views of identifying details, for readers of those records only (no values)."""
    labels = [label for label, model in models.items() if model.identifying]
    if filters.get("form"):
        labels = [label for label in labels if label == filters["form"]]
    if not labels:
        return []
    logs = AccessLog.objects.filter(record_label__in=labels).order_by("at", "pk")
    if filters.get("participant"):
        logs = logs.filter(subject=filters["participant"])
    return [
        AuditRow(
            at=log.at,
            action=VIEWED,
            username=log.username,
            role=log.role,
            reason=None,
            request_id=log.request_id,
            ip=log.ip,
            task=None,
            changes=[],
            subject=log.subject,
            form=str(models[log.record_label]._meta.verbose_name),
            record_id=log.record_id,
            label=log.record_label,
        )
        for log in logs
    ]


def record_answers(record: ClinicalRecord, field_names: list[str]) -> list[tuple[str, object]]:
    """Return (label, display value) for the named fields, None where empty."""
    answers = []
    for name in field_names:
        field = record._meta.get_field(name)
        value = getattr(record, name)
        if value in (None, ""):
            shown = None
        elif field.choices:
            shown = getattr(record, f"get_{name}_display")()
        else:
            shown = value
        answers.append((str(field.verbose_name), shown))
    return answers
