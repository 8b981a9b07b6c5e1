from celery import shared_task

from crf import chain


@shared_task(name="crf.tasks.audit_seal")
def audit_seal() -> int:
    """Seal settled audit events into the hash chain (beat, every 5 minutes; idempotent)."""
    return chain.audit_seal()


@shared_task(name="crf.tasks.audit_digest")
def audit_digest() -> str:
    """Record the day's head of the audit chain and send it to the administrators (beat, daily)."""
    return chain.audit_digest_record().sha256
