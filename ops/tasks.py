from celery import shared_task
from django.conf import settings

from ops.outbox import outbox_mark_retrying, outbox_run
from ops.outbox import outbox_sweep as sweep
from ops.services import heartbeat_record


@shared_task(name="ops.tasks.heartbeat")
def heartbeat() -> str:
    """Prove that beat can enqueue and a worker can consume; /health/ reads the result."""
    beat = heartbeat_record()
    return beat.beat_at.isoformat()


@shared_task(name="ops.tasks.outbox_deliver", bind=True, acks_late=True, max_retries=None)
def outbox_deliver(self, message_id: int) -> bool:
    """Run one owed task and mark it done; retry with backoff, then leave it to the sweep."""
    try:
        return outbox_run(message_id=message_id, tasks=self.app.tasks)
    except Exception as exc:
        if self.request.retries >= settings.OUTBOX_MAX_RETRIES:
            raise  # the row stays owed: beat's sweep sends it again later
        outbox_mark_retrying(message_id=message_id)
        countdown = settings.OUTBOX_RETRY_DELAY * 2**self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="ops.tasks.outbox_sweep")
def outbox_sweep() -> int:
    """Send again the work a broker outage or a dead worker left undone (beat, every minute)."""
    return len(sweep())
