from celery import shared_task

from ops.services import heartbeat_record


@shared_task(name="ops.tasks.heartbeat")
def heartbeat() -> str:
    """Prove that beat can enqueue and a worker can consume; /health/ reads the result."""
    beat = heartbeat_record()
    return beat.beat_at.isoformat()
