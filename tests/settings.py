"""Test settings: the real settings plus a small clinical app that exercises the CRF machinery."""

from trialportal.settings import *  # noqa: F403
from trialportal.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.crftest"]
ROOT_URLCONF = "tests.urls"
# Hashing strength is not under test; a fast hasher keeps persona logins cheap.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Keep test tasks away from a development worker that may share the same Redis.
CELERY_TASK_DEFAULT_QUEUE = "trialportal-tests"
