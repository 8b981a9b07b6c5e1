"""The transactional outbox: work a save owes the outside world, delivered after it commits.

A service calls `outbox_enqueue` inside its transaction: the row commits with the facts it follows
from, or not at all. After commit the row is sent to the broker; when the broker is unreachable the
row simply stays, and beat's `outbox_sweep` sends it again until a worker marks it done. The tasks
behind it are idempotent (unique notification keys, claimed e-mails), so a second delivery of the
same row changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ops.models import OutboxMessage

logger = logging.getLogger("trialportal.outbox")

DELIVER = "ops.tasks.outbox_deliver"
# A request never waits on a dead broker: one quick retry, then the row is left to the sweep.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# A row not yet sent is left alone this long after it was written: its own on-commit send is due.
FIRST_SEND_GRACE = dt.timedelta(seconds=30)
SWEEP_BATCH = 500


def outbox_enqueue(*, task: str, args: Iterable = (), key: str) -> bool:
    """Owe `task(*args)` once per key, in the caller's transaction; send it once committed.

    Return whether this call recorded the work (False: the key was owed already).
    """
    message, created = OutboxMessage.objects.get_or_create(
        key=key, defaults={"task": task, "args": list(args)}
    )
    if created:
        transaction.on_commit(lambda: outbox_dispatch(message_ids=[message.pk]))
    return created


def outbox_dispatch(*, message_ids: Iterable[int]) -> list[int]:
    """Send the rows to the broker; return those sent. A broker error is logged, never raised."""
    sent = []
    for message_id in message_ids:
        try:
            current_app.send_task(
                DELIVER, args=[message_id], retry=True, retry_policy=PUBLISH_RETRY_POLICY
            )
        except Exception as exc:  # whatever the broker raises, the row is kept for the sweep
            logger.warning("outbox message=%s kept for the sweep: %s", message_id, exc)
            break  # the broker is down: the next rows would wait for the same refusal
        OutboxMessage.objects.filter(pk=message_id).update(dispatched_at=timezone.now())
        sent.append(message_id)
    return sent


def outbox_due(*, now: dt.datetime | None = None):
    """Rows not done that nobody is working on: never sent, or sent long ago."""
    now = now or timezone.now()
    return OutboxMessage.objects.filter(done_at__isnull=True).filter(
        Q(dispatched_at__isnull=True, created_at__lte=now - FIRST_SEND_GRACE)
        | Q(dispatched_at__lte=now - settings.OUTBOX_RESEND_AFTER)
    )


def outbox_sweep(*, now: dt.datetime | None = None) -> list[int]:
    """Send again what is owed and not done (beat, every minute); return the rows sent."""
    due = outbox_due(now=now).order_by("created_at").values_list("pk", flat=True)[:SWEEP_BATCH]
    return outbox_dispatch(message_ids=list(due))


def outbox_run(*, message_id: int, tasks: Mapping) -> bool:
    """Run the owed task here and mark the row done; return False when it was done already."""
    message = OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).first()
    if message is None:
        return False  # a duplicate delivery of finished work
    OutboxMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1)
    try:
        tasks[message.task](*message.args)
    except Exception as exc:
        OutboxMessage.objects.filter(pk=message_id).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
        done_at=timezone.now(), last_error=""
    )
    return True


def outbox_mark_retrying(*, message_id: int) -> None:
    """A retry is scheduled: the sweep leaves the row to it for a while."""
    OutboxMessage.objects.filter(pk=message_id).update(dispatched_at=timezone.now())


def outbox_backlog(*, now: dt.datetime | None = None) -> tuple[int, dt.timedelta | None]:
    """How many rows are not done, and the age of the oldest."""
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(done_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return pending.count(), (now - oldest if oldest else None)
