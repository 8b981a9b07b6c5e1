"""A report requested on the page is built by a real Celery worker, once even if queued twice."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from reports.models import Report
from reports.tasks import build_report

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.worker]


def test_a_requested_report_becomes_ready_and_a_duplicate_task_builds_nothing(
    celery_worker, client_for, monitor, settings
):
    client = client_for(monitor)
    response = client.post("/reports/", {"cutoff": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    report = Report.objects.get()
    build_report.delay(report.pk)  # the same task delivered a second time
    deadline = time.monotonic() + 60
    while Report.objects.get().state != "ready":
        assert time.monotonic() < deadline, Report.objects.get().state
        time.sleep(0.2)
    time.sleep(1)
    report.refresh_from_db()
    assert report.attempts == 1
    assert len(list((settings.MEDIA_ROOT / "reports").iterdir())) == 1
    html = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
    assert "Download PDF" in html and "hx-trigger" not in html  # nothing left to poll for
