"""The CDISC ODM 1.3.2 export validates against the official schema and holds every value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from lxml import etree

from reports.exports import form_items
from reports.odm import odm_stream
from tests.factories import make_ae, make_participant, make_visit

pytestmark = pytest.mark.django_db

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture
def trial(coordinator):
    from crf.services import record_create
    from outcomes.models import LabResult, VitalSigns

    first = make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=10))
    make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=2))
    visit = make_visit(first, coordinator, "baseline")
    record_create(record=VitalSigns(visit=visit, sbp=121, dbp=79, spo2=93), actor=coordinator)
    record_create(
        record=LabResult(visit=visit, analyte="ferritin", value="1800", unit="ng/mL"),
        actor=coordinator,
    )
    extra = make_visit(first, coordinator, "unscheduled", on=timezone.localdate(), reason="fever")
    record_create(record=VitalSigns(visit=extra, temperature="38.4"), actor=coordinator)
    make_ae(first, coordinator, term="Cough", grade=2)
    return first


def build() -> etree._Element:
    return etree.fromstring("".join(odm_stream()).encode())


def test_the_odm_export_validates_against_the_cdisc_schema(trial):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = build()
    assert schema.validate(document), schema.error_log


def test_one_subject_per_participant_and_one_item_per_stored_value(trial):
    from enrollment.models import Participant
    from outcomes.models import VitalSigns

    document = build()
    subjects = document.findall(".//odm:SubjectData", NS)
    assert sorted(s.get("SubjectKey") for s in subjects) == sorted(
        Participant.objects.values_list("participant_id", flat=True)
    )
    vitals = VitalSigns.objects.get(visit__code="baseline")
    groups = document.findall(
        ".//odm:StudyEventData[@StudyEventOID='SE.BASELINE']//odm:ItemGroupData[@ItemGroupOID='IG.OUTCOMES_VITALSIGNS']",
        NS,
    )
    assert len(groups) == 1
    stored = [
        item
        for item in form_items(VitalSigns)
        if getattr(vitals, item.field.attname) not in (None, "", [])
    ]
    items = {i.get("ItemOID"): i.get("Value") for i in groups[0].findall("odm:ItemData", NS)}
    assert len(items) == len(stored)
    assert items["IT.OUTCOMES_VITALSIGNS.SBP"] == "121"


def test_the_metadata_has_questions_in_english_and_chinese_range_checks_and_code_lists(trial):
    document = build()
    sbp = document.find(".//odm:ItemDef[@OID='IT.OUTCOMES_VITALSIGNS.SBP']", NS)
    langs = {
        t.get("{http://www.w3.org/XML/1998/namespace}lang")
        for t in sbp.findall("odm:Question/odm:TranslatedText", NS)
    }
    assert langs == {"en", "zh"}
    checks = {
        (r.get("Comparator"), r.get("SoftHard"), r.find("odm:CheckValue", NS).text)
        for r in sbp.findall("odm:RangeCheck", NS)
    }
    assert ("GE", "Hard", "40") in checks and ("LE", "Soft", "200") in checks
    outcome = document.find(
        ".//odm:ItemDef[@OID='IT.SAFETY_ADVERSEEVENT.OUTCOME']/odm:CodeListRef", NS
    )
    assert document.find(f".//odm:CodeList[@OID='{outcome.get('CodeListOID')}']", NS) is not None
    assert document.find(".//odm:StudyEventData[@StudyEventOID='SE.UNSCHEDULED']", NS).get(
        "StudyEventRepeatKey"
    )


def test_the_odm_download_and_command(client_for, monitor, trial, tmp_path):
    import io

    from django.core.management import call_command

    response = client_for(monitor).get("/exports/odm/")
    assert response.status_code == 200
    assert b"<SubjectData" in b"".join(response.streaming_content)
    output = tmp_path / "odm.xml"
    call_command("export_data", kind="odm", output=str(output), stdout=io.StringIO())
    assert etree.parse(str(output)).getroot().get("ODMVersion") == "1.3.2"


def test_the_audited_export_validates_and_gives_every_value_its_last_change(
    trial, coordinator, investigator
):
    from crf.services import record_update
    from outcomes.models import VitalSigns

    vitals = VitalSigns.objects.get(visit__code="baseline")
    vitals.sbp = 131
    record_update(
        record=vitals,
        actor=investigator,
        expected_version=vitals.version,
        reason="Transcription error, source says 131",
    )
    text = "".join(odm_stream(audit=True))
    document = etree.fromstring(text.encode())
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log

    items = document.findall(".//odm:ItemData", NS)
    assert items and all(item.find("odm:AuditRecord", NS) is not None for item in items)
    users = {u.get("OID") for u in document.findall(".//odm:AdminData/odm:User", NS)}
    locations = {loc.get("OID") for loc in document.findall(".//odm:AdminData/odm:Location", NS)}
    for record in document.findall(".//odm:AuditRecord", NS):
        assert record.find("odm:UserRef", NS).get("UserOID") in users
        assert record.find("odm:LocationRef", NS).get("LocationOID") in locations

    group = f".//odm:ItemGroupData[@ItemGroupOID='IG.OUTCOMES_VITALSIGNS'][@ItemGroupRepeatKey='{vitals.pk}']"
    sbp = document.find(f"{group}/odm:ItemData[@ItemOID='IT.OUTCOMES_VITALSIGNS.SBP']", NS)
    assert sbp.get("Value") == "131"
    changed = sbp.find("odm:AuditRecord", NS)
    assert changed.find("odm:UserRef", NS).get("UserOID") == f"USR.{investigator.pk}"
    assert changed.find("odm:ReasonForChange", NS).text == "Transcription error, source says 131"
    # A value the edit left alone keeps the coordinator's original entry, with no reason.
    dbp = document.find(f"{group}/odm:ItemData[@ItemOID='IT.OUTCOMES_VITALSIGNS.DBP']", NS)
    untouched = dbp.find("odm:AuditRecord", NS)
    assert untouched.find("odm:UserRef", NS).get("UserOID") == f"USR.{coordinator.pk}"
    assert untouched.find("odm:ReasonForChange", NS) is None
    assert changed.find("odm:SourceID", NS).text != untouched.find("odm:SourceID", NS).text
    # Without the option there is no audit data at all.
    assert "<AuditRecord>" not in "".join(odm_stream())


def test_the_audited_download_and_command_are_logged(client_for, monitor, trial, tmp_path):
    import io

    from django.core.management import call_command

    from reports.models import ExportLog

    response = client_for(monitor).get("/exports/odm-audit/")
    assert response.status_code == 200
    assert "odm-audit" in response["Content-Disposition"]
    assert b"<AuditRecord>" in b"".join(response.streaming_content)
    output = tmp_path / "odm.xml"
    call_command("export_data", kind="odm", audit=True, output=str(output), stdout=io.StringIO())
    assert etree.parse(str(output)).find(".//odm:AuditRecord", NS) is not None
    assert set(ExportLog.objects.values_list("kind", flat=True)) == {
        "odm-audit",
        "command:odm-audit",
    }


def test_participants_read_in_small_batches_give_the_same_document(trial, coordinator, monkeypatch):
    import re

    import reports.odm

    make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=1))

    def clinical(audit: bool) -> str:
        text = "".join(odm_stream(audit=audit))
        return re.sub(r"(FileOID|CreationDateTime)=\"[^\"]*\"", "", text)

    whole = {audit: clinical(audit) for audit in (False, True)}
    monkeypatch.setattr(reports.odm, "BATCH", 1)
    for audit in (False, True):
        assert clinical(audit) == whole[audit]
    assert whole[True].count("<SubjectData ") == 3
