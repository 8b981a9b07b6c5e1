"""The safety dashboard's tables: paginated and sorted on the server, filtered by grade,
seriousness, relatedness, assessment and clock state, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from enrollment.models import Participant
from tests.factories import (
    assess,
    bulk_adverse_events,
    bulk_participants,
    make_ae,
    make_participant,
)

pytestmark = pytest.mark.django_db

# The queries of one dashboard page, whatever the size of the trial: the session and user, the
# banner and inbox, the summary figures, the stopping-rule alerts, the page's count and rows
# (and, for the participants, their events and doses).
QUERIES = {"events": 9, "participants": 11, "clocks": 10}


def trial(actor, count: int, start: int = 0) -> None:
    before = set(Participant.objects.values_list("pk", flat=True))
    bulk_participants(actor, count, start=start)
    bulk_adverse_events(actor, list(Participant.objects.exclude(pk__in=before)))


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_each_table_costs_the_same_queries_at_10_and_1000_participants(
    client_for, coordinator, investigator
):
    client = client_for(investigator)
    urls = {view: f"/safety/?view={view}" for view in QUERIES}
    urls["filtered"] = "/safety/?view=participants&grade=3&related=yes&sort=-compliance&page=2"
    urls["running"] = "/safety/?view=clocks&clock=running&sort=-due"
    trial(coordinator, 10)
    client.get("/safety/")  # the first request of a session settles it
    small = {name: query_count(client, url) for name, url in urls.items()}
    trial(coordinator, 990, start=10)
    large = {name: query_count(client, url) for name, url in urls.items()}
    assert large == small
    assert {view: small[view] for view in QUERIES} == QUERIES


def test_the_csv_download_costs_one_query_for_its_events(client_for, coordinator, investigator):
    trial(coordinator, 30)
    client = client_for(investigator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/safety/export.csv?serious=yes")
        rows = b"".join(response.streaming_content).decode().splitlines()
    assert len(rows) == 1 + 10  # every third participant has a serious event
    assert sum("safety_adverseevent" in q["sql"] for q in queries) == 1


def test_the_event_table_pages_by_50_and_keeps_the_filters(client_for, coordinator, investigator):
    trial(coordinator, 120)  # 120 coughs and 40 serious events
    client = client_for(investigator)
    page = client.get("/safety/?serious=no&sort=-onset").context["page_obj"]
    assert (page.paginator.count, len(page.object_list), page.paginator.num_pages) == (120, 50, 3)
    onsets = [ae.onset_date for ae in page.object_list]
    assert onsets == sorted(onsets, reverse=True)
    html = client.get("/safety/?serious=no&sort=-onset&page=2").content.decode()
    assert 'href="?serious=no&amp;sort=-onset&amp;page=3"' in html  # next page keeps the query
    assert 'href="?serious=no&amp;sort=-onset&amp;page=1"' in html
    last = client.get("/safety/?serious=no&sort=-onset&page=99").context["page_obj"]
    assert last.number == 3 and len(last.object_list) == 120 - 100
    worst_first = client.get("/safety/?sort=-grade").context["page_obj"].object_list
    assert {ae.worst_grade for ae in worst_first[:40]} == {4}  # the grade 3 events got worse
    serious = client.get("/safety/?serious=yes").context["page_obj"]
    assert serious.paginator.count == 40 and all(ae.serious for ae in serious.object_list)


def test_the_participant_table_sorts_by_worst_grade_and_shows_compliance(
    client_for, coordinator, investigator
):
    today = timezone.localdate()
    dosed = make_participant(coordinator, first_dose=today - dt.timedelta(days=20))
    mild = make_participant(coordinator, first_dose=today - dt.timedelta(days=20))
    assess(make_ae(dosed, coordinator, term="Hypoxia", grade=4), investigator, related="possibly")
    make_ae(mild, coordinator, term="Cough", grade=1)
    from tests.factories import make_dose

    for day in (1, 2, 3):
        make_dose(dosed, coordinator, day)
    client = client_for(investigator)
    response = client.get("/safety/?view=participants&sort=-grade")
    rows = response.context["rows"]
    assert [row.participant.pk for row in rows] == [dosed.pk, mild.pk]
    assert (rows[0].compliance.given, rows[0].compliance.due) == (3, 14)
    html = response.content.decode()
    assert re.search(r'data-testid="compliance">3/14 <span[^>]*>\(21%\)', html)
    related_only = client.get("/safety/?view=participants&related=yes").context["rows"]
    assert [row.participant.pk for row in related_only] == [dosed.pk]
    assert related_only[0].by_grade[4] == [1, 1]


def test_the_clock_table_lists_overdue_reports_first_and_filters_by_state(
    client_for, coordinator, investigator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=10)
    )
    serious = {"term": "Dyspnea", "grade": 3, "serious": True, "sae_hospitalisation": True}
    late = make_ae(
        participant, coordinator, awareness_at=timezone.now() - dt.timedelta(days=3), **serious
    )
    fresh = make_ae(participant, coordinator, awareness_at=timezone.now(), **serious)
    client = client_for(investigator)
    rows = client.get("/safety/?view=clocks").context["rows"]
    assert [(row.ae.pk, row.state) for row in rows] == [(late.pk, "overdue"), (fresh.pk, "running")]
    rows = client.get("/safety/?view=clocks&clock=running").context["rows"]
    assert [row.ae.pk for row in rows] == [fresh.pk]
    html = client.get("/safety/").content.decode()
    assert 'data-count="overdue">1<' in html
    assert 'href="?view=clocks&amp;clock=overdue"' in html
