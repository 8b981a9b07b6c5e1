"""Reads of the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.db import connection, models
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


# The audit review shows this many days back unless told otherwise, one page at a time.
AUDIT_DEFAULT_DAYS = 30
AUDIT_PAGE_SIZE = 100


def audit_default_from() -> str:
    return (timezone.localdate() - timedelta(days=AUDIT_DEFAULT_DAYS)).isoformat()


class AuditEvents:
    """Every change of clinical data the user may read, and the logged views of identifying
    details for those who may read them, filtered and ordered newest first in the database.

    A sequence for Django's Paginator: `count()` is one query and a slice two (the slice's keys,
    then its events with the version before each), whatever the number of events; iterating
    streams every row in chunks, in constant memory (the CSV download).
    """

    CHUNK = 500

    def __init__(self, filters: dict, *, user, models: dict | None = None):
        if models is None:
            models = {m._meta.label: m for m in readable_models(user)}
        self.models = models
        labels = [filters["form"]] if filters.get("form") in self.models else list(self.models)
        self.labels = labels
        self.maps = {label: _field_maps(self.models[label]) for label in labels}
        self.tables = {label: self.models[label].pgh_event_model._meta.db_table for label in labels}
        self.filters = filters
        # The views logged by this very request (a page showing identity values) come after.
        self.until = timezone.now()
        self.keys_sql, self.keys_params = self._keys()

    # --- SQL -----------------------------------------------------------------------------------

    def _period(self, column: str) -> tuple[list[str], list]:
        conditions, params = [], []
        for name, op, shift in (("from", ">=", 0), ("to", "<", 1)):
            value = self.filters.get(name)
            if not value:
                continue
            try:
                day = date.fromisoformat(value) + timedelta(days=shift)
            except ValueError:
                continue
            conditions.append(f"{column} {op} %s")
            params.append(timezone.make_aware(datetime.combine(day, time.min)))
        return conditions, params

    def _keys(self) -> tuple[str, list]:
        """(label, id, at) of every matching event, as one UNION ALL (names from the models)."""
        parts, params = [], []
        for label in self.labels:
            conditions, values = self._period("e.pgh_created_at")
            for name, key in (("participant", "subject"), ("user", "username")):
                if self.filters.get(name):
                    conditions.append(f"c.metadata ->> '{key}' = %s")
                    values.append(self.filters[name])
            where = " AND ".join(conditions) or "TRUE"
            parts.append(
                f"SELECT %s AS label, e.pgh_id AS id, e.pgh_created_at AS at "  # noqa: S608
                f'FROM "{self.tables[label]}" e '
                f"LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE {where}"
            )
            params += [label, *values]
        viewed = [label for label in self.labels if self.models[label].identifying]
        if viewed:
            conditions, values = self._period("a.at")
            conditions.append("a.record_label = ANY(%s) AND a.at <= %s")
            values += [viewed, self.until]
            for name, column in (("participant", "subject"), ("user", "username")):
                if self.filters.get(name):
                    conditions.append(f"a.{column} = %s")
                    values.append(self.filters[name])
            parts.append(
                f"SELECT %s AS label, a.id AS id, a.at AS at FROM {AccessLog._meta.db_table} a "  # noqa: S608
                f"WHERE {' AND '.join(conditions)}"
            )
            params += [VIEWED, *values]
        if not parts:
            return "SELECT NULL AS label, NULL::bigint AS id, NULL::timestamptz AS at LIMIT 0", []
        return " UNION ALL ".join(parts), params

    def count(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({self.keys_sql}) k", self.keys_params)  # noqa: S608
            return cursor.fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    def _ordered(self) -> str:
        return f"SELECT label, id, at FROM ({self.keys_sql}) k ORDER BY at DESC, label, id DESC"  # noqa: S608

    def __getitem__(self, window: slice) -> list[AuditRow]:
        start, stop = window.start or 0, window.stop
        with connection.cursor() as cursor:
            cursor.execute(
                f"{self._ordered()} LIMIT %s OFFSET %s", [*self.keys_params, stop - start, start]
            )
            keys = cursor.fetchall()
        return self._rows(keys)

    def __iter__(self) -> Iterator[AuditRow]:
        with connection.chunked_cursor() as cursor:
            cursor.execute(self._ordered(), self.keys_params)
            while keys := cursor.fetchmany(self.CHUNK):
                yield from self._rows(keys)

    def identifying_records(self) -> list[tuple[str, str, str]]:
        """The records whose identifying values the rows show (see identifying_records), read
        from the identifying forms' events alone."""
        found = []
        for label in self.labels:
            if self.models[label].identifying:
                events = AuditEvents({**self.filters, "form": label}, user=None, models=self.models)
                found += identifying_records(list(events))
        return list(dict.fromkeys(found))

    def _rows(self, keys: list[tuple]) -> list[AuditRow]:
        """The rows of these keys, in their order (one query for the events, one for views)."""
        by_label: dict[str, list[int]] = {}
        for label, pk, _at in keys:
            by_label.setdefault(label, []).append(pk)
        found: dict[tuple[str, int], AuditRow] = {}
        parts, params = [], []
        for label, pks in by_label.items():
            if label == VIEWED:
                continue
            table = self.tables[label]
            parts.append(
                f"SELECT %s, e.pgh_id, e.pgh_created_at, e.pgh_label, e.pgh_obj_id::text, "  # noqa: S608
                f'to_jsonb(e), (SELECT to_jsonb(p) FROM "{table}" p WHERE p.pgh_obj_id = '
                f"e.pgh_obj_id AND p.pgh_id < e.pgh_id ORDER BY p.pgh_id DESC LIMIT 1), c.metadata "
                f'FROM "{table}" e LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id '
                f"WHERE e.pgh_id = ANY(%s)"
            )
            params += [label, pks]
        if parts:
            with connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join(parts), params)
                for label, pk, at, action, obj_id, data, previous, context in cursor.fetchall():
                    found[(label, pk)] = self._event_row(
                        label, at, action, obj_id, _json(data), _json(previous), _json(context)
                    )
        if VIEWED in by_label:
            for log in AccessLog.objects.filter(pk__in=by_label[VIEWED]):
                found[(VIEWED, log.pk)] = _access_row(log, self.models)
        return [found[(label, pk)] for label, pk, _at in keys if (label, pk) in found]

    def _event_row(self, label, at, action, obj_id, data, previous, context) -> AuditRow:
        model = self.models[label]
        fields, skip = self.maps[label]
        data = {k: v for k, v in data.items() if not k.startswith("pgh_")}
        previous = {k: v for k, v in previous.items() if not k.startswith("pgh_")}
        changes = _changes(model, fields, skip, action, previous, data)
        return AuditRow(
            at=at,
            action=action,
            username=context.get("username"),
            role=context.get("role"),
            reason=context.get("reason"),
            request_id=context.get("request_id"),
            ip=context.get("ip"),
            task=context.get("task"),
            changes=changes,
            subject=context.get("subject", ""),
            form=str(model._meta.verbose_name),
            record_id=obj_id,
            label=label,
            identifying=model.identifying and bool(changes),
        )


def _json(value) -> dict:
    """A JSON column's value (Django leaves jsonb to the caller to decode in raw SQL)."""
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else value


def audit_rows(filters: dict, *, user) -> AuditEvents:
    """The audit review's rows (see AuditEvents), newest first."""
    return AuditEvents(filters, user=user)


def identifying_records(rows: list[AuditRow]) -> list[tuple[str, str, str]]:
    """(label, record id, participant) of the records whose identifying values the rows show."""
    return list(
        dict.fromkeys(
            (row.label, str(row.record_id), row.subject) for row in rows if row.identifying
        )
    )


def _access_row(log: AccessLog, models: dict) -> AuditRow:
    """A logged view of identifying details, for readers of those records only (no values)."""
    return AuditRow(
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
