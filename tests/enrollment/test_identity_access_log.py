"""Who looked at identifying details: every page view is logged and shown in the audit review."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError

from crf import monitoring
from crf.models import AccessLog
from crf.services import record_create
from enrollment.models import Identity
from tests.factories import make_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def identity(coordinator):
    participant = make_participant(coordinator)
    return record_create(
        record=Identity(
            screening=participant.screening, full_name="Wang Fang", phone="13800000000"
        ),
        actor=coordinator,
    )


def identity_pages(identity) -> list[str]:
    """Every page that shows a record's identifying details (a query on it is opened here)."""
    query = monitoring.query_open(record=identity, field_name="full_name", text="Spelling?")
    return [
        f"/screening/{identity.screening.pk}/",
        f"/screening/{identity.screening.pk}/identity/",
        f"/records/enrollment.Identity/{identity.pk}/history/",
        f"/records/enrollment.identity/{identity.pk}/monitor/",
        f"/queries/{query.pk}/",
    ]


def test_each_page_showing_identifying_details_logs_who_looked_once(
    client_for, coordinator, identity
):
    client = client_for(coordinator)
    for url in identity_pages(identity):
        before = AccessLog.objects.count()
        response = client.get(url)
        assert response.status_code == 200
        assert "Wang Fang" in response.content.decode()
        assert AccessLog.objects.count() == before + 1, url
        log = AccessLog.objects.latest("pk")
        assert (log.user, log.username, log.role) == (
            coordinator,
            coordinator.username,
            "coordinator",
        )
        assert (log.record_label, log.record_id) == ("enrollment.Identity", str(identity.pk))
        assert log.subject == identity.audit_subject and log.subject
        assert log.page and log.at and log.request_id
        assert "Wang Fang" not in str(vars(log))


def test_a_refused_look_writes_no_access_row(client_for, monitor, dsmb_member, identity):
    for persona in (monitor, dsmb_member):
        client = client_for(persona)
        for url in identity_pages(identity)[1:]:
            assert client.get(url).status_code == 403
    assert not AccessLog.objects.exists()


def test_a_screening_without_identifying_details_logs_nothing(client_for, coordinator):
    participant = make_participant(coordinator)
    assert client_for(coordinator).get(f"/screening/{participant.screening.pk}/").status_code == 200
    assert not AccessLog.objects.exists()


def audit_texts(client, query: str = "") -> tuple[str, list[dict]]:
    page = client.get(f"/audit/?{query}").content.decode()
    body = b"".join(client.get(f"/audit/?{query}&format=csv").streaming_content).decode()
    return page, list(csv.DictReader(io.StringIO(body)))


def test_the_audit_review_shows_views_to_readers_of_identity_only(
    client_for, coordinator, investigator, monitor, identity
):
    client_for(coordinator).get(f"/screening/{identity.screening.pk}/identity/")
    page, rows = audit_texts(client_for(investigator))
    # The coordinator's look, and the investigator's own at this page (it shows identity values).
    viewed_by = [row["user"] for row in rows if row["action"] == "viewed"]
    assert sorted(viewed_by) == sorted([coordinator.username, investigator.username])
    (viewed,) = [
        row for row in rows if row["action"] == "viewed" and row["user"] == coordinator.username
    ]
    assert viewed["user"] == coordinator.username and viewed["role"] == "coordinator"
    assert viewed["participant"] == identity.audit_subject
    assert viewed["record"] == str(identity.pk)
    assert viewed["old"] == viewed["new"] == viewed["field"] == ""
    assert "Viewed identifying details" in page
    page, rows = audit_texts(client_for(monitor))
    assert not [row for row in rows if row["action"] == "viewed"]
    assert "Viewed identifying details" not in page


def test_the_audit_review_filters_views_by_participant_user_and_date(
    client_for, coordinator, investigator, identity
):
    client_for(coordinator).get(f"/screening/{identity.screening.pk}/identity/")
    client = client_for(investigator)

    def viewed(query: str) -> int:
        return len([row for row in audit_texts(client, query)[1] if row["action"] == "viewed"])

    assert viewed(f"participant={identity.audit_subject}&user={coordinator.username}") == 1
    assert viewed(f"participant=MDA5-999&user={coordinator.username}") == 0
    assert viewed(f"user={coordinator.username}&form=enrollment.Identity") == 1
    assert viewed(f"user={coordinator.username}&form=outcomes.Oxygenation") == 0
    assert viewed(f"user={coordinator.username}&from=2000-01-01&to=2000-01-02") == 0


def test_the_access_log_is_append_only(client_for, coordinator, identity):
    client_for(coordinator).get(f"/screening/{identity.screening.pk}/identity/")
    for statement in ("UPDATE crf_accesslog SET username = 'x'", "DELETE FROM crf_accesslog"):
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AccessLog.objects.filter(username=coordinator.username).count() == 1


def test_an_audit_review_showing_identity_values_is_logged_once_per_record(
    client_for, coordinator, investigator, monitor, identity
):
    client = client_for(investigator)
    for query in ("", "format=csv"):
        before = AccessLog.objects.count()
        assert client.get(f"/audit/?{query}").status_code == 200
        (log,) = AccessLog.objects.all()[before:]
        assert (log.username, log.page) == (investigator.username, "crf:audit")
        assert (log.record_label, log.record_id) == ("enrollment.Identity", str(identity.pk))
    # Filtered to rows without identity values, or read by a role that sees none: nothing.
    client.get("/audit/?form=outcomes.Oxygenation")
    client_for(monitor).get("/audit/")
    assert AccessLog.objects.count() == 2


def test_the_audit_review_reads_the_access_log_in_one_query(
    client_for, coordinator, investigator, identity, django_assert_max_num_queries
):
    url = f"/screening/{identity.screening.pk}/identity/"
    client_for(coordinator).get(url)
    client = client_for(investigator)
    client.get("/audit/")  # warm the session and caches
    with django_assert_max_num_queries(1000) as few:
        client.get("/audit/")
    queries = len(few.captured_queries)  # before the next request resets the log
    for _ in range(5):
        client_for(coordinator).get(url)
    client = client_for(investigator)
    with django_assert_max_num_queries(queries):
        client.get("/audit/")
