"""The study zip's CSV files are byte for byte those of the Python writer, on a varied trial.

The export lets PostgreSQL write the rows (`COPY (SELECT ...) TO STDOUT`); the reference is the
row-by-row writer it replaced (tests/reports/csv_reference.py). The trial is the demo trial with
hostile and unusual values written into every field of every exported form: formula starts,
numbers written as text, Chinese, quotes, commas, line breaks, empty and NULL values, old dates,
times and timestamps with and without fractions of a second, unknown choice codes.
"""

from __future__ import annotations

import pytest

from reports import exports
from reports.models import ExportLog
from tests.reports.csv_reference import reference_files, unzip

pytestmark = pytest.mark.django_db


def test_every_file_of_the_zip_is_the_python_writer_s_byte_for_byte(
    varied_trial, client_for, monitor
):
    expected = reference_files()
    assert sum(text.count(b"\n") for text in expected.values()) > 300  # a real trial
    joined = b"".join(expected.values()).decode()
    for hostile in ("'=cmd", "-1,", "咳嗽", '"she said ""no"""', '"two\nlines"', "0999-01-02"):
        assert hostile in joined, hostile  # the roughening reached the files
    actual = unzip(b"".join(exports.csv_zip_stream()))
    assert list(actual) == list(expected)
    for name, content in expected.items():
        assert actual[name] == content, name
    # A user's zip holds the forms that user may read; the download is recorded.
    response = client_for(monitor).get("/exports/csv/")
    assert unzip(b"".join(response.streaming_content)) == reference_files(monitor)
    assert ExportLog.objects.get().kind == "csv"
