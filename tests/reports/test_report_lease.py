"""A build renews its lease while it runs, so a dead worker's build is retried within two minutes."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from reports import services
from reports.models import Report


def test_a_dead_workers_build_is_noticed_within_two_minutes():
    sweep = django_settings.CELERY_BEAT_SCHEDULE["report-sweep"]["schedule"]
    assert services.lease().total_seconds() + sweep <= 120
    assert services.lease_renewal() * 3 <= services.lease()  # two renewals may be late


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_build_longer_than_the_lease_keeps_it(monitor, monkeypatch, settings):
    settings.REPORT_LEASE = dt.timedelta(seconds=1)
    settings.REPORT_LEASE_RENEWAL = dt.timedelta(seconds=0.2)
    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    rendered = services.report_render
    seen = {}

    def slow_render(report):
        # Three leases long: without renewal another worker could take the build over now.
        deadline = timezone.now() + dt.timedelta(seconds=3)
        while timezone.now() < deadline:
            seen.setdefault("claims", []).append(services.report_claim(report.pk))
            Report.objects.get(pk=report.pk)  # let the renewal thread's update be seen
            time.sleep(0.25)
        return rendered(report)

    monkeypatch.setattr(services, "report_render", slow_render)
    assert services.report_build(report.pk) is True
    report.refresh_from_db()
    assert report.state == "ready" and report.attempts == 1
    assert seen["claims"] and not any(seen["claims"])


@pytest.mark.django_db
def test_a_lost_build_shows_retrying_until_a_live_worker_finishes_it(client_for, monitor, settings):
    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    start = timezone.now()
    assert services.report_claim(report.pk, now=start)  # a worker took it, then died
    client = client_for(monitor)
    page = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
    assert "Retrying" not in page
    with time_machine.travel(start + services.lease() + dt.timedelta(seconds=1), tick=False):
        page = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
        assert 'data-retrying="2"' in page and "Retrying (attempt 2)" in page
        assert "hx-trigger" in page  # the page keeps following it
        assert services.reports_stuck() == [report.pk]
        assert services.report_build(report.pk) is True
    page = client.get("/reports/", HTTP_HX_REQUEST="true").content.decode()
    assert "Retrying" not in page and "Download PDF" in page
