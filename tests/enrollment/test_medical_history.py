"""Medical history: conditions present before the first dose, with full or partial dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crf import partial_dates
from enrollment.models import MedicalHistory
from enrollment.services import medical_history_save
from tests.factories import make_participant

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def participant(coordinator):
    """First dose 30 days ago."""
    return make_participant(coordinator, first_dose=TODAY() - dt.timedelta(days=30))


def base(participant) -> str:
    return f"/participants/{participant.participant_id}/medical-history/"


def form_data(**changes) -> dict:
    data = {"term": "Type 2 diabetes mellitus", "meddra_code": "", "start_date": "2016-04"}
    data.update({"ongoing": "True", "end_date": ""})
    data.update({k: str(v) for k, v in changes.items()})
    return data


def add(participant, actor, **fields) -> MedicalHistory:
    values = {"term": "Hypertension", "start_date": "2019-03", "ongoing": True, "end_date": ""}
    values.update(fields)
    return medical_history_save(
        history=MedicalHistory(participant=participant, **values), actor=actor
    )


# --- Partial dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2019", "2019"),
        ("2019-5", "2019-05"),
        ("2019/05/03", "2019-05-03"),
        (" 2020.2.29 ", "2020-02-29"),
    ],
)
def test_a_partial_date_is_stored_as_iso(typed, stored):
    assert partial_dates.normalise(typed) == stored


@pytest.mark.parametrize("typed", ["19", "2019-13", "2019-02-30", "2021-02-29", "May 2019", "1850"])
def test_a_date_that_does_not_exist_is_refused(typed):
    with pytest.raises(ValidationError):
        partial_dates.normalise(typed)


def test_the_bounds_of_a_partial_date():
    assert partial_dates.bounds("2020-02") == (dt.date(2020, 2, 1), dt.date(2020, 2, 29))
    assert partial_dates.bounds("2019") == (dt.date(2019, 1, 1), dt.date(2019, 12, 31))


# --- Through the pages --------------------------------------------------------------------------


def test_a_coordinator_adds_a_condition_from_the_casebook(client_for, coordinator, participant):
    client = client_for(coordinator)
    casebook = client.get(participant.get_absolute_url()).content.decode()
    assert f'href="{base(participant)}new/"' in casebook
    response = client.post(f"{base(participant)}new/", form_data(start_date="2016/4"))
    assert response.status_code == 302 and response["Location"] == base(participant)
    history = MedicalHistory.objects.get()
    assert (history.term, history.start_date, history.ongoing) == (
        "Type 2 diabetes mellitus",
        "2016-04",
        True,
    )
    listing = client.get(base(participant)).content.decode()
    assert "Type 2 diabetes mellitus" in listing and "2016-04" in listing
    casebook = client.get(participant.get_absolute_url()).content.decode()
    assert 'data-testid="casebook-medical-history"' in casebook
    assert "Type 2 diabetes mellitus" in casebook


def test_a_change_needs_a_reason_and_is_in_the_history(client_for, coordinator, participant):
    history = add(participant, coordinator)
    client = client_for(coordinator)
    url = f"{base(participant)}{history.pk}/"
    data = form_data(term="Essential hypertension", start_date="2019-03", version=history.version)
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["reason_for_change"]
    response = client.post(url, {**data, "reason_for_change": "Source says essential."})
    assert response.status_code == 302
    history.refresh_from_db()
    assert history.term == "Essential hypertension"
    page = client.get(history.history_url()).content.decode()
    assert "Source says essential." in page


def test_a_condition_entered_in_error_is_retired_not_deleted(client_for, coordinator, participant):
    history = add(participant, coordinator)
    client = client_for(coordinator)
    edit_page = client.get(f"{base(participant)}{history.pk}/").content.decode()
    retire_url = f"/records/enrollment.medicalhistory/{history.pk}/retire/"
    assert retire_url in edit_page
    response = client.post(retire_url, {"version": history.version, "reason": "Wrong patient."})
    assert response.status_code == 302
    history.refresh_from_db()
    assert history.is_retired and MedicalHistory.objects.count() == 1
    listing = client.get(base(participant))
    assert list(listing.context["conditions"]) == []
    assert 'data-testid="medical-history-retired"' in listing.content.decode()
    casebook = client.get(participant.get_absolute_url()).content.decode()
    assert "Hypertension" not in casebook


RULES = [
    ({"start_date": "2019-13"}, "start_date", "partial_date"),
    ({"start_date": ""}, "start_date", "required"),
    ({"term": ""}, "term", "required"),
    ({"meddra_code": "1234"}, "meddra_code", "meddra"),
    ({"ongoing": ""}, "ongoing", "required"),
    ({"ongoing": "True", "end_date": "2020"}, "end_date", "ongoing_with_end"),
    ({"ongoing": "False", "end_date": ""}, "end_date", "end_required"),
    ({"start_date": "2019-05", "ongoing": "False", "end_date": "2019-04-30"}, "end_date", "order"),
    ({"start_date": "2019", "ongoing": "False", "end_date": "2018-12"}, "end_date", "order"),
    ({"ongoing": "False", "end_date": "2999-01"}, "end_date", "future"),
    ({"start_date": "2999"}, "start_date", "future"),
    # The factory's participant was born on 14 March, 52 years before this year.
    ({"start_date": f"{TODAY().year - 60}"}, "start_date", "before_birth"),
    ({"start_date": f"{TODAY().year - 52}-02"}, "start_date", "before_birth"),
]


def test_a_condition_may_start_in_the_month_of_birth(client_for, coordinator, participant):
    month = participant.screening.date_of_birth.isoformat()[:7]
    response = client_for(coordinator).post(f"{base(participant)}new/", form_data(start_date=month))
    assert response.status_code == 302


def _after_first_dose(participant) -> dict:
    return {"start_date": (participant.first_dose_date + dt.timedelta(days=1)).isoformat()}


@pytest.mark.parametrize(("changes", "field", "code"), RULES)
def test_each_rule_is_checked_at_the_field_on_create(
    client_for, coordinator, participant, changes, field, code
):
    data = form_data(**changes)
    response = client_for(coordinator).post(f"{base(participant)}new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error(field, code), form.errors.as_data()
    assert form.data["term"] == data["term"]  # the input is kept
    assert MedicalHistory.objects.count() == 0


@pytest.mark.parametrize(("changes", "field", "code"), RULES)
def test_each_rule_is_checked_at_the_field_on_edit(
    client_for, coordinator, participant, changes, field, code
):
    history = add(participant, coordinator)
    data = form_data(version=history.version, reason_for_change="correction", **changes)
    response = client_for(coordinator).post(f"{base(participant)}{history.pk}/", data)
    assert response.status_code == 200
    assert response.context["form"].has_error(field, code)
    history.refresh_from_db()
    assert history.version == 1


@pytest.mark.parametrize("day", [0, 1])
def test_a_condition_from_the_first_dose_on_is_an_adverse_event(
    client_for, coordinator, participant, day
):
    start = (participant.first_dose_date + dt.timedelta(days=day)).isoformat()
    response = client_for(coordinator).post(f"{base(participant)}new/", form_data(start_date=start))
    assert response.context["form"].has_error("start_date", "after_first_dose")
    assert "adverse event" in response.content.decode()


def test_the_month_of_the_first_dose_may_be_given_as_a_partial_start(
    client_for, coordinator, participant
):
    month = participant.first_dose_date.isoformat()[:7]
    response = client_for(coordinator).post(f"{base(participant)}new/", form_data(start_date=month))
    assert response.status_code == 302


def test_an_end_inside_a_partial_start_is_accepted(coordinator, participant):
    history = add(participant, coordinator, start_date="2019-05-10", ongoing=False, end_date="2019")
    assert history.end_date == "2019"


def test_the_service_refuses_what_the_form_refuses(coordinator, participant):
    with pytest.raises(ValidationError) as error:
        add(participant, coordinator, ongoing=False, end_date="")
    assert "end_date" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        add(participant, coordinator, **_after_first_dose(participant))
    assert "start_date" in error.value.message_dict


def test_the_database_refuses_an_end_before_the_start(coordinator, participant):
    history = add(participant, coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():
        MedicalHistory.objects.filter(pk=history.pk).update(ongoing=False, end_date="2018")
    with pytest.raises(IntegrityError), transaction.atomic():
        MedicalHistory.objects.filter(pk=history.pk).update(ongoing=False, end_date="")


def test_every_change_is_audited_under_the_participant(
    client_for, coordinator, monitor, participant
):
    history = add(participant, coordinator)
    rows = (
        client_for(monitor)
        .get(
            "/audit/",
            {"participant": participant.participant_id, "form": "enrollment.MedicalHistory"},
        )
        .context["rows"]
    )
    assert [row.record_id for row in rows] == [str(history.pk)]


# --- Access -------------------------------------------------------------------------------------


def test_a_monitor_reads_but_does_not_write(client_for, coordinator, monitor, participant):
    history = add(participant, coordinator)
    client = client_for(monitor)
    listing = client.get(base(participant))
    assert listing.status_code == 200 and "Hypertension" in listing.content.decode()
    assert f"{base(participant)}new/" not in listing.content.decode()
    assert client.get(f"{base(participant)}new/").status_code == 403
    assert client.post(f"{base(participant)}new/", form_data()).status_code == 403
    assert client.get(f"{base(participant)}{history.pk}/").status_code == 403
    assert "Hypertension" in client.get(participant.get_absolute_url()).content.decode()


@pytest.mark.parametrize("persona", ["dsmb_member", "outsider"])
def test_dsmb_and_outsiders_see_nothing(request, client_for, coordinator, participant, persona):
    history = add(participant, coordinator)
    client = client_for(request.getfixturevalue(persona))
    for url in (base(participant), f"{base(participant)}new/", f"{base(participant)}{history.pk}/"):
        assert client.get(url).status_code == 403


def test_the_list_page_issues_a_fixed_number_of_queries(
    client_for, coordinator, participant, django_assert_max_num_queries
):
    for year in range(2000, 2010):
        add(participant, coordinator, start_date=str(year))
    client = client_for(coordinator)
    with django_assert_max_num_queries(12):
        assert client.get(base(participant)).status_code == 200


# --- The adverse-event form points to it --------------------------------------------------------


def test_an_adverse_event_before_the_first_dose_links_to_the_medical_history(
    client_for, coordinator, participant
):
    from safety.models import CtcaeTerm

    data = {
        "verbatim_term": "cough",
        "term": CtcaeTerm.objects.get(term="Cough").pk,
        "onset_date": (participant.first_dose_date - dt.timedelta(days=3)).isoformat(),
        "grade": "1",
        "serious": "False",
        "action_taken": "none",
        "outcome": "recovering",
        "ongoing": "True",
    }
    response = client_for(coordinator).post(f"/safety/ae/new/{participant.participant_id}/", data)
    assert response.status_code == 200
    assert response.context["form"].has_error("onset_date", "before_first_dose")
    html = response.content.decode()
    assert 'data-testid="medical-history-hint"' in html
    onset = data["onset_date"]
    assert f'href="{base(participant)}new/?term=cough&amp;start={onset}"' in html
    form = client_for(coordinator).get(f"{base(participant)}new/?term=cough&start={onset}")
    assert form.context["form"]["term"].value() == "cough"
    assert form.context["form"]["start_date"].value() == onset


# --- Exports ------------------------------------------------------------------------------------


def test_the_exports_odm_and_dictionary_carry_the_cdash_names(coordinator, participant):
    from pathlib import Path

    from lxml import etree

    from reports import exports
    from reports.odm import odm_stream

    add(participant, coordinator, start_date="2019", ongoing=False, end_date="2020-06")
    import csv
    import io
    import zipfile

    archive = zipfile.ZipFile(io.BytesIO(b"".join(exports.csv_zip_stream())))
    text = archive.read("enrollment_medicalhistory.csv").decode()
    header, row = list(csv.reader(io.StringIO(text)))
    values = dict(zip(header, row, strict=False))
    assert (values["SUBJID"], values["term"], values["start_date"], values["ongoing"]) == (
        participant.participant_id,
        "Hypertension",
        "2019",
        "N",
    )
    assert values["end_date"] == "2020-06"
    dictionary = {(r[1], r[2]): r for r in exports.dictionary_rows()}
    names = {f: dictionary[("enrollment.MedicalHistory", f)][10] for f in ("term", "start_date")}
    assert names == {"term": "MHTERM", "start_date": "MHSTDTC"}
    assert dictionary[("enrollment.MedicalHistory", "ongoing")][10] == "MHONGO"
    assert dictionary[("enrollment.MedicalHistory", "end_date")][10] == "MHENDTC"
    assert dictionary[("enrollment.MedicalHistory", "start_date")][5] == "partialDate"

    schema_path = Path(__file__).resolve().parents[1] / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"
    document = etree.fromstring("".join(odm_stream()).encode())
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    assert schema.validate(document), schema.error_log
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    start = document.find(".//odm:ItemDef[@OID='IT.ENROLLMENT_MEDICALHISTORY.START_DATE']", ns)
    assert start.get("DataType") == "partialDate"
    values = {
        item.get("ItemOID"): item.get("Value")
        for item in document.findall(
            ".//odm:ItemGroupData[@ItemGroupOID='IG.ENROLLMENT_MEDICALHISTORY']/odm:ItemData", ns
        )
    }
    assert values["IT.ENROLLMENT_MEDICALHISTORY.START_DATE"] == "2019"
    assert values["IT.ENROLLMENT_MEDICALHISTORY.END_DATE"] == "2020-06"


def test_the_csv_zip_has_a_medical_history_file(client_for, monitor, coordinator, participant):
    import io
    import zipfile

    add(participant, coordinator)
    response = client_for(monitor).get("/exports/csv/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    text = archive.read("enrollment_medicalhistory.csv").decode()
    assert "Hypertension" in text and "2019-03" in text


def test_the_baseline_visit_links_to_the_medical_history(client_for, coordinator, participant):
    from tests.factories import make_visit

    client = client_for(coordinator)
    baseline = make_visit(participant, coordinator, "baseline")
    day14 = make_visit(participant, coordinator, "day14")
    pages = {
        visit.code: client.get(
            f"/participants/{participant.participant_id}/visits/{visit.pk}/"
        ).content.decode()
        for visit in (baseline, day14)
    }
    assert f'href="{base(participant)}"' in pages["baseline"]
    assert 'data-testid="visit-medical-history"' not in pages["day14"]
