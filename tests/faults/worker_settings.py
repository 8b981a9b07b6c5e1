"""Settings of a Celery worker subprocess whose mail server hangs (killed mid-task by a test)."""

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.faults.backends.HangingBackend"
