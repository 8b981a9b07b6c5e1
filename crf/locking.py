"""What a lock covers, as the services and pages see it: the record itself and the rows added
under a locked parent or participant (the database enforces the same, see crf.models)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.models import ClinicalRecord, lock_lines


@dataclass(frozen=True)
class Lock:
    """A lock that keeps a record from being changed or a row from being added."""

    record: ClinicalRecord  # the locked record
    own: bool  # the record itself is locked, rather than a parent it would be added under

    @property
    def by(self) -> str:
        """Who locked (empty for a lock taken before the portal recorded who)."""
        return self.record.locked_by.printed_name if self.record.locked_by_id else ""

    @property
    def at(self) -> str:
        return timezone.localtime(self.record.locked_at).strftime("%Y-%m-%d %H:%M")

    @property
    def kind(self) -> str:
        return str(self.record._meta.verbose_name)

    @property
    def message(self) -> str:
        values = {"kind": self.kind, "record": self.record, "who": self.by, "when": self.at}
        if self.own and self.by:
            text = _(
                "This record is locked (by %(who)s on %(when)s); it must be unlocked before "
                "any change."
            )
        elif self.own:
            text = _("This record is locked (on %(when)s); it must be unlocked before any change.")
        elif self.by:
            text = _(
                "The %(kind)s %(record)s is locked (by %(who)s on %(when)s): nothing can be "
                "added to it until it is unlocked."
            )
        else:
            text = _(
                "The %(kind)s %(record)s is locked (on %(when)s): nothing can be added to it "
                "until it is unlocked."
            )
        return text % values


def lock_of(record: ClinicalRecord) -> Lock | None:
    """The lock that refuses saving this record: its own, or (a new record) its parent's."""
    if record.pk is not None:
        current = type(record).objects.select_related("locked_by").get(pk=record.pk)
        return Lock(current, own=True) if current.is_locked else None
    return lock_over(record)


def lock_over(record: ClinicalRecord) -> Lock | None:
    """The locked parent or participant a new record would be added under, read afresh."""
    for line in lock_lines(type(record)):
        parent: ClinicalRecord | None = record
        for fk in line:
            parent_id = getattr(parent, fk.attname)
            if parent_id is None:
                parent = None
                break
            parent = fk.related_model.objects.select_related("locked_by").get(pk=parent_id)
        if parent is not None and parent.is_locked:
            return Lock(parent, own=False)
    return None


def refuse_under_lock(record: ClinicalRecord) -> None:
    """Raise the clear message when a new record would go under a locked parent."""
    lock = lock_over(record)
    if lock is not None:
        raise ValidationError(lock.message, code="parent_locked")
