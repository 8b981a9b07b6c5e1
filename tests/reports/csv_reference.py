"""The CSV study zip as it was written row by row in Python: the reference the export must match.

Kept only for tests: `reports.exports` now lets PostgreSQL write the rows, and
tests/reports/test_csv_same_output.py checks that every file it writes is byte for byte the one
this code writes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from django.utils import translation

from crf.spreadsheet import SafeWriter
from reports.exports import _subject_path, dictionary_rows, exportable_models, form_items
from study import protocol


def _value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list):
        return ";".join(map(str, value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def csv_rows(model) -> Iterator[list[str]]:
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
    for row in rows.iterator(chunk_size=500):
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
            line.append(_value(value))
            if attname in labels:
                line.append(str(labels[attname].get(value, "")) if value not in (None, "") else "")
        yield line


def reference_files(user=None) -> dict[str, bytes]:
    """Each file of the zip, by name in zip order, as the Python writer wrote it."""
    files = {}
    with translation.override("en"):
        for model in exportable_models(user):
            text = io.StringIO(newline="")
            SafeWriter(text).writerows(csv_rows(model))
            files[f"{model._meta.label_lower.replace('.', '_')}.csv"] = text.getvalue().encode()
        text = io.StringIO(newline="")
        SafeWriter(text).writerows(dictionary_rows(user))
        files["data_dictionary.csv"] = text.getvalue().encode()
    return files


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
