"""CSV and data-dictionary exports: one CSV per form in a zip, streamed in constant memory."""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.utils import timezone, translation
from django.utils.module_loading import module_has_submodule

from crf.editchecks import Range
from crf.forms import ClinicalRecordForm
from crf.models import ClinicalRecord
from crf.partial_dates import PartialDateField
from crf.selectors import clinical_models, readable_models
from crf.spreadsheet import SafeWriter, safe_cell
from study import protocol

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


# --- The CSV files: PostgreSQL writes the rows --------------------------------------------------
#
# Each form's file is written by `COPY (SELECT ...) TO STDOUT WITH CSV` whose SELECT turns every
# column into the text the file holds: participant and visit joined in, booleans as Y/N, dates and
# times in ISO 8601 as Python writes them, choice labels beside their codes, and text that would
# start a spreadsheet formula prefixed with an apostrophe exactly as crf.spreadsheet.safe_cell
# does. Python only writes the header, turns PostgreSQL's line ends into the CRLF of Python's csv
# module, and compresses. tests/reports/test_csv_same_output.py holds the files to the output of
# the row-by-row Python writer this replaced.

ROWS_PER_COPY = 5000  # rows one COPY writes into the zip before the chunk is handed on

# safe_cell in SQL: a text beginning with = + - @ tab or CR that is not a number gets a "'".
_FORMULA_START = "left({0}, 1) IN ('=', '+', '-', '@', chr(9), chr(13))"
_NUMBER = r"'^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$'"


def _safe(expression: str) -> str:
    """The SQL of a text expression as the CSV holds it: '' as nothing, formulas as text."""
    value = f"NULLIF({expression}, '')"
    return (
        f"CASE WHEN {_FORMULA_START.format(value)} AND {value} !~ {_NUMBER} "
        f"THEN '''' || {value} ELSE {value} END"
    )


def _iso_time(expression: str) -> str:
    """A timestamp (without time zone) as Python's isoformat writes it: fractions only if any."""
    return (
        f"""to_char({expression}, 'YYYY-MM-DD"T"HH24:MI:SS') || """
        f"CASE WHEN to_char({expression}, 'US') = '000000' THEN '' "
        f"ELSE '.' || to_char({expression}, 'US') END"
    )


def _column_sql(field: models.Field, column: str) -> str:
    """The SQL of one field's value as the CSV writes it."""
    if isinstance(field, models.BooleanField):
        return f"CASE WHEN {column} THEN 'Y' WHEN NOT {column} THEN 'N' END"
    if isinstance(field, ArrayField):
        return _safe(f"array_to_string({column}, ';', 'None')")
    if isinstance(field, models.DateTimeField):
        utc = f"({column} AT TIME ZONE 'UTC')"
        return f"{_iso_time(utc)} || '+00:00'"
    if isinstance(field, models.DateField):
        return f"to_char({column}, 'YYYY-MM-DD')"
    if isinstance(field, models.TimeField):
        stamp = f"(DATE '2000-01-01' + {column})"
        return f"substr({_iso_time(stamp)}, 12)"
    if isinstance(field, (models.CharField, models.TextField)):
        return _safe(column)
    return column  # numbers: PostgreSQL writes them as Python's str() does


def _literal(value) -> str:
    """A constant as an SQL literal (text, number or boolean)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _label_sql(field: models.Field, column: str) -> str:
    """The label of a choice field's code as safe_cell writes it, nothing for other codes."""
    cases = " ".join(
        f"WHEN {_literal(code)} THEN {_literal(safe_cell(str(label)))}"
        for code, label in field.flatchoices
        if str(label) != "" and code not in (None, "")
    )
    return f"CASE {column} {cases} END" if cases else "NULL"


def _select(model: type[ClinicalRecord]) -> tuple[list[str], str]:
    """The header and the SELECT of one form's CSV rows, for a range of primary keys.

    The ORM writes the joins to participant and visit; its columns are named c0 (the primary
    key), c1, ... here. The SQL ends in a range of primary keys to fill in with str.format.
    """
    items = form_items(model)
    subject, visit = _subject_path(model)
    paths = ["pk", *(p for p in (subject, visit) if p), *(i.field.attname for i in items)]
    inner_sql, inner_params = (
        model.objects.values_list(*paths).query.get_compiler(connection=connection).as_sql()
    )
    with connection.cursor() as cursor:
        inner_sql = cursor.mogrify(inner_sql, inner_params).decode()
    names = [f"c{n}" for n in range(len(paths))]
    pk, rest = names[0], names[1:]
    subj = rest.pop(0) if subject else None
    vis = rest.pop(0) if visit else None
    header = ["STUDYID", "USUBJID", "SUBJID", "VISIT", "RECORD_ID"]
    usubjid = f"CASE WHEN {subj} <> '' THEN {_literal(protocol.STUDY_ID + '-')} || {subj} END"
    columns = [
        _literal(safe_cell(protocol.STUDY_ID)),
        usubjid if subj else "NULL",
        _safe(subj) if subj else "NULL",
        _safe(vis) if vis else "NULL",
        pk,
    ]
    for item, column in zip(items, rest, strict=True):
        header.append(item.field.attname)
        columns.append(_column_sql(item.field, column))
        if item.field.choices:
            header.append(f"{item.field.name}_label")
            columns.append(_label_sql(item.field, column))
    select = f"SELECT {', '.join(columns)} FROM ({inner_sql}) AS form ({', '.join(names)})"  # noqa: S608
    return header, select + " WHERE c0 >= {low:d} AND c0 < {high:d} ORDER BY c0"


def _pk_bounds(model: type[ClinicalRecord]) -> list[int]:
    """Every ROWS_PER_COPY-th primary key of the form's records, from the first."""
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "{pk}" FROM (SELECT "{pk}", row_number() OVER (ORDER BY "{pk}") AS n '  # noqa: S608
            f'FROM "{table}") AS numbered WHERE n %% %s = 1 ORDER BY "{pk}"',
            [ROWS_PER_COPY],
        )
        return [row[0] for row in cursor.fetchall()]


class _CrLf:
    """Writes PostgreSQL's CSV with the CRLF line ends of Python's csv module.

    A line feed outside quotes ends a row; inside quotes it is data and stays as it is. A quote
    inside a quoted value is doubled, so the count of quotes so far tells which is which.
    COPY hands over one row per write: rows are gathered and converted 64 KiB at a time.
    """

    BUFFER = 1 << 16

    def __init__(self, raw):
        self.raw = raw
        self.buffer = bytearray()
        self.quoted = False  # inside a quoted value at the end of what was converted

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= self.BUFFER:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if not self.buffer:
            return
        parts = bytes(self.buffer).split(b'"')
        self.buffer.clear()
        for index in range(1 if self.quoted else 0, len(parts), 2):
            parts[index] = parts[index].replace(b"\n", b"\r\n")
        self.quoted = (self.quoted + len(parts) - 1) % 2 == 1
        self.raw.write(b'"'.join(parts))


def csv_zip_stream(user=None) -> Iterator[bytes]:
    """A zip of one CSV per form plus the data dictionary, produced chunk by chunk."""
    sink = _Sink()
    with (
        translation.override("en"),
        zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for model in exportable_models(user):
            header, select = _select(model)
            bounds = _pk_bounds(model)
            with archive.open(
                f"{model._meta.label_lower.replace('.', '_')}.csv", mode="w", force_zip64=True
            ) as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                SafeWriter(text).writerow(header)
                text.flush()
                text.detach()
                rows = _CrLf(raw)
                for low, high in zip(bounds, [*bounds[1:], 2**63 - 1][: len(bounds)], strict=True):
                    with connection.cursor() as cursor:
                        sql = select.replace("{low:d}", str(int(low))).replace(
                            "{high:d}", str(int(high))
                        )
                        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", rows)
                    rows.flush()
                    yield sink.take()
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
