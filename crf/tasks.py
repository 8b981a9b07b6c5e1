"""Work owed after a CRF save, delivered through the outbox by a worker (retried, idempotent)."""

from celery import shared_task

from crf import monitoring, notifications


@shared_task(name="crf.tasks.notification_email")
def notification_email(notification_id: int) -> bool:
    """E-mail one notification (idempotent: the row is claimed, then marked emailed)."""
    return notifications.notification_email(notification_id=notification_id)


@shared_task(name="crf.tasks.signatures_recheck")
def signatures_recheck(label: str, pk: int) -> int:
    """Re-hash what the record's signatures vouch for; tell each signer whose signature broke."""
    return monitoring.signatures_recheck(label=label, pk=pk)
