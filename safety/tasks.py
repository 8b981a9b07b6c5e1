from celery import shared_task

from safety import services


# Enqueued through the outbox (ops.tasks.outbox_deliver), which owns the retries.
@shared_task(name="safety.tasks.sae_alert")
def sae_alert(ae_id: int, version: int) -> int:
    """Alert investigators and safety contacts of a serious AE version (idempotent)."""
    return services.sae_alert_send(ae_id=ae_id, version=version)


@shared_task(name="safety.tasks.stopping_rules_check")
def stopping_rules_check() -> int:
    """Evaluate the stopping rules after an AE save (idempotent: alerts have unique keys)."""
    return len(services.stopping_rules_check())


@shared_task(name="safety.tasks.sae_clock_scan")
def sae_clock_scan() -> int:
    """Escalate overdue SAE/SUSAR reports to the PI (beat, every 5 minutes; idempotent)."""
    return services.sae_clock_scan()
