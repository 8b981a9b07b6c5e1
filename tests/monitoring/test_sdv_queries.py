"""The SDV pages and the report list cost a fixed number of queries, whatever the trial's size."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crf.models import Verification
from enrollment.models import Participant
from reports.models import ReportDownload
from reports.services import report_request
from tests.bulk import fill_trial


def _queries(client, url: str) -> tuple[int, object]:
    ContentType.objects.clear_cache()  # as cold as a fresh worker's first request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response


def test_sdv_pages_issue_the_same_queries_for_a_small_and_a_larger_trial(
    client_for, monitor, coordinator
):
    client = client_for(monitor)
    fill_trial(3, actor=coordinator, seed=1)
    subject = Participant.objects.order_by("number").first().participant_id
    client.get("/")  # the session's own first-request bookkeeping
    small = [
        _queries(client, url)[0] for url in ("/monitoring/sdv/", f"/monitoring/sdv/{subject}/")
    ]
    fill_trial(40, actor=coordinator, seed=2)
    large = [
        _queries(client, url)[0] for url in ("/monitoring/sdv/", f"/monitoring/sdv/{subject}/")
    ]
    assert large == small


def test_sdv_page_states_come_from_the_database(client_for, monitor, coordinator):
    participant = fill_trial(3, actor=coordinator, seed=5)[-1]  # the one who started first
    dose = participant.doses.order_by("study_day").first()
    Verification.objects.filter(object_id=dose.pk).delete()
    from crf.monitoring import record_verify

    record_verify(record=dose, actor=monitor)
    _count, response = _queries(
        client_for(monitor), f"/monitoring/sdv/{participant.participant_id}/"
    )
    (row,) = [
        r
        for r in response.context["rows"]
        if r["record"].pk == dose.pk and r["label"] == "dosing.doserecord"
    ]
    assert row["state"] == "verified"
    assert row["verification"]["verified_by"] == monitor
    type(dose).objects.filter(pk=dose.pk).update(pre_spo2=95)  # a later version clears it
    _count, response = _queries(
        client_for(monitor), f"/monitoring/sdv/{participant.participant_id}/"
    )
    (row,) = [
        r
        for r in response.context["rows"]
        if r["record"].pk == dose.pk and r["label"] == "dosing.doserecord"
    ]
    assert row["state"] == "cleared"


def test_the_report_list_costs_the_same_with_more_downloads(client_for, investigator, monitor):
    client = client_for(investigator)
    report = report_request(cutoff=timezone.now(), actor=investigator)
    ReportDownload.objects.create(report=report, user=investigator)
    client.get("/")
    small, _response = _queries(client, "/reports/")
    for user in (monitor, investigator, monitor):
        ReportDownload.objects.create(report=report, user=user)
    report_request(cutoff=timezone.now(), actor=investigator)
    large, response = _queries(client, "/reports/")
    assert large == small
    assert monitor.printed_name in response.content.decode()
