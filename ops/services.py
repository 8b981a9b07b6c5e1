from __future__ import annotations

import socket

from django.utils import timezone

from ops.models import Heartbeat

WORKER = "celery-worker"


def heartbeat_record(*, name: str = WORKER, hostname: str | None = None) -> Heartbeat:
    """Record that a process of this kind is alive now."""
    beat, _ = Heartbeat.objects.update_or_create(
        name=name,
        defaults={"beat_at": timezone.now(), "hostname": hostname or socket.gethostname()},
    )
    return beat
