"""Every CSV the portal writes keeps text that would start a spreadsheet formula as text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from django.core.management import call_command
from django.utils import timezone

from crf.spreadsheet import safe_cell
from tests.factories import make_ae, make_participant

pytestmark = pytest.mark.django_db

HOSTILE = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\tindent", "'\tindent"),
        ("\rreturn", "'\rreturn"),
        ("-3.5", "-3.5"),
        ("+12", "+12"),
        ("-1e-3", "-1e-3"),
        ("-١٢", "'-١٢"),  # not digits a spreadsheet reads as a number
        (-7, -7),
        (2.5, 2.5),
        ("cough", "cough"),
        ("", ""),
        (None, None),
    ],
)
def test_text_that_starts_a_formula_is_kept_as_text_and_numbers_are_untouched(value, expected):
    assert safe_cell(value) == expected


@pytest.fixture
def hostile_ae(coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    return make_ae(participant, coordinator, term="Cough", grade=1, verbatim_term=HOSTILE)


def test_the_ae_listing_csv_writes_formulas_as_text(client_for, investigator, hostile_ae):
    response = client_for(investigator).get("/safety/export.csv")
    text = b"".join(response.streaming_content).decode()
    (row,) = csv.DictReader(io.StringIO(text))
    assert "'" + HOSTILE in row.values()


def test_the_study_zip_writes_formulas_as_text(client_for, monitor, hostile_ae):
    response = client_for(monitor).get("/exports/csv/")
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        rows = list(
            csv.DictReader(
                io.TextIOWrapper(archive.open("safety_adverseevent.csv"), encoding="utf-8")
            )
        )
    assert rows[0]["verbatim_term"] == "'" + HOSTILE


def test_the_audit_csv_writes_formulas_as_text(client_for, monitor, hostile_ae):
    response = client_for(monitor).get("/audit/?format=csv")
    text = b"".join(response.streaming_content).decode()
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert "'" + HOSTILE in cells
    assert HOSTILE not in cells


def test_the_dictionary_command_uses_the_same_writer(tmp_path, monkeypatch):
    from reports import exports

    monkeypatch.setattr(exports, "dictionary_rows", lambda: [["OID", "label"], ["IT.X", "=1+1"]])
    out = tmp_path / "dictionary.csv"
    call_command("export_data", "--format", "dictionary", "--output", str(out))
    assert list(csv.reader(out.open(encoding="utf-8"))) == [["OID", "label"], ["IT.X", "'=1+1"]]
