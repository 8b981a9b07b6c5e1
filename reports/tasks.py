from celery import shared_task

from reports import services


@shared_task(name="reports.tasks.build_report", acks_late=True)
def build_report(report_id: int) -> bool:
    """Build a DSMB report; a duplicate or redelivered task finds the row claimed, does nothing."""
    return services.report_build(report_id)


@shared_task(name="reports.tasks.sweep_reports")
def sweep_reports() -> int:
    """Re-queue reports whose task was lost or whose worker died (beat, every 30 seconds)."""
    stuck = services.reports_stuck()
    for report_id in stuck:
        build_report.delay(report_id)
    return len(stuck)
