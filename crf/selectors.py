"""Reads of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db import models
from django.http import Http404
from pghistory.models import Events

from crf.models import ClinicalRecord


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


def record_history(record: ClinicalRecord) -> list[HistoryEntry]:
    """Return the record's audit events, oldest first, each with its changed fields."""
    model = type(record)
    fields = {f.attname: f for f in model._meta.concrete_fields}
    skip = {
        fields[name].attname for name in fields if fields[name].name in model.BOOKKEEPING_FIELDS
    }
    events = Events.objects.tracks(record).order_by("pgh_created_at", "pgh_id")
    entries: list[HistoryEntry] = []
    previous: dict = {}
    for event in events:
        data = event.pgh_data or {}
        changes = []
        for attname, value in data.items():
            if attname in skip or attname not in fields:
                continue
            old = previous.get(attname)
            if event.pgh_label == "insert" and value in (None, ""):
                continue
            if event.pgh_label != "insert" and old == value:
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
        context = event.pgh_context or {}
        entries.append(
            HistoryEntry(
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
        )
        previous = data
    return entries


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
