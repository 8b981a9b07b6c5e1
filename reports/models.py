"""DSMB safety reports: requested, built by a worker, stored with their checksum, downloads kept."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.storage import reports_storage


class ReportState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ReportLanguage(models.TextChoices):
    EN = "en", _("English")
    ZH_HANS = "zh-hans", _("Simplified Chinese")


class Report(models.Model):
    """One DSMB safety report at a data cut-off; the row is the outbox of its build task."""

    cutoff = models.DateTimeField(_("data cut-off"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    language = models.CharField(
        _("language"), max_length=10, choices=ReportLanguage.choices, default=ReportLanguage.EN
    )
    state = models.CharField(
        _("state"), max_length=10, choices=ReportState.choices, default=ReportState.REQUESTED
    )
    attempts = models.PositiveSmallIntegerField(_("build attempts"), default=0)
    lease_until = models.DateTimeField(_("build lease until"), null=True, blank=True)
    started_at = models.DateTimeField(_("build started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # Named in the "reports" storage (a local folder or an S3 bucket); never a public URL.
    file = models.FileField(_("file"), upload_to="reports/", storage=reports_storage, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), null=True, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("DSMB report")
        verbose_name_plural = _("DSMB reports")
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["state", "requested_at"], name="report_state")]
        constraints = [
            # A ready report has its file, size, page count and checksum.
            models.CheckConstraint(
                condition=~Q(state="ready")
                | (~Q(file="") & ~Q(sha256="") & Q(size__isnull=False, pages__isnull=False)),
                name="report_ready_complete",
            )
        ]

    def __str__(self) -> str:
        return str(
            _("DSMB report %(n)s (cut-off %(cutoff)s)")
            % {"n": self.pk, "cutoff": f"{self.cutoff:%Y-%m-%d %H:%M}"}
        )

    def get_absolute_url(self) -> str:
        return reverse("reports:list")

    @property
    def retry_attempt(self) -> int | None:
        """The attempt a build after a lost one is on (its worker died, or it is not the first)."""
        if self.state != ReportState.BUILDING:
            return None
        if self.lease_until is not None and self.lease_until < timezone.now():
            return self.attempts + 1  # waiting for the sweeper to hand it to a live worker
        return self.attempts if self.attempts > 1 else None


class ReportDownload(models.Model):
    """Who downloaded which report, when (append-only)."""

    report = models.ForeignKey(
        Report, on_delete=models.PROTECT, related_name="downloads", verbose_name=_("report")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("report download")
        verbose_name_plural = _("report downloads")
        ordering = ["-at"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.user_id} {self.at:%Y-%m-%d %H:%M}"


class ExportLog(models.Model):
    """Who exported which data, when (append-only)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("export"), max_length=20)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")
        ordering = ["-at"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
