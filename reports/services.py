"""Requesting and building DSMB reports: at least once delivery, exactly one file."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation

from ops.outbox import outbox_enqueue
from reports.dsmb_data import dsmb_data
from reports.dsmb_pdf import DsmbReport
from reports.models import Report, ReportDownload, ReportLanguage, ReportState

STALE_REQUEST = dt.timedelta(minutes=2)  # a request whose task was lost is re-queued after it


def lease() -> dt.timedelta:
    """How long a build's claim holds without renewal (settings.REPORT_LEASE).

    A build renews its lease while it runs, so a build whose worker died is noticed when the lease
    lapses (the sweeper runs every 30 s), however long builds take.
    """
    return settings.REPORT_LEASE


def lease_renewal() -> dt.timedelta:
    return settings.REPORT_LEASE_RENEWAL


@transaction.atomic
def report_request(*, cutoff: dt.datetime, actor, language: str = ReportLanguage.EN) -> Report:
    """Create the report row and owe its build (sent to a worker once the row is committed)."""
    report = Report.objects.create(cutoff=cutoff, requested_by=actor, language=language)
    outbox_enqueue(
        task="reports.tasks.build_report", args=[report.pk], key=f"report-build:{report.pk}"
    )
    return report


def report_claim(report_id: int, *, now: dt.datetime | None = None) -> bool:
    """Take the build: only a requested report, or one whose previous build's lease expired."""
    now = now or timezone.now()
    claimed = (
        Report.objects.filter(pk=report_id)
        .filter(state=ReportState.REQUESTED)
        .update(state=ReportState.BUILDING, lease_until=now + lease(), started_at=now)
    )
    if not claimed:
        claimed = Report.objects.filter(
            pk=report_id, state=ReportState.BUILDING, lease_until__lt=now
        ).update(lease_until=now + lease(), started_at=now)
    if claimed:
        Report.objects.filter(pk=report_id).update(attempts=F("attempts") + 1)
    return bool(claimed)


def render_pdf(
    cutoff: dt.datetime, *, version: int | str, requested_by: str, language: str
) -> tuple[bytes, int]:
    """The PDF of a DSMB report at this cut-off, in this language, and its page count."""
    with translation.override(language):
        return DsmbReport(
            dsmb_data(cutoff), version=version, requested_by=requested_by, language=language
        ).build()


def report_render(report: Report) -> tuple[bytes, int]:
    """The PDF of a report in the language it was requested in."""
    return render_pdf(
        report.cutoff,
        version=report.pk,
        requested_by=report.requested_by.printed_name,
        language=report.language,
    )


@contextlib.contextmanager
def lease_kept(report_id: int):
    """Renew the build's lease from a side thread for as long as the block runs."""
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(lease_renewal().total_seconds()):
                Report.objects.filter(pk=report_id, state=ReportState.BUILDING).update(
                    lease_until=timezone.now() + lease()
                )
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=renew, name=f"report-{report_id}-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def report_build(report_id: int) -> bool:
    """Build the report if this call wins the claim; return whether it built it."""
    if not report_claim(report_id):
        return False
    report = Report.objects.select_related("requested_by").get(pk=report_id)
    try:
        with lease_kept(report_id):
            pdf, pages = report_render(report)
    except Exception as exc:
        Report.objects.filter(pk=report_id, state=ReportState.BUILDING).update(
            state=ReportState.FAILED, error=f"{type(exc).__name__}: {exc}", lease_until=None
        )
        raise
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.state != ReportState.BUILDING:
            return False  # another build finished first
        # A deterministic name: a repeated build replaces the same file, never adds one.
        name = f"dsmb-report-{report.pk}.pdf"
        if report.file:
            report.file.delete(save=False)
        report.file.save(name, ContentFile(pdf), save=False)
        report.size, report.pages = len(pdf), pages
        report.sha256 = hashlib.sha256(pdf).hexdigest()
        report.state, report.finished_at, report.lease_until, report.error = (
            ReportState.READY,
            timezone.now(),
            None,
            "",
        )
        report.save()
    return True


@transaction.atomic
def report_retry(*, report: Report) -> bool:
    """Queue a failed report again."""
    moved = Report.objects.filter(pk=report.pk, state=ReportState.FAILED).update(
        state=ReportState.REQUESTED, error=""
    )
    if moved:
        attempts = Report.objects.values_list("attempts", flat=True).get(pk=report.pk)
        outbox_enqueue(
            task="reports.tasks.build_report",
            args=[report.pk],
            key=f"report-build:{report.pk}:after-attempt-{attempts}",
        )
    return bool(moved)


def reports_stuck(*, now: dt.datetime | None = None) -> list[int]:
    """Requests whose task was lost and builds whose worker died (lease expired)."""
    now = now or timezone.now()
    stuck = list(
        Report.objects.filter(
            state=ReportState.REQUESTED, requested_at__lt=now - STALE_REQUEST
        ).values_list("pk", flat=True)
    ) + list(
        Report.objects.filter(state=ReportState.BUILDING, lease_until__lt=now).values_list(
            "pk", flat=True
        )
    )
    return stuck


def report_download_record(*, report: Report, user, ip: str | None) -> ReportDownload:
    return ReportDownload.objects.create(report=report, user=user, ip=ip)
