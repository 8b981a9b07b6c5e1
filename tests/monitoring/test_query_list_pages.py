"""The query list: paginated on the server, filtered by state and participant, in a fixed
number of queries however many participants and queries the trial has."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.models import DataQuery
from enrollment.models import Participant
from tests.factories import bulk_participants

pytestmark = pytest.mark.django_db


def raise_queries(actor, participants) -> None:
    """Two queries on each participant's record: one open, one closed."""
    kind = ContentType.objects.get_for_model(Participant)
    DataQuery.objects.bulk_create(
        [
            DataQuery(
                content_type=kind,
                object_id=p.pk,
                field_name="enrollment_date",
                subject=p.participant_id,
                state=state,
                opened_by=actor,
            )
            for p in participants
            for state in ("open", "closed")
        ]
    )


def test_the_query_list_costs_the_same_queries_at_10_and_1000_participants(client_for, monitor):
    client = client_for(monitor)
    bulk_participants(monitor, 10)
    raise_queries(monitor, Participant.objects.all())
    client.get("/queries/")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/queries/?state=all&page=2").status_code == 200
        return len(queries)

    small = count()
    known = set(Participant.objects.values_list("pk", flat=True))
    bulk_participants(monitor, 990, start=10)
    raise_queries(monitor, Participant.objects.exclude(pk__in=known))
    # At most the 11 of one page (session, user, permissions, count, rows, banner, inbox, session
    # save): the same bound at 10 and 1,000 participants.
    assert small <= 11
    assert count() <= 11


def test_the_query_list_pages_by_50_and_keeps_the_filters(client_for, monitor):
    bulk_participants(monitor, 60)
    raise_queries(monitor, Participant.objects.all())
    client = client_for(monitor)
    first = client.get("/queries/?state=open")
    page = first.context["page_obj"]
    assert (page.paginator.count, len(first.context["rows"])) == (60, 50)
    assert all(q.state == "open" for q, _age in first.context["rows"])
    assert 'href="?state=open&amp;page=2"' in first.content.decode()
    second = client.get("/queries/?state=open&page=2")
    assert len(second.context["rows"]) == 10
    assert 'href="?state=open&amp;page=1"' in second.content.decode()
    everything = client.get("/queries/?state=all").context["page_obj"]
    assert everything.paginator.count == 120
    one = client.get("/queries/?state=all&participant=BULK-00007").context["rows"]
    assert sorted(q.state for q, _age in one) == ["closed", "open"]
