"""A real Celery worker whose DSMB build hangs once it holds the claim (a test then SIGKILLs it).

Everything but the PDF drawing is the production path: the task, the claim, the lease renewal
thread. The file named by FAULT_STARTED_FILE appears when the build is under way.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

import datetime as dt  # noqa: E402

from django.conf import settings  # noqa: E402

from reports import services  # noqa: E402
from trialportal.celery import app  # noqa: E402


def _hang(report):
    Path(os.environ["FAULT_STARTED_FILE"]).touch()
    while True:
        time.sleep(60)


services.report_render = _hang
# A short lease, renewed four times per lease, so that the test need not wait a minute.
settings.REPORT_LEASE = dt.timedelta(seconds=float(os.environ["FAULT_REPORT_LEASE"]))
settings.REPORT_LEASE_RENEWAL = settings.REPORT_LEASE / 4

if __name__ == "__main__":
    app.worker_main(["worker", *sys.argv[1:]])
