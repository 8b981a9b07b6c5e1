"""A lock covers new rows, unlocking is its own step, and statuses move only forward.

The services refuse first with a clear message; PostgreSQL refuses every other route (ORM create,
bulk_create, QuerySet.update, bulk_update, raw SQL).
"""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone

from crf import monitoring
from crf.services import record_create
from dosing.models import DoseRecord
from enrollment.models import MedicalHistory
from outcomes.models import LabResult, Oxygenation, SixMinuteWalk, Visit
from safety.models import AdverseEvent
from tests.dosing.test_dose_log import dose_data
from tests.enrollment.test_medical_history import add as medical_history_of
from tests.enrollment.test_medical_history import form_data as medical_history_data
from tests.factories import make_ae, make_participant, make_visit
from tests.outcomes.test_ranges import WALK
from tests.outcomes.test_visits_and_crfs import lab_data
from tests.safety.test_adverse_events import ae_data

pytestmark = pytest.mark.django_db

FIRST_DOSE_AGO = dt.timedelta(days=20)


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - FIRST_DOSE_AGO)


@pytest.fixture
def visit(participant, coordinator):
    return make_visit(participant, coordinator, "baseline")


@pytest.fixture
def oxygenation(visit, coordinator):
    return record_create(
        record=Oxygenation(
            visit=visit,
            sampled_at=dt.time(8),
            o2_device="mask",
            fio2="0.40",
            fio2_source="set",
            pao2=70,
        ),
        actor=coordinator,
    )


@pytest.fixture
def other(coordinator):
    """A second participant, unlocked, whose records serve as templates of valid rows."""
    return make_participant(coordinator, first_dose=timezone.localdate() - FIRST_DOSE_AGO)


def lock_visit(visit, actor) -> None:
    monitoring.records_lock(records=visit.signature_records(), actor=actor)


def lock_casebook(participant, actor) -> None:
    monitoring.records_lock(records=monitoring.casebook_records(participant), actor=actor)


def clone(record, **parents):
    """An unsaved copy of a valid record, moved under other parents."""
    new = copy.copy(record)
    new.pk = new.id = None
    new._state = copy.copy(record._state)
    new._state.adding = True
    new.locked_at = None
    new.version = 1
    for name, value in parents.items():
        setattr(new, name, value)
    return new


def insert(route: str, record) -> None:
    model = type(record)
    if route == "create":
        record.save(force_insert=True)
    elif route == "bulk_create":
        model.objects.bulk_create([record])
    else:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        query = InsertQuery(model)
        query.insert_values(fields, [record])
        ((sql, params),) = query.get_compiler("default").as_sql()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def assert_refused(route: str, record) -> None:
    model = type(record)
    before = model.objects.count()
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        insert(route, record)
    assert model.objects.count() == before


def dose_of(participant, coordinator) -> DoseRecord:
    from dosing.forms import DoseForm
    from dosing.services import dose_record

    form = DoseForm(
        dose_data(participant, 1),
        instance=DoseRecord(participant=participant),
        participant=participant,
    )
    assert form.is_valid(), form.errors
    return dose_record(dose=form.save(commit=False), actor=coordinator)


def unscheduled_of(participant, coordinator) -> Visit:
    return make_visit(
        participant,
        coordinator,
        "unscheduled",
        on=participant.anchor + dt.timedelta(days=3),
        reason="Worsening cough",
    )


def walk_of(visit, coordinator) -> SixMinuteWalk:
    return record_create(
        record=SixMinuteWalk(visit=visit, done=True, distance_m=300, spo2_pre=94, spo2_nadir=88),
        actor=coordinator,
    )


def lab_of(visit, coordinator) -> LabResult:
    return record_create(
        record=LabResult(visit=visit, analyte="crp", value=3, unit="mg/dL"), actor=coordinator
    )


ROUTES = ["create", "bulk_create", "raw_sql"]


# --- PostgreSQL: no new row under a locked parent ------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("kind", ["6mwt", "lab"])
def test_the_database_refuses_a_new_crf_under_a_locked_visit(
    route, kind, coordinator, investigator, participant, visit, other
):
    other_visit = make_visit(other, coordinator, "baseline")
    template = (
        walk_of(other_visit, coordinator) if kind == "6mwt" else lab_of(other_visit, coordinator)
    )
    lock_visit(visit, investigator)
    assert_refused(route, clone(template, visit=visit))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "kind", ["dose", "ae", "unscheduled_visit", "6mwt", "lab", "medical_history"]
)
def test_the_database_refuses_a_new_row_under_a_locked_casebook(
    route, kind, coordinator, investigator, participant, visit, other
):
    other_visit = make_visit(other, coordinator, "baseline")
    templates = {
        "dose": lambda: clone(dose_of(other, coordinator), participant=participant),
        "ae": lambda: clone(make_ae(other, coordinator), participant=participant),
        "unscheduled_visit": lambda: clone(
            unscheduled_of(other, coordinator), participant=participant
        ),
        "6mwt": lambda: clone(walk_of(other_visit, coordinator), visit=visit),
        "lab": lambda: clone(lab_of(other_visit, coordinator), visit=visit),
        "medical_history": lambda: clone(
            medical_history_of(other, coordinator), participant=participant
        ),
    }
    record = templates[kind]()
    lock_casebook(participant, investigator)
    assert_refused(route, record)


def test_the_database_refuses_a_new_crf_under_an_unlocked_visit_of_a_locked_casebook(
    coordinator, investigator, participant, visit, other
):
    """The casebook lock is the participant's: it covers rows added through a visit."""
    template = lab_of(make_visit(other, coordinator, "baseline"), coordinator)
    lock_casebook(participant, investigator)
    Visit.objects.filter(pk=visit.pk).update(locked_at=None, locked_by=None)
    assert_refused("raw_sql", clone(template, visit=visit))


def test_the_database_refuses_moving_a_row_under_a_locked_visit(
    coordinator, investigator, participant, visit, other
):
    lab = lab_of(make_visit(other, coordinator, "baseline"), coordinator)
    lock_visit(visit, investigator)
    with pytest.raises(DatabaseError, match="locked"), transaction.atomic():
        LabResult.objects.filter(pk=lab.pk).update(visit=visit)
    lab.refresh_from_db()
    assert lab.visit_id != visit.pk


def test_rows_under_an_unlocked_parent_are_still_accepted(coordinator, investigator, visit):
    lock_visit(visit, investigator)
    monitoring.records_unlock(
        records=visit.signature_records(), actor=investigator, reason="Late result"
    )
    visit.refresh_from_db()
    assert lab_of(visit, coordinator).pk


# --- PostgreSQL: unlocking is its own step -------------------------------------------------------


def unlock_and_change(route: str, record) -> None:
    model = type(record)
    if route == "queryset_update":
        model.objects.filter(pk=record.pk).update(locked_at=None, pao2=1)
    elif route == "bulk_update":
        record.locked_at, record.pao2 = None, 1
        model.objects.bulk_update([record], ["locked_at", "pao2"])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE outcomes_oxygenation SET locked_at = NULL, pao2 = 1 WHERE id = %s",
                [record.pk],
            )


@pytest.mark.parametrize("route", ["queryset_update", "bulk_update", "raw_sql"])
def test_one_statement_cannot_unlock_and_change_data(route, investigator, visit, oxygenation):
    lock_visit(visit, investigator)
    oxygenation.refresh_from_db()
    with pytest.raises(DatabaseError, match="unlock"), transaction.atomic():
        unlock_and_change(route, oxygenation)
    oxygenation.refresh_from_db()
    assert oxygenation.is_locked and oxygenation.pao2 == 70


def test_unlocking_alone_passes_and_records_who_unlocked(investigator, visit, oxygenation):
    lock_visit(visit, investigator)
    oxygenation.refresh_from_db()
    assert oxygenation.locked_by == investigator
    monitoring.records_unlock(records=[oxygenation], actor=investigator, reason="Typo in PaO2")
    oxygenation.refresh_from_db()
    assert not oxygenation.is_locked and oxygenation.locked_by is None


# --- Services refuse first -----------------------------------------------------------------------


def test_the_record_service_refuses_a_new_row_under_a_locked_visit(
    coordinator, investigator, visit
):
    lock_visit(visit, investigator)
    visit.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        lab_of(visit, coordinator)
    message = " ".join(excinfo.value.messages)
    assert "visit" in message and "locked" in message and "Dr Chen" in message
    assert not LabResult.objects.filter(visit=visit).exists()


def test_the_record_service_refuses_a_new_crf_under_a_locked_casebook(
    coordinator, investigator, participant, visit
):
    lock_casebook(participant, investigator)
    Visit.objects.filter(pk=visit.pk).update(locked_at=None, locked_by=None)
    visit.refresh_from_db()
    with pytest.raises(ValidationError, match="locked"):
        lab_of(visit, coordinator)


# --- Pages: form POST and htmx POST --------------------------------------------------------------


def post_new(client, kind: str, participant, visit, **headers):
    pid = participant.participant_id
    urls = {
        "dose": (f"/dosing/{pid}/new/", dose_data(participant, 1)),
        "ae": (f"/safety/ae/new/{pid}/", ae_data(participant)),
        "unscheduled_visit": (
            f"/participants/{pid}/visits/new/",
            {
                "code": "unscheduled",
                "visit_date": (participant.anchor + dt.timedelta(days=3)).isoformat(),
                "reason": "Worsening cough",
            },
        ),
        "6mwt": (f"/participants/{pid}/visits/{visit.pk}/6mwt/", WALK),
        "lab": (f"/participants/{pid}/visits/{visit.pk}/labs/", lab_data()),
        "medical_history": (f"/participants/{pid}/medical-history/new/", medical_history_data()),
    }
    url, data = urls[kind]
    return client.post(url, data, **headers)


MODELS = {
    "dose": DoseRecord,
    "ae": AdverseEvent,
    "unscheduled_visit": Visit,
    "6mwt": SixMinuteWalk,
    "lab": LabResult,
    "medical_history": MedicalHistory,
}


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize(
    "kind", ["dose", "ae", "unscheduled_visit", "6mwt", "lab", "medical_history"]
)
def test_a_page_refuses_a_new_row_under_a_locked_casebook_with_a_message(
    htmx, kind, client_for, coordinator, investigator, participant, visit
):
    lock_casebook(participant, investigator)
    before = MODELS[kind].objects.count()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = post_new(client_for(coordinator), kind, participant, visit, **headers)
    if kind == "medical_history":
        # Enrollment's access helper already refuses data entry on a locked participant.
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        assert "is locked" in response.content.decode()
    assert MODELS[kind].objects.count() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("kind", ["6mwt", "lab"])
def test_a_page_refuses_a_new_crf_under_a_locked_visit_with_a_message(
    htmx, kind, client_for, coordinator, investigator, participant, visit
):
    lock_visit(visit, investigator)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = post_new(client_for(coordinator), kind, participant, visit, **headers)
    assert response.status_code == 200
    assert "is locked" in response.content.decode()
    assert not MODELS[kind].objects.filter(visit=visit).exists()


def test_a_locked_crf_page_says_who_locked_it_and_offers_no_save(
    client_for, coordinator, investigator, participant, visit, oxygenation
):
    lock_visit(visit, investigator)
    oxygenation.refresh_from_db()
    page = client_for(coordinator).get(
        f"/participants/{participant.participant_id}/visits/{visit.pk}/oxygenation/"
    )
    html = page.content.decode()
    when = timezone.localtime(oxygenation.locked_at).strftime("%Y-%m-%d %H:%M")
    assert f"Locked by Dr Chen on {when}" in html
    assert 'type="submit"' not in html.split('class="crf-form"')[1].split("</form>")[0]


def test_a_post_to_a_locked_crf_is_refused_with_the_message(
    client_for, coordinator, investigator, participant, visit, oxygenation
):
    lock_visit(visit, investigator)
    oxygenation.refresh_from_db()
    response = client_for(coordinator).post(
        f"/participants/{participant.participant_id}/visits/{visit.pk}/oxygenation/",
        {
            "sampled_at": "08:00",
            "o2_device": "mask",
            "fio2": "0.5",
            "pao2": "80",
            "version": oxygenation.version,
            "reason_for_change": "x",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "locked" in response.content.decode()
    oxygenation.refresh_from_db()
    assert oxygenation.pao2 == 70


def test_the_pages_of_a_locked_casebook_offer_no_add_actions(
    client_for, coordinator, investigator, participant, visit
):
    lock_casebook(participant, investigator)
    client = client_for(coordinator)
    pid = participant.participant_id
    casebook = client.get(participant.get_absolute_url()).content.decode()
    adds = (
        f"/dosing/{pid}/new/",
        f"/safety/ae/new/{pid}/",
        "?code=unscheduled",
        f"/participants/{pid}/medical-history/new/",
    )
    for url in adds:
        assert url not in casebook, url
    history = client.get(f"/participants/{pid}/medical-history/").content.decode()
    assert f"/participants/{pid}/medical-history/new/" not in history
    visit_page = client.get(visit.get_absolute_url()).content.decode()
    assert f"/visits/{visit.pk}/labs/" not in visit_page
    assert f"/visits/{visit.pk}/6mwt/" not in visit_page
    labs = client.get(f"/participants/{pid}/visits/{visit.pk}/labs/").content.decode()
    assert "is locked" in labs and ">Save</button>" not in labs


def test_the_visit_page_of_an_unlocked_visit_offers_its_add_actions(client_for, coordinator, visit):
    page = client_for(coordinator).get(visit.get_absolute_url()).content.decode()
    assert f"/visits/{visit.pk}/labs/" in page and f"/visits/{visit.pk}/6mwt/" in page


def test_no_clinical_model_can_be_changed_in_the_admin():
    """The admin manages people, not clinical data (DESIGN.md section 4): no route around locks."""
    from django.contrib import admin

    from accounts.admin import site
    from crf.models import ClinicalRecord

    for admin_site in (site, admin.site):
        assert not [m for m in admin_site._registry if issubclass(m, ClinicalRecord)]


# --- PostgreSQL: statuses move only forward ------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE crftest_observation SET status = 'signed-off' WHERE id = %s",
        "UPDATE crftest_observation SET status = 'draft' WHERE id = %s",
        "UPDATE crftest_observation SET retired_at = NULL WHERE id = %s",
        "UPDATE crftest_observation SET note = 'after retirement' WHERE id = %s",
        "UPDATE crftest_observation SET retired_reason = 'other reason' WHERE id = %s",
    ],
    ids=["unknown_status", "back_to_draft", "un_retire", "change_retired", "rewrite_reason"],
)
def test_the_database_refuses_a_status_moving_backwards(statement, observation, coordinator):
    from crf.services import record_retire

    if "retire" in statement or "after retirement" in statement:
        observation = record_retire(
            record=observation, actor=coordinator, expected_version=1, reason="wrong patient"
        )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [observation.pk])
    before = observation
    observation.refresh_from_db()
    assert (observation.status, observation.note, observation.retired_at) == (
        before.status,
        before.note,
        before.retired_at,
    )


def test_the_database_refuses_an_unknown_status_on_insert(coordinator):
    from tests.crftest.models import Observation

    with pytest.raises(DatabaseError), transaction.atomic():
        Observation.objects.create(
            measured_on=dt.date(2026, 3, 1), status="approved", created_by=coordinator,
            updated_by=coordinator,
        )  # fmt: skip
    assert not Observation.objects.exists()


def test_the_database_refuses_back_to_draft_through_the_orm(observation):
    from tests.crftest.models import Observation

    with pytest.raises(DatabaseError), transaction.atomic():
        Observation.objects.filter(pk=observation.pk).update(status="draft")
    observation.refresh_from_db()
    assert observation.status == "submitted"


def test_a_draft_is_still_submitted_and_a_record_still_retired(coordinator):
    from crf.services import record_retire, record_update
    from tests.crftest.models import Observation

    draft = record_create(
        record=Observation(measured_on=dt.date(2026, 3, 1)), actor=coordinator, submit=False
    )
    draft = record_update(record=draft, actor=coordinator, expected_version=1, submit=True)
    assert draft.status == "submitted"
    retired = record_retire(
        record=draft, actor=coordinator, expected_version=draft.version, reason="duplicate"
    )
    assert retired.is_retired
