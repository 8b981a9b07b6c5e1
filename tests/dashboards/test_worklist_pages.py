"""The participant list, the home page's counts and the worklist: paged, sorted and counted in SQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import bulk_participants, make_exit, make_participant

pytestmark = pytest.mark.django_db

PAGES = {
    "/": 16,
    "/participants/": 14,
    "/participants/?sort=next": 14,
    "/participants/?sort=state&state=due&status=on_study": 14,
    "/worklist/?bucket=overdue": 13,
    "/worklist/?bucket=today&kind=visit&sort=participant": 13,
    "/dosing/today/": 13,
}


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_pages_issue_the_same_queries_at_10_and_at_1000_participants(client_for, coordinator):
    client = client_for(coordinator)
    bulk_participants(coordinator, 10)
    at_10 = {url: queries(client, url) for url in PAGES}
    bulk_participants(coordinator, 990, start=10)
    at_1000 = {url: queries(client, url) for url in PAGES}
    assert at_1000 == at_10
    for url, most in PAGES.items():
        assert at_10[url] <= most, (url, at_10[url])


def test_the_participant_list_shows_50_a_page_and_keeps_the_query_string(client_for, coordinator):
    bulk_participants(coordinator, 120)
    client = client_for(coordinator)
    response = client.get("/participants/?sort=next&page=2")
    rows = response.context["rows"]
    assert len(rows) == 50 and response.context["page_obj"].number == 2
    html = response.content.decode()
    assert "?sort=next&amp;page=3" in html and "?sort=next&amp;page=1" in html
    assert "120 participants" in html
    assert len(client.get("/participants/?sort=next&page=3").context["rows"]) == 20
    # Sorted by the next item's date, those with nothing more due last.
    every = []
    for page in (1, 2, 3):
        every += client.get(f"/participants/?sort=next&page={page}").context["rows"]
    targets = [row.next_item.target for row in every if row.next_item]
    assert targets == sorted(targets)
    assert all(row.next_item for row in every[: len(targets)])
    assert len({row.participant.pk for row in every}) == 120
    # By participant: enrollment order.
    first = client.get("/participants/?sort=participant").context["rows"]
    assert [row.participant.number for row in first] == sorted(r.participant.number for r in first)


def test_the_participant_list_filters_by_status_and_by_the_next_items_state(
    client_for, coordinator
):
    today = timezone.localdate()
    due = make_participant(coordinator, first_dose=today)  # baseline and day 1 due today
    later = make_participant(coordinator, first_dose=today + dt.timedelta(days=10))
    left = make_participant(coordinator, first_dose=today - dt.timedelta(days=30))
    make_exit(left, coordinator, on=today - dt.timedelta(days=1))
    client = client_for(coordinator)

    def shown(query: str) -> list[str]:
        rows = client.get(f"/participants/?{query}").context["rows"]
        return [row.participant.participant_id for row in rows]

    assert shown("status=withdrawn") == [left.participant_id]
    assert shown("status=on_study") == [due.participant_id, later.participant_id]
    assert shown("state=due") == [due.participant_id]
    assert shown("state=scheduled") == [later.participant_id]
    assert shown("state=none") == [left.participant_id]
    # By state: due first, then scheduled, then nothing more due.
    assert shown("sort=state") == [due.participant_id, later.participant_id, left.participant_id]
    html = client.get("/participants/?status=completed").content.decode()
    assert "No participant matches." in html


def test_the_home_page_counts_by_kind_and_links_to_the_worklist(client_for, coordinator):
    today = timezone.localdate()
    late = make_participant(coordinator, first_dose=today - dt.timedelta(days=20))
    make_participant(coordinator, first_dose=today)
    client = client_for(coordinator)
    html = client.get("/").content.decode()
    counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}
    by_kind = re.findall(r'data-kind-count="(\w+)">(\d+)<', html)
    overdue, today_counts = dict(by_kind[0:3]), dict(by_kind[3:6])
    # 14 doses and the baseline and day 14 visits of the late participant.
    assert overdue == {"visit": "2", "dose": "14", "report": "0"}
    assert today_counts == {"visit": "1", "dose": "1", "report": "0"}
    assert counts["overdue"] == 16 and counts["today"] == 2
    assert 'href="/worklist/?bucket=overdue&amp;kind=dose"' in html
    assert 'href="/worklist/?bucket=overdue"' in html

    page = client.get("/worklist/?bucket=overdue&kind=dose")
    items = page.context["items"]
    assert len(items) == 14 and {item.kind for item in items} == {"dose"}
    assert [item.due for item in items] == sorted(item.due for item in items)
    assert items[0].url == f"/dosing/{late.participant_id}/new/?day=1"
    visits = client.get("/worklist/?bucket=overdue&kind=visit").context["items"]
    assert [item.label for item in visits] == ["Baseline", "Day 14"]
    assert visits[0].url == f"/participants/{late.participant_id}/visits/new/?code=baseline"
    every = client.get("/worklist/?bucket=overdue&sort=participant")
    assert every.context["page_obj"].paginator.count == 16


def test_the_worklist_shows_50_a_page_and_keeps_the_query_string(client_for, coordinator):
    today = timezone.localdate()
    for _ in range(4):  # 4 x 14 missed doses
        make_participant(coordinator, first_dose=today - dt.timedelta(days=30))
    client = client_for(coordinator)
    first = client.get("/worklist/?bucket=overdue&kind=dose")
    assert len(first.context["items"]) == 50
    assert "?bucket=overdue&amp;kind=dose&amp;page=2" in first.content.decode()
    second = client.get("/worklist/?bucket=overdue&kind=dose&page=2")
    assert len(second.context["items"]) == 6
