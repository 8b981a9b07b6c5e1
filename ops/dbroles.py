"""The database role the running portal connects as: data rights only, no power over history.

Migrations run as the owner of the tables. The portal, its workers and beat connect as an
application role that may read and write rows but owns nothing, so it can neither TRUNCATE nor
ALTER a table, nor switch a trigger off (only an owner or a superuser can), nor change the audit
event tables at all.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connection, transaction
from psycopg2 import sql

DATA_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_RIGHTS = "USAGE, SELECT"
# The audit chain's links and daily digests (crf/chain.py).
CHAIN_TABLES = ("crf_auditlink", "crf_auditdigest")
# Other logs that only grow: who looked at identifying details (crf.AccessLog).
APPEND_ONLY_TABLES = ("crf_accesslog",)


def audit_event_tables() -> list[str]:
    """The tables of the audit trail's events (pghistory), which are append-only."""
    from pghistory.models import Event

    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, Event) and not model._meta.proxy and model._meta.managed
    )


@transaction.atomic
def app_role_grant(*, role: str, password: str | None = None) -> None:
    """Create or update the application role and give it the rights it needs, and no more.

    Run as the owner of the tables (after `migrate`); running it again changes nothing.
    """
    with connection.cursor() as cursor:
        app_role_grant_sql(
            cursor, role=role, password=password, database=connection.settings_dict["NAME"]
        )


def app_role_grant_sql(cursor, *, role: str, password: str | None, database: str) -> None:
    """The statements of `app_role_grant`, on a given DB-API cursor of the owner."""
    name = sql.Identifier(role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = sql.SQL("ALTER ROLE" if cursor.fetchone() else "CREATE ROLE")
    attributes = sql.SQL(
        "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
    )
    if password:
        cursor.execute(sql.SQL("{} {} {} PASSWORD %s").format(verb, name, attributes), [password])
    else:
        cursor.execute(sql.SQL("{} {} {}").format(verb, name, attributes))
    database = sql.Identifier(database)
    statements = [
        "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
        "GRANT USAGE ON SCHEMA public TO {role}",
        # Nobody but the owner creates objects in the schema (PostgreSQL before 15 let
        # everyone).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT {DATA_RIGHTS} ON ALL TABLES IN SCHEMA public TO {{role}}",
        f"GRANT {SEQUENCE_RIGHTS} ON ALL SEQUENCES IN SCHEMA public TO {{role}}",
        # Tables that later migrations create get the same rights.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {DATA_RIGHTS} ON TABLES TO {{role}}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {SEQUENCE_RIGHTS} ON SEQUENCES "
        "TO {role}",
        # TRUNCATE is not a data right here: it would empty a table without firing its
        # row triggers.
        "REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {role}",
    ]
    for statement in statements:
        cursor.execute(sql.SQL(statement).format(database=database, role=name))
    # The audit trail, its hash chain and the access log: new rows only, never a change or a
    # removal.
    for table in [*audit_event_tables(), *CHAIN_TABLES, *APPEND_ONLY_TABLES]:
        cursor.execute(
            sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(table), name
            )
        )
