"""Queries, source data verification, e-signatures, locking, deviations and audit review."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from crf import monitoring
from crf.models import DataQuery, Notification, QueryState, Signature
from crf.services import record_update
from outcomes.models import Oxygenation, Visit
from tests.conftest import PASSWORD, deliver_outbox
from tests.factories import make_participant, make_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=20))


@pytest.fixture
def visit(participant, coordinator):
    return make_visit(participant, coordinator, "baseline")


@pytest.fixture
def oxygenation(visit, coordinator):
    from crf.services import record_create

    return record_create(
        record=Oxygenation(
            visit=visit,
            sampled_at=dt.time(8),
            o2_device="mask",
            fio2="0.40",
            fio2_source="set",
            pao2=70,
        ),
        actor=coordinator,
    )


def monitor_url(record):
    return f"/records/{record._meta.label_lower}/{record.pk}/monitor/"


# --- Queries ---------------------------------------------------------------------------------


def test_the_query_lifecycle_with_a_reopen(client_for, monitor, coordinator, oxygenation):
    client = client_for(monitor)
    response = client.post(
        monitor_url(oxygenation), {"field_name": "pao2", "text": "Source shows 68 mmHg?"}
    )
    assert response.status_code == 302
    query = DataQuery.objects.get()
    assert (query.state, query.subject, query.field_name) == ("open", "MDA5-001", "pao2")

    coordinator_client = client_for(coordinator)
    coordinator_client.post(
        f"/queries/{query.pk}/",
        {"action": "answer", "text": "Corrected to 68", "data_changed": "on"},
    )
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED
    client = client_for(monitor)
    client.post(f"/queries/{query.pk}/", {"action": "close", "text": "Thanks"})
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED and query.closed_at is not None
    client.post(f"/queries/{query.pk}/", {"action": "reopen", "text": "The unit is still wrong"})
    query.refresh_from_db()
    assert query.state == QueryState.OPEN and query.closed_at is None
    steps = [(s.action, s.by.username, s.data_changed) for s in query.steps.all()]
    assert steps == [
        ("open", monitor.username, False),
        ("answer", coordinator.username, True),
        ("close", monitor.username, False),
        ("reopen", monitor.username, False),
    ]
    page = client.get("/queries/?state=open").content.decode()
    assert f'<a href="/queries/{query.pk}/">PaO2</a>' in page


def test_the_query_list_shows_what_is_not_closed_unless_asked(client_for, monitor, oxygenation):
    answered = monitoring.query_open(
        record=oxygenation, field_name="pao2", text="check", actor=monitor
    )
    monitoring.query_answer(query=answered, actor=monitor, text="fine")
    closed = monitoring.query_open(
        record=oxygenation, field_name="spo2", text="check", actor=monitor
    )
    monitoring.query_close(query=closed, actor=monitor, text="fine")
    client = client_for(monitor)

    def listed(url):
        return [q.pk for q, _age in client.get(url).context["rows"]]

    assert listed("/queries/") == [answered.pk]
    assert listed("/queries/?state=open") == []
    assert listed("/queries/?state=closed") == [closed.pk]
    assert listed("/queries/?state=all") == [answered.pk, closed.pk]


def test_a_closed_query_cannot_be_answered_and_a_message_is_required(
    monitor, oxygenation, coordinator
):
    query = monitoring.query_open(
        record=oxygenation, field_name="pao2", text="check", actor=monitor
    )
    with pytest.raises(ValidationError):
        monitoring.query_answer(query=query, actor=coordinator, text=" ")
    monitoring.query_close(query=query, actor=monitor, text="fine")
    with pytest.raises(ValidationError):
        monitoring.query_answer(query=query, actor=coordinator, text="late answer")


def test_a_confirmed_unusual_value_raises_a_query_once(client_for, coordinator, visit):
    client = client_for(coordinator)
    data = {
        "temperature": "41",
        "heart_rate": "92",
        "resp_rate": "22",
        "sbp": "124",
        "dbp": "76",
        "spo2": "94",
        "weight": "58",
        "height": "162",
        "confirm_unusual": "on",
    }
    client.post(f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/vitals/", data)
    (query,) = DataQuery.objects.all()
    assert (query.automatic, query.field_name, query.state) == (True, "temperature", "open")
    assert "outside the usual range" in query.steps.get().text


@pytest.mark.parametrize("persona", ["coordinator", "investigator", "dsmb_member"])
def test_only_monitors_raise_close_and_verify(request, client_for, persona, oxygenation, monitor):
    client = client_for(request.getfixturevalue(persona))
    expected = 403
    assert (
        client.post(monitor_url(oxygenation), {"field_name": "pao2", "text": "x"}).status_code
        == expected
    )
    assert (
        client.post(f"/records/outcomes.oxygenation/{oxygenation.pk}/verify/").status_code
        == expected
    )
    query = monitoring.query_open(
        record=oxygenation, field_name="pao2", text="check", actor=monitor
    )
    assert (
        client.post(f"/queries/{query.pk}/", {"action": "close", "text": "x"}).status_code
        == expected
    )


def test_a_monitor_cannot_answer(client_for, monitor, oxygenation):
    query = monitoring.query_open(
        record=oxygenation, field_name="pao2", text="check", actor=monitor
    )
    assert (
        client_for(monitor)
        .post(f"/queries/{query.pk}/", {"action": "answer", "text": "x"})
        .status_code
        == 403
    )


# --- Source data verification ----------------------------------------------------------------


def test_a_change_clears_the_verification_and_tells_the_monitor(
    client_for, monitor, coordinator, oxygenation
):
    client_for(monitor).post(f"/records/outcomes.oxygenation/{oxygenation.pk}/verify/")
    verification = oxygenation_verification(oxygenation)
    assert monitoring.is_verified(oxygenation, verification)
    oxygenation.pao2 = 68
    oxygenation = record_update(
        record=oxygenation,
        actor=coordinator,
        expected_version=oxygenation.version,
        reason="query answer",
    )
    assert not monitoring.is_verified(oxygenation, oxygenation_verification(oxygenation))
    assert Notification.objects.filter(kind="sdv_cleared", recipient=monitor).count() == 1
    # Written in the save; e-mailed after commit by a worker, once.
    assert mail.outbox == []
    deliver_outbox()
    deliver_outbox()
    assert [m.to for m in mail.outbox] == [[monitor.email]]
    page = client_for(monitor).get(monitor_url(oxygenation)).content.decode()
    assert "verification cleared by a later change" in page


def oxygenation_verification(record):
    from django.contrib.contenttypes.models import ContentType

    from crf.models import Verification

    return Verification.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    ).first()


def test_sdv_progress_per_participant(client_for, monitor, oxygenation, visit):
    client_for(monitor).post(f"/records/outcomes.oxygenation/{oxygenation.pk}/verify/")
    html = client_for(monitor).get("/monitoring/sdv/").content.decode()
    assert "MDA5-001" in html and 'max="' in html


def test_sdv_counts_only_records_a_monitor_can_see_and_verify(
    client_for, monitor, coordinator, oxygenation
):
    from crf.services import record_create
    from enrollment.models import Identity

    participant = oxygenation.visit.participant
    identity = record_create(
        record=Identity(screening=participant.screening, full_name="Wang Fang"), actor=coordinator
    )
    client = client_for(monitor)
    assert client.post(f"/records/enrollment.identity/{identity.pk}/verify/").status_code == 403
    client.post(f"/records/outcomes.oxygenation/{oxygenation.pk}/verify/")
    ((subject, verified, total, _open),) = client.get("/monitoring/sdv/").context["rows"]
    rows = client.get(f"/monitoring/sdv/{subject}/").context["rows"]
    assert (subject, verified, total) == (participant.participant_id, 1, len(rows))
    assert "enrollment.identity" not in {row["label"] for row in rows}
    assert [row["record"] for row in rows if row["state"] == "verified"] == [oxygenation]
    assert client.get("/monitoring/sdv/MDA5-999/").status_code == 404


def test_the_audit_review_shows_identity_changes_to_site_staff_only(
    client_for, monitor, investigator, coordinator, participant
):
    from crf.services import record_create, record_save
    from enrollment.models import Identity

    identity = record_create(
        record=Identity(screening=participant.screening, full_name="Wang Fang"), actor=coordinator
    )
    identity.phone = "13800000000"
    record_save(record=identity, actor=coordinator, expected_version=1, reason="New phone.")
    for persona, shown in ((monitor, False), (investigator, True)):
        client = client_for(persona)
        page = client.get("/audit/")
        csv_text = b"".join(client.get("/audit/?format=csv").streaming_content).decode()
        for text in (page.content.decode(), csv_text):
            assert ("Wang Fang" in text and "13800000000" in text) is shown
        forms = dict(page.context["forms"])
        assert ("enrollment.Identity" in forms) is shown
        everything = client.get("/audit/?form=enrollment.Identity").content.decode()
        assert ("13800000000" in everything) is shown


def test_a_query_on_identifying_details_is_for_site_staff_only(
    client_for, monitor, coordinator, participant
):
    from crf.services import record_create
    from enrollment.models import Identity

    identity = record_create(
        record=Identity(screening=participant.screening, full_name="Wang Fang"), actor=coordinator
    )
    query = monitoring.query_open(record=identity, field_name="full_name", text="Spelling?")
    assert client_for(monitor).get(f"/queries/{query.pk}/").status_code == 403
    page = client_for(coordinator).get(f"/queries/{query.pk}/")
    assert "Wang Fang" in page.content.decode()


# --- Signatures and locking ------------------------------------------------------------------


def sign(client, record, scope, password=PASSWORD):
    """Sign with the signed-in user's ID (asked at the first signature of a session) and password."""
    user_id = get_user_model().objects.get(pk=client.session["_auth_user_id"]).get_username()
    return client.post(
        f"/records/{record._meta.label_lower}/{record.pk}/sign/{scope}/",
        {"user_id": user_id, "password": password},
    )


def test_a_signature_needs_the_password_and_shows_name_time_and_meaning(
    client_for, investigator, visit, oxygenation
):
    client = client_for(investigator)
    response = sign(client, visit, "visit", password="wrong-password")
    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["The password is not correct."]
    assert not Signature.objects.exists()
    assert sign(client, visit, "visit").status_code == 302
    signature = Signature.objects.get()
    assert (signature.printed_name, signature.meaning, signature.scope) == (
        "Dr Chen",
        "reviewed_approved",
        "visit",
    )
    assert monitoring.signature_valid(signature)
    html = client.get(visit.get_absolute_url()).content.decode()
    assert "Signed by Dr Chen" in html and "Reviewed and approved" in html
    assert signature.signed_at.astimezone(timezone.get_current_timezone()).strftime(
        "%z"
    ) in html.replace(":", "")


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_a_participant_is_signed_as_a_casebook(client_for, investigator, visit, method):
    url = f"/records/outcomes.visit/{visit.pk}/sign/casebook/"
    response = getattr(client_for(investigator), method)(url, {"password": PASSWORD})
    assert response.status_code == 404
    assert not Signature.objects.exists()


def test_wrong_signing_passwords_count_towards_the_lockout(investigator, visit):
    client = Client()
    client.force_login(investigator)
    for _ in range(5):
        sign(client, visit, "visit", password="wrong-password")
    fresh = Client()
    response = fresh.post(
        "/accounts/login/", {"login": investigator.username, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_a_change_after_signing_invalidates_the_signature_and_tells_the_signer(
    client_for, investigator, coordinator, visit, oxygenation
):
    sign(client_for(investigator), visit, "visit")
    signature = Signature.objects.get()
    stored = signature.record_sha256
    oxygenation.pao2 = 75
    record_update(
        record=oxygenation,
        actor=coordinator,
        expected_version=oxygenation.version,
        reason="corrected",
    )
    assert not monitoring.signature_valid(signature)
    assert monitoring.records_sha256(monitoring.scope_records(visit, "visit")) != stored
    # The re-hash is owed to a worker, not done in the request.
    assert not Notification.objects.filter(kind="signature_invalid").exists()
    mail.outbox.clear()
    deliver_outbox()
    assert (
        Notification.objects.filter(kind="signature_invalid", recipient=investigator).count() == 1
    )
    assert [m.to for m in mail.outbox] == [[investigator.email]]
    assert (
        "no longer valid" in client_for(investigator).get(visit.get_absolute_url()).content.decode()
    )


def test_a_raw_sql_change_also_breaks_the_signature(client_for, investigator, visit, oxygenation):
    sign(client_for(investigator), visit, "visit")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE outcomes_oxygenation SET pao2 = 99 WHERE id = %s", [oxygenation.pk])
    assert not monitoring.signature_valid(Signature.objects.get())


def test_a_signature_cannot_be_altered(client_for, investigator, visit):
    sign(client_for(investigator), visit, "visit")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE crf_signature SET record_sha256 = 'forged'")


def test_a_locked_visit_refuses_every_change_until_unlocked_with_a_reason(
    client_for, investigator, coordinator, visit, oxygenation
):
    client = client_for(investigator)
    lock_url = f"/records/outcomes.visit/{visit.pk}/lock/visit/"
    client.post(lock_url)
    visit.refresh_from_db()
    assert not visit.is_locked  # not signed yet
    sign(client, visit, "visit")
    client.post(lock_url)
    visit.refresh_from_db()
    oxygenation.refresh_from_db()
    assert visit.is_locked and oxygenation.is_locked
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE outcomes_oxygenation SET pao2 = 1 WHERE id = %s", [oxygenation.pk])
    coordinator_client = Client()
    coordinator_client.force_login(coordinator)
    response = coordinator_client.post(
        f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/oxygenation/",
        {
            "sampled_at": "08:00",
            "o2_device": "mask",
            "fio2": "0.5",
            "pao2": "80",
            "version": oxygenation.version,
            "reason_for_change": "x",
        },
    )
    assert response.status_code in (200, 403)
    oxygenation.refresh_from_db()
    assert oxygenation.pao2 == 70
    unlock_url = f"/records/outcomes.visit/{visit.pk}/unlock/visit/"
    assert client.post(unlock_url, {"reason": ""}).status_code == 200
    client.post(unlock_url, {"reason": "Late lab result to add"})
    oxygenation.refresh_from_db()
    assert not oxygenation.is_locked
    from crf.selectors import record_history

    assert record_history(oxygenation)[-1].reason == "Late lab result to add"


@pytest.mark.parametrize("persona", ["coordinator", "monitor", "dsmb_member"])
def test_only_investigators_sign_lock_and_unlock(request, client_for, persona, visit):
    client = client_for(request.getfixturevalue(persona))
    for action in ("sign", "lock", "unlock"):
        assert (
            client.post(
                f"/records/outcomes.visit/{visit.pk}/{action}/visit/",
                {"password": PASSWORD, "reason": "x"},
            ).status_code
            == 403
        )


def test_a_casebook_signature_covers_every_record_of_the_participant(
    client_for, investigator, participant, visit, oxygenation
):
    records = monitoring.casebook_records(participant)
    kinds = {type(r).__name__ for r in records}
    assert {"Participant", "Screening", "Consent", "Visit", "Oxygenation"} <= kinds
    sign(client_for(investigator), participant, "casebook")
    assert monitoring.signature_valid(Signature.objects.get())


# --- Deviations and audit review ---------------------------------------------------------------


def test_deviations_are_logged_and_reviewed_by_the_investigator(
    client_for, coordinator, investigator, monitor, participant
):
    late = participant.anchor + dt.timedelta(days=18)
    make_visit(participant, coordinator, "day14", on=late)
    client = client_for(coordinator)
    client.post(
        f"/participants/{participant.participant_id}/deviations/new/",
        {
            "category": "dosing",
            "severity": "minor",
            "occurred_on": participant.anchor.isoformat(),
            "description": "Dose 2 h late",
            "action": "Retrained",
        },
    )
    html = client_for(monitor).get("/deviations/").content.decode()
    assert "Dose 2 h late" in html and "Visit out of window" in html
    from enrollment.models import ProtocolDeviation

    deviation = ProtocolDeviation.objects.get(category="dosing")
    assert client_for(monitor).post(f"/deviations/{deviation.pk}/review/").status_code == 403
    client_for(investigator).post(f"/deviations/{deviation.pk}/review/")
    deviation.refresh_from_db()
    assert deviation.reviewed_by == investigator


def test_the_audit_review_filters_and_downloads_as_csv(
    client_for, monitor, coordinator, participant, oxygenation
):
    oxygenation.pao2 = 72
    record_update(
        record=oxygenation,
        actor=coordinator,
        expected_version=oxygenation.version,
        reason="source checked",
    )
    other = make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=3))
    client = client_for(monitor)
    html = client.get(f"/audit/?participant={participant.participant_id}").content.decode()
    assert "source checked" in html
    assert other.participant_id not in html
    response = client.get(
        f"/audit/?participant={participant.participant_id}&form=outcomes.Oxygenation&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    change = next(
        row for row in rows if row["field"] == "PaO2" and row["reason"] == "source checked"
    )
    assert (change["old"], change["new"], change["user"]) == ("70", "72", coordinator.username)
    assert {row["participant"] for row in rows} == {participant.participant_id}
    assert client_for(coordinator).get(f"/audit/?user={monitor.username}").status_code == 200


def test_dsmb_members_cannot_see_the_audit_trail_or_queries(client_for, dsmb_member):
    client = client_for(dsmb_member)
    for url in ("/audit/", "/queries/", "/monitoring/sdv/", "/deviations/"):
        assert client.get(url).status_code == 403


def test_visit_model_is_listed_in_the_casebook_records(visit):
    assert Visit.objects.filter(pk=visit.pk).exists()


def test_the_home_page_lists_the_queries_waiting_for_each_role(
    client_for, coordinator, monitor, dsmb_member, oxygenation
):
    waiting = monitoring.query_open(
        record=oxygenation, field_name="pao2", text="check", actor=monitor
    )
    answered = monitoring.query_open(
        record=oxygenation, field_name="spo2", text="check", actor=monitor
    )
    monitoring.query_answer(query=answered, actor=coordinator, text="fine")

    coordinator_home = client_for(coordinator).get("/")
    assert coordinator_home.context["queries"]["count"] == 1
    assert coordinator_home.context["queries"]["oldest"] == [waiting]
    assert f'href="/queries/{waiting.pk}/"' in coordinator_home.content.decode()
    monitor_home = client_for(monitor).get("/")
    assert monitor_home.context["queries"]["oldest"] == [answered]
    assert f'href="/queries/{answered.pk}/"' in monitor_home.content.decode()
    dsmb_home = client_for(dsmb_member).get("/")
    assert "queries" not in dsmb_home.context
    assert 'data-testid="queries-waiting"' not in dsmb_home.content.decode()
