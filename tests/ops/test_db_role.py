"""The role the portal runs as can write data but cannot erase history."""

from __future__ import annotations

import contextlib
import datetime as dt

import psycopg2
import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from ops.dbroles import app_role_grant_sql, audit_event_tables
from tests.factories import make_ae, make_participant

pytestmark = pytest.mark.django_db
ROLE = "trialportal_app_test"


@pytest.fixture
def app_role(db):
    """The application role on the test database, granted as `db_app_role` grants it.

    Roles are shared by the whole cluster, and the grants must be visible to other sessions, so
    they are made on a connection of their own that commits.
    """
    params = connection.get_connection_params()
    with contextlib.closing(psycopg2.connect(**params)) as owner:
        owner.autocommit = True
        with owner.cursor() as cursor:
            app_role_grant_sql(cursor, role=ROLE, password=None, database=params["dbname"])
    return ROLE


@contextlib.contextmanager
def acting_as(role: str):
    """Run the block's statements with the role's rights (SET ROLE, undone at the end)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{role}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def refused(statement: str) -> str:
    """Run the statement in a savepoint; return PostgreSQL's refusal ('' when it passed)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except (ProgrammingError, InternalError) as error:
        return str(error)
    return ""


def test_the_role_signs_in_and_owns_nothing(app_role):
    params = {**connection.get_connection_params(), "user": app_role}
    params.pop("password", None)
    with contextlib.closing(psycopg2.connect(**params)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = "
            "current_user"
        )
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT count(*) FROM enrollment_participant")  # it can read data


def test_the_portal_works_as_the_role(app_role, coordinator):
    with acting_as(app_role):
        participant = make_participant(
            coordinator, first_dose=dt.date.today() - dt.timedelta(days=3)
        )
        ae = make_ae(participant, coordinator, term="Cough", grade=1)
        ae.grade = 2
        from crf.services import record_update

        record_update(record=ae, actor=coordinator, expected_version=ae.version, reason="typo")
        ae.refresh_from_db()
    assert ae.grade == 2 and ae.version == 2


def test_the_role_cannot_erase_or_rewrite_the_audit_trail(app_role, coordinator):
    make_participant(coordinator)  # some history to protect
    events = audit_event_tables()
    assert "enrollment_participantevent" in events
    with acting_as(app_role):
        problems = {}
        for statement in [
            "TRUNCATE enrollment_participantevent",
            "TRUNCATE enrollment_participant CASCADE",
            "ALTER TABLE enrollment_participantevent DISABLE TRIGGER ALL",
            "ALTER TABLE enrollment_participant DISABLE TRIGGER USER",
            "DELETE FROM enrollment_participantevent",
            "UPDATE enrollment_participantevent SET pgh_label = 'forged'",
            "SET session_replication_role = replica",
            "DROP TABLE enrollment_participantevent",
            "CREATE TABLE shadow (id int)",
        ]:
            message = refused(statement)
            if not message:
                problems[statement] = "passed"
        assert problems == {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM enrollment_participantevent")
        assert cursor.fetchone()[0] >= 1


def test_the_role_logs_who_looked_but_cannot_rewrite_the_log(app_role, coordinator, rf):
    from crf.services import identity_view_record
    from enrollment.models import Identity

    participant = make_participant(coordinator)
    identity = Identity.objects.create(
        screening=participant.screening,
        full_name="Wang Fang",
        created_by=coordinator,
        updated_by=coordinator,
    )
    request = rf.get("/")
    request.user = coordinator
    with acting_as(app_role):
        identity_view_record(request=request, record=identity)
        problems = {
            statement: message
            for statement in (
                "UPDATE crf_accesslog SET username = 'x'",
                "DELETE FROM crf_accesslog",
                "TRUNCATE crf_accesslog",
            )
            if "permission denied" not in (message := refused(statement))
        }
        assert problems == {}
