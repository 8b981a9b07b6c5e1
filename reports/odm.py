"""A CDISC ODM 1.3.2 snapshot: metadata of every form and item, clinical data of every participant.

Streamed: the XML is produced participant by participant, in constant memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from xml.sax.saxutils import escape, quoteattr

from django.utils import timezone, translation

from enrollment.models import Participant
from outcomes.models import UNSCHEDULED
from reports.exports import Item, data_type, exportable_models, form_items, item_range
from trialportal import protocol

ODM_TYPES = {
    "text": "text",
    "integer": "integer",
    "float": "float",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "boolean": "boolean",
}
MDV = "MDV.1"
LOGS = "SE.LOGS"
UNSCHEDULED_EVENT = "SE.UNSCHEDULED"


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


def metadata() -> str:
    models_ = exportable_models()
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


def _records_by_participant() -> dict[int, list[tuple[str, str | None, object]]]:
    """(event OID, event repeat key, record) of every current record, by participant pk."""
    result: dict[int, list] = defaultdict(list)
    for model in exportable_models():
        if model._meta.label == "outcomes.Visit":
            continue
        names = {f.name for f in model._meta.fields}
        queryset = model.objects.filter(retired_at__isnull=True)
        if _visit_bound(model):
            for record in queryset.select_related("visit").iterator(chunk_size=500):
                visit = record.visit
                if visit.code == UNSCHEDULED:
                    result[visit.participant_id].append((UNSCHEDULED_EVENT, str(visit.pk), record))
                else:
                    result[visit.participant_id].append((f"SE.{visit.code.upper()}", None, record))
        elif model._meta.label == "enrollment.Participant":
            for record in queryset.iterator(chunk_size=500):
                result[record.pk].append((LOGS, None, record))
        elif "participant" in names:
            for record in queryset.iterator(chunk_size=500):
                result[record.participant_id].append((LOGS, None, record))
        elif "adverse_event" in names:
            for record in queryset.select_related("adverse_event").iterator(chunk_size=500):
                result[record.adverse_event.participant_id].append((LOGS, None, record))
        elif "screening" in names or model._meta.label == "enrollment.Screening":
            related = "screening__participant" if "screening" in names else "participant"
            for record in queryset.select_related(related).iterator(chunk_size=500):
                screening = record.screening if "screening" in names else record
                participant = getattr(screening, "participant", None)
                if participant is not None:
                    result[participant.pk].append((LOGS, None, record))
    return result


def odm_stream() -> Iterator[str]:
    """The ODM document, piece by piece."""
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
    yield metadata()
    yield f'</Study><ClinicalData StudyOID="{protocol.STUDY_ID}" MetaDataVersionOID="{MDV}">'
    records = _records_by_participant()
    for participant in Participant.objects.order_by("number").iterator(chunk_size=200):
        yield _subject(participant, records.get(participant.pk, []))
    yield "</ClinicalData></ODM>\n"


def _subject(participant, records) -> str:
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
            by_model[type(record)].append(record)
        for model, model_records in by_model.items():
            xml.append(f'<FormData FormOID="{_oid("F", model)}">')
            items = form_items(model)
            for record in model_records:
                xml.append(
                    f'<ItemGroupData ItemGroupOID="{_oid("IG", model)}" ItemGroupRepeatKey="{record.pk}">'
                )
                for item in items:
                    value = _value(getattr(record, item.field.attname))
                    if value is not None:
                        xml.append(f'<ItemData ItemOID="{item.oid}" Value={quoteattr(value)}/>')
                xml.append("</ItemGroupData>")
            xml.append("</FormData>")
        xml.append("</StudyEventData>")
    xml.append("</SubjectData>")
    return "".join(xml)
