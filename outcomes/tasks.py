from celery import shared_task

from outcomes.reminders import reminder_scan


@shared_task(name="outcomes.tasks.reminder_scan")
def reminders() -> int:
    """Visit and dose reminders (beat, hourly; idempotent through unique notification keys)."""
    return reminder_scan()
