from celery import shared_task

from outcomes import schedule_table
from outcomes.reminders import reminder_scan


@shared_task(name="outcomes.tasks.reminder_scan")
def reminders() -> int:
    """Visit and dose reminders (beat, hourly; idempotent through unique notification keys)."""
    return reminder_scan()


@shared_task(name="outcomes.tasks.schedule_refresh")
def schedule_refresh() -> int:
    """Rebuild the stored schedules that stop holding today (beat, just after midnight;
    idempotent: a second run finds nothing stale)."""
    return len(schedule_table.schedule_refresh())
