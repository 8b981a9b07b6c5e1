"""The audit review filters and paginates in the database; its CSV streams every filtered row."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pgtrigger
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crf.selectors import AUDIT_PAGE_SIZE
from dosing.models import DoseRecord
from tests.bulk import fill_trial


def _get(client, url: str):
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, url
    return len(captured), response, body.decode()


def test_the_audit_review_pages_in_fixed_queries(client_for, monitor, coordinator):
    client = client_for(monitor)
    fill_trial(2, actor=coordinator, seed=1)
    client.get("/")
    small, response, _body = _get(client, "/audit/")
    fill_trial(20, actor=coordinator, seed=2)
    large, response, html = _get(client, "/audit/")
    assert large == small
    assert len(response.context["rows"]) == AUDIT_PAGE_SIZE  # one page, not every event
    total = response.context["total"]
    assert total > 2 * AUDIT_PAGE_SIZE
    assert "page=2" in html
    _count, second, _html = _get(client, "/audit/?page=2")
    first_times = [row.at for row in response.context["rows"]]
    second_times = [row.at for row in second.context["rows"]]
    assert max(second_times) <= min(first_times)  # newest first, page after page


def test_the_audit_csv_streams_every_filtered_row_and_the_default_period_is_recent(
    client_for, monitor, coordinator
):
    client = client_for(monitor)
    fill_trial(20, actor=coordinator, seed=3)
    doses = DoseRecord.pgh_event_model.objects.count()
    # An event older than the default period is left out unless the period asks for it.
    old = timezone.now() - dt.timedelta(days=90)
    events = DoseRecord.pgh_event_model.objects
    with pgtrigger.ignore("dosing.DoseRecordEvent:append_only"):  # an older trial, not an edit
        events.filter(pgh_id=events.order_by("pgh_id").first().pgh_id).update(pgh_created_at=old)
    _count, response, _html = _get(client, "/audit/?form=dosing.DoseRecord")
    assert response.context["total"] == doses - 1
    _count, response, _html = _get(client, "/audit/?form=dosing.DoseRecord&from=")
    assert response.context["total"] == doses
    _count, _response, body = _get(client, "/audit/?form=dosing.DoseRecord&from=&format=csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len({(row["record"], row["when"]) for row in rows}) == doses  # all, not one page
    assert doses > AUDIT_PAGE_SIZE
