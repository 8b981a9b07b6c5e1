"""Work owed after a CRF save, delivered through the outbox by a worker (retried, idempotent), and
the sealing of the audit trail (beat)."""

from celery import shared_task

from crf import chain, monitoring, notifications


@shared_task(name="crf.tasks.notification_email")
def notification_email(notification_id: int) -> bool:
    """E-mail one notification (idempotent: the row is claimed, then marked emailed)."""
    return notifications.notification_email(notification_id=notification_id)


@shared_task(name="crf.tasks.signatures_recheck")
def signatures_recheck(label: str, pk: int) -> int:
    """Re-hash what the record's signatures vouch for; tell each signer whose signature broke."""
    return monitoring.signatures_recheck(label=label, pk=pk)


@shared_task(name="crf.tasks.audit_seal")
def audit_seal() -> int:
    """Seal settled audit events into the hash chain (beat, every 5 minutes; idempotent)."""
    return chain.audit_seal()


@shared_task(name="crf.tasks.audit_digest")
def audit_digest() -> str:
    """Record the day's head of the audit chain and send it to the administrators (beat, daily)."""
    return chain.audit_digest_record().sha256
