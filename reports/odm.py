"""A CDISC ODM 1.3.2 snapshot: metadata of every form and item, clinical data of every participant.

Streamed: the XML is produced participant by participant. With ``audit=True`` every value carries
an ODM AuditRecord of its last change (who, where, when, why, and the audit event's ID), and
AdminData lists the users and the site those records refer to.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

from django.contrib.auth import get_user_model
from django.utils import timezone, translation

from enrollment.models import Participant, Screening
from outcomes.models import UNSCHEDULED
from reports.exports import Item, data_type, exportable_models, form_items, item_range
from study import protocol

ODM_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "partialDate": "partialDate",
    "datetime": "datetime",
    "time": "time",
    "boolean": "boolean",
}
MDV = "MDV.1"
LOGS = "SE.LOGS"
UNSCHEDULED_EVENT = "SE.UNSCHEDULED"
SITE_LOCATION = f"LOC.{protocol.SITE_ID}"
SYSTEM_USER = "USR.SYSTEM"


def _oid(prefix: str, model) -> str:
    return f"{prefix}.{model._meta.label_lower.replace('.', '_').upper()}"


def _visit_bound(model) -> bool:
    return "visit" in {f.name for f in model._meta.fields}


def _translated(getter) -> str:
    parts = []
    for lang, code in (("en", "en"), ("zh", "zh-hans")):
        with translation.override(code):
            parts.append(
                f'<TranslatedText xml:lang="{lang}">{escape(str(getter()))}</TranslatedText>'
            )
    return "".join(parts)


def _item_def(item: Item) -> str:
    field = item.field
    xml = [
        f'<ItemDef OID="{item.oid}" Name={quoteattr(field.name)} DataType="{ODM_TYPES[data_type(field)]}"'
    ]
    if item.cdisc:
        xml.append(f' SASFieldName="{item.cdisc[:8]}"')
    xml.append(f"><Question>{_translated(lambda: field.verbose_name)}</Question>")
    limits = item_range(item)
    if limits:
        for comparator, value, kind in (
            ("GE", limits.hard[0], "Hard"),
            ("LE", limits.hard[1], "Hard"),
            ("GE", limits.soft[0], "Soft"),
            ("LE", limits.soft[1], "Soft"),
        ):
            xml.append(
                f'<RangeCheck Comparator="{comparator}" SoftHard="{kind}"><CheckValue>{value:g}</CheckValue></RangeCheck>'
            )
    if field.choices:
        xml.append(f'<CodeListRef CodeListOID="CL.{item.oid[3:]}"/>')
    xml.append("</ItemDef>")
    return "".join(xml)


def _code_list(item: Item) -> str:
    field = item.field
    entries = []
    for code, label in field.flatchoices:
        coded = "1" if code is True else "0" if code is False else str(code)
        entries.append(
            f"<CodeListItem CodedValue={quoteattr(coded)}><Decode>{_translated(lambda label=label: label)}</Decode></CodeListItem>"
        )
    return f'<CodeList OID="CL.{item.oid[3:]}" Name={quoteattr(field.name)} DataType="text">{"".join(entries)}</CodeList>'


def metadata(user=None) -> str:
    models_ = exportable_models(user)
    visit_forms = [m for m in models_ if _visit_bound(m)]
    log_forms = [m for m in models_ if not _visit_bound(m) and m._meta.label != "outcomes.Visit"]
    events = [(f"SE.{v.code.upper()}", str(v.label), visit_forms) for v in protocol.VISITS]
    events.append((UNSCHEDULED_EVENT, "Unscheduled visit", visit_forms))
    events.append((LOGS, "Study logs", log_forms))
    xml = [f'<MetaDataVersion OID="{MDV}" Name="trialportal {protocol.STUDY_ID}"><Protocol>']
    xml += [
        f'<StudyEventRef StudyEventOID="{oid}" OrderNumber="{n}" Mandatory="No"/>'
        for n, (oid, _l, _f) in enumerate(events, 1)
    ]
    xml.append("</Protocol>")
    for oid, label, forms in events:
        repeating = "Yes" if oid == UNSCHEDULED_EVENT else "No"
        xml.append(
            f'<StudyEventDef OID="{oid}" Name={quoteattr(label)} Repeating="{repeating}" Type="{"Common" if oid == LOGS else "Scheduled"}">'
        )
        xml += [f'<FormRef FormOID="{_oid("F", m)}" Mandatory="No"/>' for m in forms]
        xml.append("</StudyEventDef>")
    for model in models_:
        if model._meta.label == "outcomes.Visit":
            continue
        xml.append(
            f'<FormDef OID="{_oid("F", model)}" Name={quoteattr(str(model._meta.verbose_name))} Repeating="No">'
        )
        xml.append(f'<ItemGroupRef ItemGroupOID="{_oid("IG", model)}" Mandatory="Yes"/></FormDef>')
    for model in models_:
        if model._meta.label == "outcomes.Visit":
            continue
        repeating = (
            "No" if _visit_bound(model) and model._meta.label != "outcomes.LabResult" else "Yes"
        )
        xml.append(
            f'<ItemGroupDef OID="{_oid("IG", model)}" Name={quoteattr(str(model._meta.verbose_name))} Repeating="{repeating}">'
        )
        xml += [f'<ItemRef ItemOID="{item.oid}" Mandatory="No"/>' for item in form_items(model)]
        xml.append("</ItemGroupDef>")
    items = [
        item
        for model in models_
        if model._meta.label != "outcomes.Visit"
        for item in form_items(model)
    ]
    xml += [_item_def(item) for item in items]
    xml += [_code_list(item) for item in items if item.field.choices]
    xml.append("</MetaDataVersion>")
    return "".join(xml)


def _value(value) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


_NEEDS_QUOTING = re.compile("[&<>\"'\n\r\t]")


def _attr(value: str) -> str:
    """quoteattr(value), without its work for the many values that need none."""
    return quoteattr(value) if _NEEDS_QUOTING.search(value) else f'"{value}"'


BATCH = 200  # participants whose records are held in memory at once


def _participant_filter(model) -> str | None:
    """The lookup from a record of `model` to its participant's pk (None: not per participant)."""
    names = {f.name for f in model._meta.fields}
    if _visit_bound(model):
        return "visit__participant"
    if model._meta.label == "enrollment.Participant":
        return "pk"
    if model._meta.label == "enrollment.Screening":
        return "participant"
    for name, lookup in (
        ("participant", "participant"),
        ("adverse_event", "adverse_event__participant"),
        ("screening", "screening__participant"),
    ):
        if name in names:
            return lookup
    return None


class Record(NamedTuple):
    """A form's record as the export reads it: the values of its items in form_items order."""

    model: type
    pk: int
    values: list


@functools.cache
def _items(model) -> tuple[tuple[str, str], ...]:
    """(attname, ItemOID) of the form's items, worked out once."""
    return tuple((item.field.attname, item.oid) for item in form_items(model))


def _records_by_participant(
    pks: list[int], user=None
) -> dict[int, list[tuple[str, str | None, Record]]]:
    """(event OID, event repeat key, record) of every current record of these participants.

    One query per form, reading values (not model instances), in the form's own order."""
    result: dict[int, list] = defaultdict(list)
    for model in exportable_models(user):
        lookup = _participant_filter(model)
        if model._meta.label == "outcomes.Visit" or lookup is None:
            continue
        queryset = model.objects.filter(retired_at__isnull=True, **{f"{lookup}__in": pks})
        attnames = [attname for attname, _oid in _items(model)]
        if _visit_bound(model):
            rows = queryset.values_list(
                "pk", "visit__code", "visit__participant_id", "visit_id", *attnames
            )
            for pk, code, participant_id, visit_id, *values in rows:
                if code == UNSCHEDULED:
                    event = (UNSCHEDULED_EVENT, str(visit_id))
                else:
                    event = (f"SE.{code.upper()}", None)
                result[participant_id].append((*event, Record(model, pk, values)))
            continue
        for pk, owner, *values in queryset.values_list("pk", lookup, *attnames):
            result[owner].append((LOGS, None, Record(model, pk, values)))
    return result


def _user_oid(context: dict) -> str:
    user = context.get("user")
    return f"USR.{user}" if user else SYSTEM_USER


def _audit_record(change: dict) -> str:
    """An ODM AuditRecord from one audit event (see `item_changes`), rendered once per event."""
    if "xml" not in change:
        change["xml"] = _render_audit_record(change)
    return change["xml"]


def _render_audit_record(change: dict) -> str:
    context = change["context"]
    reason = context.get("reason")
    xml = [
        f'<AuditRecord><UserRef UserOID="{_user_oid(context)}"/>'
        f'<LocationRef LocationOID="{SITE_LOCATION}"/>'
        f"<DateTimeStamp>{change['at'].isoformat()}</DateTimeStamp>"
    ]
    if reason:
        xml.append(f"<ReasonForChange>{escape(str(reason))}</ReasonForChange>")
    xml.append(f"<SourceID>{escape(change['event'])}</SourceID></AuditRecord>")
    return "".join(xml)


def item_changes(model, pks) -> dict[str, dict[str, dict]]:
    """The last change of every item of these records of `model`, from its audit events.

    Returns {record pk: {attname: {"at", "context", "event"}}}: the audit event that last set
    the item's current value (the insert, or the latest update that changed it).
    """
    attnames = [item.field.attname for item in form_items(model)]
    result: dict[str, dict[str, dict]] = defaultdict(dict)
    previous: dict[int, tuple] = {}
    events = (
        model.pgh_event_model.objects.filter(pgh_obj_id__in=pks)
        .order_by("pgh_obj_id", "pgh_created_at", "pgh_id")
        .values_list("pgh_obj_id", "pgh_id", "pgh_created_at", "pgh_context__metadata", *attnames)
    )
    for obj_id, event_id, at, context, *values in events.iterator(chunk_size=2000):
        before = previous.get(obj_id)
        change = {"at": at, "context": context or {}, "event": f"{model._meta.label}.{event_id}"}
        for index, attname in enumerate(attnames):
            if before is None or before[index] != values[index]:
                result[str(obj_id)][attname] = change
        previous[obj_id] = tuple(values)
    return result


def admin_data() -> str:
    """The users and the site that audit records refer to."""
    xml = [f'<AdminData StudyOID="{protocol.STUDY_ID}">']
    users = get_user_model().objects.order_by("pk")
    for user in users:
        xml.append(
            f'<User OID="USR.{user.pk}"><LoginName>{escape(user.get_username())}</LoginName>'
            f"<DisplayName>{escape(user.printed_name)}</DisplayName></User>"
        )
    xml.append(
        f'<User OID="{SYSTEM_USER}" UserType="Other"><LoginName>system</LoginName>'
        "<DisplayName>trialportal (automatic task)</DisplayName></User>"
    )
    first = Screening.objects.order_by("created_at").values_list("created_at", flat=True).first()
    effective = timezone.localdate(first or timezone.now()).isoformat()
    xml.append(
        f'<Location OID="{SITE_LOCATION}" Name={quoteattr(protocol.SITE_NAME)} LocationType="Site">'
        f'<MetaDataVersionRef StudyOID="{protocol.STUDY_ID}" MetaDataVersionOID="{MDV}" '
        f'EffectiveDate="{effective}"/></Location>'
    )
    xml.append("</AdminData>")
    return "".join(xml)


def odm_stream(audit: bool = False, user=None) -> Iterator[str]:
    """The ODM document, piece by piece; with `audit`, each value carries its last change.

    With a user, only the forms that user may read (exportable_models)."""
    now = timezone.now().isoformat(timespec="seconds")
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'FileType="Snapshot" FileOID="trialportal.{protocol.STUDY_ID}.{now}" CreationDateTime="{now}" '
        'ODMVersion="1.3.2" Originator="trialportal">'
    )
    yield (
        f'<Study OID="{protocol.STUDY_ID}"><GlobalVariables><StudyName>{protocol.STUDY_ID}</StudyName>'
        "<StudyDescription>Nebulized MSC-exos-P1 in anti-MDA5 dermatomyositis with RP-ILD</StudyDescription>"
        f"<ProtocolName>{protocol.STUDY_ID}</ProtocolName></GlobalVariables>"
    )
    yield metadata(user)
    yield "</Study>"
    if audit:
        yield admin_data()
    yield f'<ClinicalData StudyOID="{protocol.STUDY_ID}" MetaDataVersionOID="{MDV}">'
    participants = Participant.objects.order_by("number")
    last = None
    while True:
        page = participants.filter(number__gt=last) if last is not None else participants
        batch = list(page[:BATCH])
        if not batch:
            break
        last = batch[-1].number
        records = _records_by_participant([p.pk for p in batch], user)
        changes = _changes(records) if audit else None
        for participant in batch:
            yield _subject(participant, records.get(participant.pk, []), changes)
    yield "</ClinicalData></ODM>\n"


def _changes(records: dict[int, list]) -> dict[type, dict]:
    """The last change of every item of these records, by model."""
    pks: dict[type, list[int]] = defaultdict(list)
    for participant_records in records.values():
        for _event, _repeat, record in participant_records:
            pks[record.model].append(record.pk)
    return {model: item_changes(model, model_pks) for model, model_pks in pks.items()}


def _subject(participant, records, changes: dict[type, dict] | None = None) -> str:
    events: dict[tuple[str, str | None], list] = defaultdict(list)
    for event, repeat, record in records:
        events[(event, repeat)].append(record)
    xml = [f"<SubjectData SubjectKey={quoteattr(participant.participant_id)}>"]
    for (event, repeat), event_records in sorted(
        events.items(), key=lambda e: (e[0][0], e[0][1] or "")
    ):
        key = f" StudyEventRepeatKey={quoteattr(repeat)}" if repeat else ""
        xml.append(f'<StudyEventData StudyEventOID="{event}"{key}>')
        by_model: dict[type, list] = defaultdict(list)
        for record in event_records:
            by_model[record.model].append(record)
        for model, model_records in by_model.items():
            xml.append(f'<FormData FormOID="{_oid("F", model)}">')
            group = _oid("IG", model)
            items = _items(model)
            model_changes = changes.get(model, {}) if changes is not None else None
            for record in model_records:
                xml.append(
                    f'<ItemGroupData ItemGroupOID="{group}" ItemGroupRepeatKey="{record.pk}">'
                )
                record_changes = (
                    model_changes.get(str(record.pk), {}) if model_changes is not None else {}
                )
                for (attname, oid), raw in zip(items, record.values, strict=True):
                    if raw is None or raw == "":
                        continue
                    value = raw if raw.__class__ is str else _value(raw)
                    if value is None:
                        continue
                    change = record_changes.get(attname)
                    if change is None:
                        xml.append(f'<ItemData ItemOID="{oid}" Value={_attr(value)}/>')
                    else:
                        xml.append(
                            f'<ItemData ItemOID="{oid}" Value={_attr(value)}>'
                            f"{_audit_record(change)}</ItemData>"
                        )
                xml.append("</ItemGroupData>")
            xml.append("</FormData>")
        xml.append("</StudyEventData>")
    xml.append("</SubjectData>")
    return "".join(xml)
