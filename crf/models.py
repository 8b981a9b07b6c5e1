"""What every clinical record shares: status, version, authorship, retirement, audit trail."""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class RecordDeletionRefused(Exception):
    """Clinical records are retired with a reason, never deleted."""


def audited(model_class):
    """Track every insert, update and delete of a clinical model in the audit trail.

    Use as a class decorator on every concrete ClinicalRecord; the system check crf.E001 fails
    when one is missing.
    """
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
    )(model_class)


class ClinicalRecord(models.Model):
    """Abstract base of every clinical record (CRF, log entry, participant)."""

    status = models.CharField(
        _("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.SUBMITTED
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_(
            "Increased by one by the database on every change; an edit based on an older "
            "version is refused."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("updated by"),
    )
    soft_range_fields = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        editable=False,
        verbose_name=_("unusual values confirmed"),
        help_text=_("Fields whose value lies outside the usual range, confirmed by the user."),
    )
    retired_at = models.DateTimeField(_("entered in error at"), null=True, blank=True)
    retired_reason = models.TextField(_("reason entered in error"), blank=True)

    # The study permission needed to read this record and its history; identity data narrows it.
    view_perm = "view_data"

    # Fields that describe the record's bookkeeping rather than clinical content; the history
    # page shows them as who/when, not as changed values.
    BOOKKEEPING_FIELDS = (
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "soft_range_fields",
    )

    class Meta:
        abstract = True
        triggers = [
            # Clinical records are never deleted (DESIGN.md section 3): retire them instead.
            pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete),
            # Every change raises the version, also raw SQL, so optimistic locking cannot be
            # bypassed by code that forgets it.
            pgtrigger.Trigger(
                name="bump_version",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="NEW.version := OLD.version + 1; RETURN NEW;",
            ),
        ]
        constraints = []

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_editable(self) -> bool:
        return not self.is_retired

    @property
    def requires_reason_for_change(self) -> bool:
        """Once submitted, every change needs a reason (OpenClinica's rule, Annex 11 section 9)."""
        return self.pk is not None and self.status != RecordStatus.DRAFT

    def history_url(self) -> str:
        return reverse("crf:history", kwargs={"label": self._meta.label_lower, "pk": self.pk})

    def delete(self, *args, **kwargs):
        raise RecordDeletionRefused(
            _("Clinical records cannot be deleted; mark the record as entered in error instead.")
        )


class Notification(models.Model):
    """An alert or reminder to one person: in the in-app inbox and, once, by email.

    `key` is unique: it names the event and the recipient (e.g. "sae:12:v3:user:5"), so a task
    that runs twice, or two workers, never notify twice.
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    email = models.EmailField(
        _("email"), blank=True, help_text=_("For contacts without an account.")
    )
    kind = models.CharField(_("kind"), max_length=40)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            # Someone receives it: an account or an email address.
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(email=""),
                name="notification_has_recipient",
            )
        ]

    def __str__(self) -> str:
        return self.subject
