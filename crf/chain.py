"""A tamper-evident audit trail: every audit event is sealed into one hash chain.

Each link holds the SHA-256 of one event (its row, as JSON, and the context it was written in:
who, role, reason, request or task) and the SHA-256 of the previous link, so changing, removing
or inserting an event anywhere, or rewriting a link, breaks every later link. The head of the
chain is recorded once a day in a table the portal's database role can only append to, and sent
to the administrators, outside the database. `manage.py verify_audit` recomputes everything and
names the first broken link.

Events are sealed by the worker (beat) once they have settled: pghistory may still add to an
event's context (a reason) while the request or task that wrote it runs, so an event is sealed
only when it is older than AUDIT_SEAL_SETTLE, which exceeds the longest task.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg2 import sql

from accounts.roles import Role
from crf.models import AuditDigest, AuditLink
from crf.notifications import active_users, notify
from ops.dbroles import audit_event_tables

GENESIS = "0" * 64
# Serialises sealers (two beat runs, or a run and the command).
SEAL_LOCK = 0x7472_6961_6C01
BATCH = 2000

# The event's own row and its context, as PostgreSQL renders them (in UTC).
_EVENT_SHA256 = sql.SQL(
    "encode(sha256(convert_to(to_jsonb(e)::text || '|' || coalesce(c.metadata::text, ''), "
    "'UTF8')), 'hex')"
)


def link_sha256(previous: str, table: str, event_id: int, event_sha256: str) -> str:
    return hashlib.sha256(f"{previous}|{table}|{event_id}|{event_sha256}".encode()).hexdigest()


def _events(cursor, table: str, condition: sql.Composable, params: list) -> None:
    cursor.execute(
        sql.SQL(
            "SELECT e.pgh_id, {hash} FROM {table} e "
            "LEFT JOIN pghistory_context c ON c.id = e.pgh_context_id WHERE {condition} "
            "ORDER BY e.pgh_id"
        ).format(hash=_EVENT_SHA256, table=sql.Identifier(table), condition=condition),
        params,
    )


@transaction.atomic
def audit_seal(*, settle: timedelta | None = None) -> int:
    """Seal every settled audit event not yet in the chain; return how many were sealed."""
    settle = settings.AUDIT_SEAL_SETTLE if settle is None else settle
    sealed = 0
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])
        head = AuditLink.objects.order_by("-pk").values_list("sha256", flat=True).first()
        head = head or GENESIS
        for table in audit_event_tables():
            _events(
                cursor,
                table,
                sql.SQL(
                    "e.pgh_created_at <= now() - %s AND NOT EXISTS (SELECT 1 FROM crf_auditlink "
                    "l WHERE l.event_table = %s AND l.event_id = e.pgh_id)"
                ),
                [settle, table],
            )
            while rows := cursor.fetchmany(BATCH):
                links = []
                for event_id, event_sha256 in rows:
                    digest = link_sha256(head, table, event_id, event_sha256)
                    links.append(
                        AuditLink(
                            event_table=table,
                            event_id=event_id,
                            event_sha256=event_sha256,
                            previous_sha256=head,
                            sha256=digest,
                        )
                    )
                    head = digest
                AuditLink.objects.bulk_create(links)
                sealed += len(links)
    return sealed


@dataclass(frozen=True)
class AuditBreak:
    """The first place where the audit trail no longer matches its chain."""

    link_id: int | None
    event_table: str
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"link {self.link_id}" if self.link_id else _("the daily digest")
        event = f"{self.event_table} event {self.event_id}" if self.event_id else self.event_table
        return f"{where} ({event}): {self.problem}"


@dataclass(frozen=True)
class AuditVerification:
    links: int
    head: str
    broken: AuditBreak | None


def audit_verify() -> AuditVerification:
    """Recompute the chain from the events as they are now; report the first broken link."""
    previous, count = GENESIS, 0
    heads: dict[int, str] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        last_id = 0
        while True:
            chunk = list(AuditLink.objects.filter(pk__gt=last_id).order_by("pk")[:BATCH])
            if not chunk:
                break
            wanted: dict[str, list[int]] = defaultdict(list)
            for link in chunk:
                wanted[link.event_table].append(link.event_id)
            current: dict[tuple[str, int], str] = {}
            for table, ids in wanted.items():
                _events(cursor, table, sql.SQL("e.pgh_id = ANY(%s)"), [ids])
                current.update(((table, event_id), sha) for event_id, sha in cursor.fetchall())
            for link in chunk:
                problem = None
                if link.previous_sha256 != previous:
                    problem = _("the link does not follow the one before it (a link was removed)")
                elif link.sha256 != link_sha256(
                    previous, link.event_table, link.event_id, link.event_sha256
                ):
                    problem = _("the link itself was altered")
                elif (link.event_table, link.event_id) not in current:
                    problem = _("the event was deleted after it was sealed")
                elif current[(link.event_table, link.event_id)] != link.event_sha256:
                    problem = _("the event or its context was changed after it was sealed")
                if problem:
                    return AuditVerification(
                        count,
                        previous,
                        AuditBreak(link.pk, link.event_table, link.event_id, problem),
                    )
                previous, count = link.sha256, count + 1
                heads[link.pk] = link.sha256
            last_id = chunk[-1].pk
    for digest in AuditDigest.objects.order_by("day"):
        if digest.last_link_id is not None and heads.get(digest.last_link_id) != digest.sha256:
            problem = _("the chain no longer ends in the digest recorded on %(day)s") % {
                "day": digest.day
            }
            return AuditVerification(
                count, previous, AuditBreak(None, "crf_auditdigest", None, problem)
            )
    return AuditVerification(count, previous, None)


def audit_digest_record(*, day: date | None = None) -> AuditDigest:
    """Seal what has settled and record the chain's head for the day (once), telling the admins."""
    day = day or timezone.localdate()
    audit_seal()
    last = AuditLink.objects.order_by("-pk").first()
    digest, created = AuditDigest.objects.get_or_create(
        day=day,
        defaults={
            "last_link": last,
            "links": AuditLink.objects.count(),
            "sha256": last.sha256 if last else GENESIS,
        },
    )
    if created:
        notify(
            recipients=active_users(role=Role.ADMIN),
            key=f"audit-digest:{day.isoformat()}",
            kind="audit_digest",
            subject=_("Audit trail digest for %(day)s") % {"day": day.isoformat()},
            body=_(
                "The audit trail holds %(links)s sealed events. The SHA-256 of its head is "
                "%(sha)s. Keep this message: `manage.py verify_audit` checks the trail against "
                "it."
            )
            % {"links": digest.links, "sha": digest.sha256},
        )
    return digest
