"""The audit trail is hash-chained: verify_audit names the first event changed or removed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from crf import chain
from crf.models import AuditDigest, AuditLink, Notification
from ops.dbroles import audit_event_tables
from tests.factories import make_ae, make_participant

pytestmark = pytest.mark.django_db
NOW = dt.timedelta(0)


@pytest.fixture
def sealed_trial(coordinator):
    participant = make_participant(coordinator, first_dose=dt.date.today() - dt.timedelta(days=3))
    make_ae(participant, coordinator, term="Cough", grade=1)
    assert chain.audit_seal(settle=NOW) > 0
    return participant


def as_owner(statement: str, params=()) -> None:
    """What only the owner of the tables can do: switch the triggers off and change history."""
    table = statement.split()[2] if statement.startswith("DELETE") else statement.split()[1]
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def first_event(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(pgh_id) FROM {table}")
        return cursor.fetchone()[0]


def test_every_event_table_of_the_database_is_chained():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'pgh_obj_id'"
        )
        in_database = {row[0] for row in cursor.fetchall()}
    assert in_database <= set(audit_event_tables())


def test_an_untouched_trail_verifies_and_sealing_twice_adds_nothing(sealed_trial):
    links = AuditLink.objects.count()
    assert chain.audit_seal(settle=NOW) == 0
    result = chain.audit_verify()
    assert result.broken is None and result.links == links
    assert result.head == AuditLink.objects.order_by("-pk").first().sha256
    tables = set(AuditLink.objects.values_list("event_table", flat=True))
    assert {"enrollment_participantevent", "safety_adverseeventevent"} <= tables


def test_events_are_sealed_only_once_they_have_settled(coordinator):
    make_participant(coordinator)
    assert chain.audit_seal() == 0  # written just now; its request could still add a reason
    assert chain.audit_seal(settle=NOW) > 0


def test_an_event_changed_by_the_owner_is_named(sealed_trial):
    event = first_event("safety_adverseeventevent")
    as_owner("UPDATE safety_adverseeventevent SET grade = 5 WHERE pgh_id = %s", [event])
    broken = chain.audit_verify().broken
    assert (broken.event_table, broken.event_id) == ("safety_adverseeventevent", event)
    assert "changed" in broken.problem
    assert (
        broken.link_id
        == AuditLink.objects.get(event_table="safety_adverseeventevent", event_id=event).pk
    )


def test_an_event_deleted_by_the_owner_is_named(sealed_trial):
    event = first_event("enrollment_participantevent")
    as_owner("DELETE FROM enrollment_participantevent WHERE pgh_id = %s", [event])
    broken = chain.audit_verify().broken
    assert (broken.event_table, broken.event_id) == ("enrollment_participantevent", event)
    assert "deleted" in broken.problem


def test_a_forged_actor_in_the_context_is_found(sealed_trial):
    as_owner(
        "UPDATE pghistory_context SET metadata = jsonb_set(metadata::jsonb, '{username}', "
        "'\"someone-else\"')"
    )
    broken = chain.audit_verify().broken
    assert broken is not None and "context" in broken.problem


def test_a_removed_link_breaks_the_chain(sealed_trial):
    middle = AuditLink.objects.order_by("pk")[2]
    as_owner("DELETE FROM crf_auditlink WHERE id = %s", [middle.pk])
    broken = chain.audit_verify().broken
    assert broken.link_id == AuditLink.objects.filter(pk__gt=middle.pk).order_by("pk").first().pk
    assert "removed" in broken.problem


def test_a_chain_recomputed_after_tampering_no_longer_ends_in_the_daily_digest(
    sealed_trial, admin_user
):
    digest = chain.audit_digest_record(day=dt.date(2026, 11, 29))
    assert digest.sha256 == chain.audit_verify().head
    event = first_event("safety_adverseeventevent")
    as_owner("UPDATE safety_adverseeventevent SET grade = 5 WHERE pgh_id = %s", [event])
    # A careful forger recomputes every link from the changed event on.
    previous = chain.GENESIS
    for link in AuditLink.objects.order_by("pk"):
        with connection.cursor() as cursor:
            chain._events(cursor, link.event_table, chain.sql.SQL("e.pgh_id = %s"), [link.event_id])
            (_, event_sha256) = cursor.fetchone()
        sha = chain.link_sha256(previous, link.event_table, link.event_id, event_sha256)
        as_owner(
            "UPDATE crf_auditlink SET event_sha256 = %s, previous_sha256 = %s, sha256 = %s "
            "WHERE id = %s",
            [event_sha256, previous, sha, link.pk],
        )
        previous = sha
    broken = chain.audit_verify().broken
    assert broken is not None and broken.link_id is None
    assert "2026-11-29" in broken.problem


def test_the_daily_digest_is_recorded_once_and_sent_to_the_administrators(
    sealed_trial, admin_user, coordinator
):
    day = dt.date(2026, 11, 29)
    first = chain.audit_digest_record(day=day)
    again = chain.audit_digest_record(day=day)
    assert first.pk == again.pk and AuditDigest.objects.count() == 1
    (note,) = Notification.objects.filter(kind="audit_digest")
    assert note.recipient == admin_user and first.sha256 in note.body


def test_the_app_cannot_rewrite_a_link_or_a_digest(sealed_trial, admin_user):
    from django.db import transaction
    from django.db.utils import InternalError

    chain.audit_digest_record(day=dt.date(2026, 11, 29))
    for statement in ("UPDATE crf_auditlink SET sha256 = 'x'", "DELETE FROM crf_auditdigest"):
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_the_command_names_the_first_broken_link(sealed_trial, capsys):
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    event = first_event("safety_adverseeventevent")
    as_owner("UPDATE safety_adverseeventevent SET grade = 4 WHERE pgh_id = %s", [event])
    with pytest.raises(CommandError, match=f"safety_adverseeventevent event {event}"):
        call_command("verify_audit", "--seal")
