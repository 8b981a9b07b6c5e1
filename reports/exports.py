"""CSV and data-dictionary exports: one CSV per form in a zip, streamed in constant memory."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.db import models
from django.utils import timezone, translation
from django.utils.module_loading import module_has_submodule

from crf.editchecks import Range
from crf.forms import ClinicalRecordForm
from crf.models import ClinicalRecord
from crf.partial_dates import PartialDateField
from crf.selectors import clinical_models, readable_models
from crf.spreadsheet import SafeWriter
from trialportal import protocol

# CDISC names of the fields that have one (PROTOCOL.md section 8); others export by field name.
CDISC_NAMES = {
    "enrollment.Screening": {"date_of_birth": "BRTHDTC", "sex": "SEX"},
    "enrollment.Consent": {"consented_at": "RFICDTC"},
    "enrollment.Participant": {"first_dose_date": "RFXSTDTC", "participant_id": "SUBJID"},
    "enrollment.MedicalHistory": {
        "term": "MHTERM",
        "meddra_code": "MHLLTCD",
        "start_date": "MHSTDTC",
        "ongoing": "MHONGO",
        "end_date": "MHENDTC",
    },
    "safety.AdverseEvent": {
        "number": "AESPID",
        "verbatim_term": "AETERM",
        "term": "AEDECOD",
        "onset_date": "AESTDTC",
        "end_date": "AEENDTC",
        "grade": "AETOXGR",
        "serious": "AESER",
        "sae_death": "AESDTH",
        "sae_life_threatening": "AESLIFE",
        "sae_hospitalisation": "AESHOSP",
        "sae_disability": "AESDISAB",
        "sae_congenital": "AESCONG",
        "sae_important": "AESMIE",
        "rel_study_drug": "AEREL",
        "rel_background": "AERELNST",
        "action_taken": "AEACN",
        "outcome": "AEOUT",
    },
    "dosing.DoseRecord": {
        "dose_particles": "EXDOSE",
        "product_lot": "EXLOT",
        "dose_date": "EXSTDTC",
    },
    "outcomes.VitalSigns": {
        "sbp": "SYSBP",
        "dbp": "DIABP",
        "heart_rate": "PULSE",
        "resp_rate": "RESP",
        "temperature": "TEMP",
        "spo2": "OXYSAT",
        "weight": "WEIGHT",
        "height": "HEIGHT",
    },
    "outcomes.LabResult": {
        "analyte": "LBTESTCD",
        "value": "LBORRES",
        "unit": "LBORRESU",
        "normal_low": "LBORNRLO",
        "normal_high": "LBORNRHI",
        "clinically_significant": "LBCLSIG",
    },
    "outcomes.PulmonaryFunction": {"fvc_l": "FVC", "fev1_l": "FEV1", "dlco_value": "DLCO"},
}
# Bookkeeping kept in every export: who and when, and whether the record stands.
KEPT = ("status", "version", "created_at", "updated_at", "retired_at", "retired_reason")


@dataclass(frozen=True)
class Item:
    model: type[ClinicalRecord]
    field: models.Field

    @property
    def oid(self) -> str:
        return (
            f"IT.{self.model._meta.label_lower.replace('.', '_').upper()}.{self.field.name.upper()}"
        )

    @property
    def cdisc(self) -> str:
        return CDISC_NAMES.get(self.model._meta.label, {}).get(self.field.name, "")


def form_items(model: type[ClinicalRecord]) -> list[Item]:
    skip = set(model.BOOKKEEPING_FIELDS) - set(KEPT) | {"id", "locked_at"}
    return [Item(model, f) for f in model._meta.concrete_fields if f.name not in skip]


def exportable_models(user=None) -> list[type[ClinicalRecord]]:
    """The clinical forms in the exports: of those the user may read, every one but identifying
    details, which never leave the site. Without a user (a command run on the server), all of
    them but identifying details."""
    models = clinical_models() if user is None else readable_models(user)
    return sorted(
        (m for m in models if m._meta.label != "enrollment.Identity"),
        key=lambda m: m._meta.label,
    )


def _subject_path(model) -> tuple[str | None, str | None]:
    """The ORM paths to the participant ID and the visit code of a form's records."""
    names = {f.name for f in model._meta.fields}
    return model.subject_lookup(), "visit__code" if "visit" in names else None


def _value(field: models.Field, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_rows(model: type[ClinicalRecord]) -> Iterator[list[str]]:
    """Header, then one row per record: participant ID and visit first, codes then labels."""
    items = form_items(model)
    subject, visit = _subject_path(model)
    header = ["STUDYID", "USUBJID", "SUBJID", "VISIT", "RECORD_ID"]
    for item in items:
        header.append(item.field.attname)
        if item.field.choices:
            header.append(f"{item.field.name}_label")
    yield header
    values = [item.field.attname for item in items]
    extra = [p for p in (subject, visit) if p]
    labels = {
        item.field.attname: dict(item.field.flatchoices) for item in items if item.field.choices
    }
    rows = model.objects.order_by("pk").values_list("pk", *extra, *values)
    for row in rows.iterator(chunk_size=500):  # a server-side cursor: constant memory
        pk, rest = row[0], list(row[1:])
        subj = rest.pop(0) if subject else None
        vis = rest.pop(0) if visit else None
        line = [
            protocol.STUDY_ID,
            f"{protocol.STUDY_ID}-{subj}" if subj else "",
            subj or "",
            vis or "",
            str(pk),
        ]
        for attname, value in zip(values, rest, strict=True):
            line.append(_value(None, value))
            if attname in labels:
                line.append(str(labels[attname].get(value, "")) if value not in (None, "") else "")
        yield line


class _Sink(io.RawIOBase):
    """A write-only stream whose written bytes are taken out in chunks (no seeking)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def csv_zip_stream(user=None) -> Iterator[bytes]:
    """A zip of one CSV per form plus the data dictionary, produced chunk by chunk."""
    sink = _Sink()
    with (
        translation.override("en"),
        zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for model in exportable_models(user):
            with archive.open(
                f"{model._meta.label_lower.replace('.', '_')}.csv", mode="w", force_zip64=True
            ) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                writer = SafeWriter(text)
                for count, row in enumerate(csv_rows(model), start=1):
                    writer.writerow(row)
                    if count % 500 == 0:
                        text.flush()
                        yield sink.take()
                text.flush()
                text.detach()
            yield sink.take()
        with archive.open("data_dictionary.csv", mode="w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = SafeWriter(text)
            for row in dictionary_rows(user):
                writer.writerow(row)
            text.flush()
            text.detach()
    yield sink.take()


# --- Data dictionary ------------------------------------------------------------------------------


@functools.cache
def _form_ranges() -> dict[type, dict[str, Range]]:
    """Each model's edit-check ranges, as its entry form declares them (one source of truth)."""
    for app in apps.get_app_configs():
        if module_has_submodule(app.module, "forms"):
            import_module(f"{app.name}.forms")
    result: dict[type, dict[str, Range]] = {}
    forms = list(ClinicalRecordForm.__subclasses__())
    while forms:
        form = forms.pop()
        forms += form.__subclasses__()
        if form.ranges and getattr(form._meta, "model", None) is not None:
            result.setdefault(form._meta.model, {}).update(form.ranges)
    return result


def item_range(item: Item) -> Range | None:
    """The hard and soft range the entry form checks for this item, if any."""
    return _form_ranges().get(item.model, {}).get(item.field.name)


DATA_TYPES = {
    PartialDateField: "partialDate",
    models.DateField: "date",
    models.DateTimeField: "datetime",
    models.TimeField: "time",
    models.BooleanField: "boolean",
    models.DecimalField: "float",
    models.PositiveSmallIntegerField: "integer",
    models.PositiveIntegerField: "integer",
    models.BigIntegerField: "integer",
    models.ForeignKey: "integer",
    models.OneToOneField: "integer",
}


def data_type(field: models.Field) -> str:
    for kind, name in DATA_TYPES.items():
        if isinstance(field, kind):
            return name
    return "text"


def dictionary_rows(user=None) -> Iterator[list[str]]:
    """OID, form, field, labels in English and Chinese, type, unit, ranges, choices, CDISC name."""
    yield [
        "OID",
        "FORM",
        "FIELD",
        "LABEL_EN",
        "LABEL_ZH",
        "TYPE",
        "UNIT",
        "SOFT_RANGE",
        "HARD_RANGE",
        "CHOICES",
        "CDISC",
    ]
    for model in exportable_models(user):
        for item in form_items(model):
            field = item.field
            limits = item_range(item)
            with translation.override("en"):
                label_en, unit = str(field.verbose_name), str(field.help_text or "")
                choices = "; ".join(f"{code}={label}" for code, label in field.flatchoices)
                soft, hard = (
                    (limits.describe(limits.soft), limits.describe(limits.hard))
                    if limits
                    else ("", "")
                )
            with translation.override("zh-hans"):
                label_zh = str(field.verbose_name)
            yield [
                item.oid,
                model._meta.label,
                field.name,
                label_en,
                label_zh,
                data_type(field),
                limits.unit if limits else unit if len(unit) <= 12 else "",
                soft,
                hard,
                choices,
                item.cdisc,
            ]


def export_stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")
