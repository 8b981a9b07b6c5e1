"""The Celery application: Redis broker, configuration from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialportal.settings")

# Every task runs inside an audit context, so database changes made by background work are
# attributed to the task in the audit trail.
app = Celery("trialportal", task_cls="crf.audit:AuditedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
