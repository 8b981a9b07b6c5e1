"""CSV exports (one file per form in a zip) and the data dictionary."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports import exports
from reports.models import ExportLog
from tests.factories import make_ae, make_participant, make_visit
from tests.reports import csv_reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(coordinator):
    from crf.services import record_create
    from enrollment.models import Identity
    from outcomes.models import VitalSigns

    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=10)
    )
    record_create(
        record=Identity(
            screening=participant.screening, full_name="Wang Fang", phone="13800000000"
        ),
        actor=coordinator,
    )
    visit = make_visit(participant, coordinator, "baseline")
    record_create(
        record=VitalSigns(visit=visit, sbp=121, dbp=79, spo2=93, temperature="36.9"),
        actor=coordinator,
    )
    make_ae(participant, coordinator, term="Cough", grade=2)
    return participant


@pytest.mark.parametrize("persona", ["investigator", "monitor"])
def test_the_exports_page_names_the_forms_in_the_export(request, client_for, persona, trial):
    response = client_for(request.getfixturevalue(persona)).get("/exports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dose record" in html
    assert "Vital signs" in html
    assert "Identity" not in html


def read_zip(data: bytes) -> dict[str, list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))
            for name in archive.namelist()
        }


def test_the_csv_zip_has_one_file_per_form_with_participant_and_visit_on_every_row(
    client_for, monitor, trial
):
    response = client_for(monitor).get("/exports/csv/")
    assert response.status_code == 200
    files = read_zip(b"".join(response.streaming_content))
    assert (
        "outcomes_vitalsigns.csv" in files
        and "safety_adverseevent.csv" in files
        and "data_dictionary.csv" in files
    )
    assert "enrollment_identity.csv" not in files  # identifying details never leave
    (vitals,) = files["outcomes_vitalsigns.csv"]
    assert (vitals["SUBJID"], vitals["VISIT"], vitals["USUBJID"]) == (
        "MDA5-001",
        "baseline",
        "NCT06919380-MDA5-001",
    )
    assert (vitals["sbp"], vitals["dbp"], vitals["spo2"], vitals["temperature"]) == (
        "121",
        "79",
        "93",
        "36.9",
    )
    (ae,) = files["safety_adverseevent.csv"]
    assert (ae["grade"], ae["outcome"], ae["outcome_label"], ae["serious"]) == (
        "2",
        "recovering",
        "Recovering/resolving",
        "N",
    )
    joined = str(files)
    assert "Wang Fang" not in joined and "13800000000" not in joined
    assert ExportLog.objects.get().kind == "csv"


def test_every_stored_value_round_trips_through_the_csv(trial):
    from outcomes.models import VitalSigns

    record = VitalSigns.objects.get()
    (row,) = read_zip(b"".join(exports.csv_zip_stream()))["outcomes_vitalsigns.csv"]
    for item in exports.form_items(VitalSigns):
        stored = getattr(record, item.field.attname)
        assert row[item.field.attname] == csv_reference._value(stored), item.field.name


def test_the_data_dictionary_gives_oid_labels_in_two_languages_ranges_choices_and_cdisc_names(
    client_for, monitor, trial
):
    rows = {row[0]: row for row in list(exports.dictionary_rows())[1:]}
    sbp = rows["IT.OUTCOMES_VITALSIGNS.SBP"]
    assert sbp[3] == "systolic blood pressure" and sbp[4] != sbp[3]  # Chinese label
    assert (sbp[6], sbp[7], sbp[8], sbp[10]) == (
        "mmHg",
        "80 to 200 mmHg",
        "40 to 300 mmHg",
        "SYSBP",
    )
    flow = rows["IT.DOSING_DOSERECORD.PRE_O2_FLOW"]  # ranges are the ones the entry form checks
    assert (flow[7], flow[8]) == ("0 to 60 L/min", "0 to 80 L/min")
    assert rows["IT.OUTCOMES_VISIT.VISIT_DATE"][7:9] == ["", ""]  # no range, none claimed
    grade = rows["IT.SAFETY_ADVERSEEVENT.OUTCOME"]
    assert "fatal=Fatal" in grade[9] and grade[10] == "AEOUT"
    html = client_for(monitor).get("/exports/dictionary-html/").content.decode()
    assert "IT.OUTCOMES_VITALSIGNS.SBP" in html


@pytest.mark.parametrize("persona", ["coordinator", "dsmb_member"])
def test_only_investigators_and_monitors_export(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))
    assert client.get("/exports/").status_code == 403
    assert client.get("/exports/csv/").status_code == 403


def test_the_export_command_writes_the_same_zip(trial, tmp_path):
    output = tmp_path / "export.zip"
    call_command("export_data", kind="csv", output=str(output), stdout=io.StringIO())
    files = read_zip(output.read_bytes())
    assert len(files["outcomes_vitalsigns.csv"]) == 1
