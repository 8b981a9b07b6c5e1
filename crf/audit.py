"""Audit context: who, in which role, why, from where, in which request or task.

The database triggers of django-pghistory write every insert, update and delete of a clinical
record as an event; the context attached here is stored with the event (pghistory.Context).
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from celery import Task


def actor_context(user) -> dict:
    """Return the context entries that describe the acting user."""
    if user is None or not getattr(user, "is_authenticated", False):
        return {"user": None}
    return {
        "user": user.pk,
        "username": user.get_username(),
        "role": ",".join(user.roles),
    }


@contextmanager
def audit_context(**metadata):
    """Attach metadata to every audit event written inside the block (nests into a request's)."""
    import pghistory

    # Inside an open context (a request's), the new keys are merged into it.
    with pghistory.context(**metadata) as ctx:
        yield ctx


def new_request_id() -> str:
    return uuid.uuid4().hex


class AuditedTask(Task):
    """A Celery task whose database changes are attributed to the task in the audit trail."""

    def __call__(self, *args, **kwargs):
        with audit_context(task=self.name, task_id=self.request.id, user=None):
            return super().__call__(*args, **kwargs)
