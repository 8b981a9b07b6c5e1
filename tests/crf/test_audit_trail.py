"""The audit trail is written by the database for every path that changes a clinical record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from pghistory.models import Events

from crf import selectors
from crf.models import RecordDeletionRefused
from crf.services import record_create, record_update
from tests.crftest.models import Observation

pytestmark = pytest.mark.django_db


def events_of(record) -> list:
    return list(Events.objects.tracks(record).order_by("pgh_created_at", "pgh_id"))


def changes_in(entry) -> dict:
    return {change.field: (change.old, change.new) for change in entry.changes}


def test_creating_a_record_writes_an_insert_event_with_the_actor(observation, coordinator):
    (event,) = events_of(observation)
    assert event.pgh_label == "insert"
    assert event.pgh_context["user"] == coordinator.pk
    assert event.pgh_context["username"] == coordinator.username
    assert event.pgh_context["role"] == "coordinator"


def test_save_through_the_service_records_old_and_new_value_and_reason(observation, investigator):
    observation.note = "repeat sample"
    record_update(
        record=observation, actor=investigator, expected_version=1, reason="transcription error"
    )
    history = selectors.record_history(observation)
    assert [entry.action for entry in history] == ["insert", "update"]
    update = history[-1]
    assert changes_in(update) == {"note": ("baseline", "repeat sample")}
    assert update.username == investigator.username
    assert update.reason == "transcription error"


def test_null_to_value_and_value_to_null_are_both_recorded(observation, coordinator):
    observation.value = Decimal("12.50")
    observation = record_update(
        record=observation, actor=coordinator, expected_version=1, reason="result arrived"
    )
    observation.value = None
    record_update(
        record=observation, actor=coordinator, expected_version=2, reason="wrong patient's result"
    )
    history = selectors.record_history(observation)
    assert changes_in(history[1]) == {"value": (None, 12.5)}
    assert changes_in(history[2]) == {"value": (12.5, None)}


def test_queryset_update_is_audited(observation):
    Observation.objects.filter(pk=observation.pk).update(note="changed by update()")
    history = selectors.record_history(observation)
    assert changes_in(history[-1]) == {"note": ("baseline", "changed by update()")}


def test_bulk_update_is_audited_for_every_row(coordinator):
    records = [
        record_create(record=Observation(measured_on=dt.date(2026, 3, day)), actor=coordinator)
        for day in (1, 2, 3)
    ]
    for record in records:
        record.note = f"bulk {record.pk}"
    Observation.objects.bulk_update(records, ["note"])
    for record in records:
        assert changes_in(selectors.record_history(record)[-1]) == {
            "note": (None, f"bulk {record.pk}")
        }


def test_raw_sql_update_is_audited(observation):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE crftest_observation SET unit = 'mg/L' WHERE id = %s", [observation.pk]
        )
    history = selectors.record_history(observation)
    assert changes_in(history[-1]) == {"unit": (None, "mg/L")}


def test_raw_sql_update_raises_the_version(observation):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crftest_observation SET note = 'x' WHERE id = %s", [observation.pk])
    observation.refresh_from_db()
    assert observation.version == 2


def test_deleting_a_record_is_refused_by_the_model(observation):
    with pytest.raises(RecordDeletionRefused):
        observation.delete()
    assert Observation.objects.filter(pk=observation.pk).exists()


def test_deleting_a_record_with_a_queryset_is_refused_by_the_database(observation):
    with pytest.raises(DatabaseError), transaction.atomic():
        Observation.objects.filter(pk=observation.pk).delete()
    assert Observation.objects.filter(pk=observation.pk).exists()


def test_deleting_a_record_with_raw_sql_is_refused(observation):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM crftest_observation WHERE id = %s", [observation.pk])
    assert Observation.objects.filter(pk=observation.pk).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE crftest_observationevent SET note = 'forged'",
        "DELETE FROM crftest_observationevent",
    ],
)
def test_the_event_table_refuses_update_and_delete(observation, statement):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    (event,) = events_of(observation)
    assert event.pgh_data["note"] == "baseline"


def test_every_clinical_model_has_an_audit_trail():
    from django.core import checks

    errors = [
        error for error in checks.run_checks() if error.id in ("crf.E001", "crf.E002", "crf.E003")
    ]
    assert errors == []


def test_the_check_reports_a_clinical_model_without_audit_trail():
    from django.apps import apps
    from django.db import models

    from crf.checks import clinical_records_are_audited
    from crf.models import ClinicalRecord

    class Unaudited(ClinicalRecord):
        measured_on = models.DateField()

        class Meta:
            app_label = "crftest"

    try:
        ids = [error.id for error in clinical_records_are_audited(None)]
        assert "crf.E001" in ids
    finally:
        del apps.all_models["crftest"]["unaudited"]
        apps.clear_cache()


def test_the_audit_context_refuses_deletion_and_rewriting(observation, coordinator):
    context_id = events_of(observation)[0].pgh_context_id
    statements = [
        ("DELETE FROM pghistory_context WHERE id = %s", [context_id]),
        (
            "UPDATE pghistory_context SET metadata = '{\"user\": 999}'::jsonb WHERE id = %s",
            [context_id],
        ),
    ]
    for sql, params in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert events_of(observation)[0].pgh_context["user"] == coordinator.pk


def test_the_audit_context_may_gain_entries_within_a_request(observation, coordinator):
    context_id = events_of(observation)[0].pgh_context_id
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pghistory_context SET metadata = metadata::jsonb || '{\"extra\": 1}'::jsonb "
            "WHERE id = %s",
            [context_id],
        )
    assert events_of(observation)[0].pgh_context["extra"] == 1


def test_the_check_reports_a_clinical_model_redefining_a_shared_field():
    from django.apps import apps
    from django.db import models

    from crf.checks import clinical_records_keep_the_shared_fields
    from crf.models import ClinicalRecord

    class OwnStatus(ClinicalRecord):
        status = models.CharField(max_length=8, choices=[("alive", "Alive")])

        class Meta:
            app_label = "crftest"

    try:
        ids = [error.id for error in clinical_records_keep_the_shared_fields(None)]
        assert "crf.E002" in ids
    finally:
        del apps.all_models["crftest"]["ownstatus"]
        apps.clear_cache()


def test_the_audit_context_refuses_dropping_an_entry(observation):
    context_id = events_of(observation)[0].pgh_context_id
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pghistory_context SET metadata = metadata::jsonb - 'role' WHERE id = %s",
            [context_id],
        )


def test_one_request_may_save_records_of_two_participants(client_for, coordinator):
    """The request's audit context follows the record being saved (its subject changes)."""
    from crf import audit
    from crf.services import record_create
    from tests.crftest.models import Observation

    with audit.audit_context(request_id="r1", user=coordinator.pk):
        first = record_create(
            record=Observation(measured_on=dt.date(2026, 3, 1)), actor=coordinator
        )
        second = record_create(
            record=Observation(measured_on=dt.date(2026, 3, 2)), actor=coordinator
        )
    assert events_of(first) and events_of(second)


RULES = (
    "no_delete",
    "bump_version",
    "locked",
    "parent_unlocked",
    "unlock_alone",
    "status_valid",
    "status_forward",
    "retired_frozen",
)


def test_every_clinical_table_carries_the_database_rules():
    """No delete, version bump, lock, lock over new rows, unlock alone and status triggers on
    every clinical table, whatever its Meta."""
    from crf.selectors import clinical_models

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"
        )
        installed = cursor.fetchall()
    for model in clinical_models():
        names = {name for table, name in installed if table.strip('"') == model._meta.db_table}
        for rule in RULES:
            assert any(name.startswith(f"pgtrigger_{rule}_") for name in names), (
                model._meta.label,
                rule,
            )


def test_deleting_an_enrollment_record_with_raw_sql_is_refused(coordinator):
    from tests.factories import make_screening

    screening = make_screening(coordinator)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM enrollment_screening WHERE id = %s", [screening.pk])


def test_the_check_reports_a_clinical_model_without_the_database_rules():
    from django.apps import apps
    from django.db import models

    from crf.checks import clinical_records_carry_the_database_rules
    from crf.models import ClinicalRecord

    class Unguarded(ClinicalRecord):
        measured_on = models.DateField()

        class Meta:
            app_label = "crftest"

    try:
        errors = clinical_records_carry_the_database_rules(None)
        assert [e.id for e in errors if e.obj is Unguarded] == ["crf.E003"]
        assert "parent_unlocked" in errors[0].msg
    finally:
        del apps.all_models["crftest"]["unguarded"]
        apps.clear_cache()


def test_a_new_clinical_model_is_covered_by_the_lock_of_its_parents_without_code_of_its_own():
    """A model added later (e.g. medical history under the participant) needs no lock code."""
    from django.apps import apps
    from django.db import models

    from crf.models import ClinicalRecord, ParentUnlocked, lock_lines

    class MedicalCondition(ClinicalRecord):
        participant = models.ForeignKey(
            "enrollment.Participant", on_delete=models.PROTECT, related_name="+"
        )

        class Meta:
            app_label = "crftest"

    class ConditionNote(ClinicalRecord):
        condition = models.ForeignKey(MedicalCondition, on_delete=models.PROTECT)

        class Meta:
            app_label = "crftest"

    try:
        assert [[fk.name for fk in line] for line in lock_lines(ConditionNote)] == [
            ["condition"],
            ["condition", "participant"],
        ]
        sql = ParentUnlocked(name="parent_unlocked").get_func(ConditionNote)
        assert '"enrollment_participant"' in sql and "FOR SHARE" in sql
    finally:
        del apps.all_models["crftest"]["medicalcondition"]
        del apps.all_models["crftest"]["conditionnote"]
        apps.clear_cache()
