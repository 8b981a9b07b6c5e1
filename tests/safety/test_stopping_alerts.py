"""Stopping-rule alerts: one alert per event for each recipient, audited, append-only (§6)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.apps import apps
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from crf.models import Notification
from safety.models import StoppingRuleAlert
from safety.services import alert_acknowledge, stopping_rules_check
from tests.conftest import deliver_outbox
from tests.factories import assess, make_ae, make_participant


def stopping_mail() -> list:
    return [message for message in mail.outbox if "Stopping rule met" in message.subject]


pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=10))


@pytest.fixture
def pi(make_user):
    from accounts.roles import Role

    return make_user(Role.INVESTIGATOR, username="pi", is_principal_investigator=True)


def related_death(participant, coordinator, investigator):
    today = timezone.localdate()
    ae = make_ae(
        participant, coordinator, term="Death NOS", grade=5, serious=True, sae_death=True,
        outcome="fatal", death_date=today, ongoing=False, end_date=today,
    )  # fmt: skip
    return assess(ae, investigator, related="possibly")


def stopping_notifications():
    return Notification.objects.filter(kind="stopping_rule")


def test_a_related_death_sends_each_recipient_one_alert_naming_every_rule_it_met(
    coordinator, investigator, monitor, dsmb_member, pi, participant
):
    related_death(participant, coordinator, investigator)
    mail.outbox.clear()
    alerts = stopping_rules_check()
    assert {alert.rule for alert in alerts} == {"death", "related_grade4", "individual_related"}
    per_recipient = Counter(stopping_notifications().values_list("recipient__username", flat=True))
    # Study-wide rules reach the PI, monitors and the DSMB; the individual stop, investigators.
    assert per_recipient == {
        pi.username: 1,
        monitor.username: 1,
        dsmb_member.username: 1,
        investigator.username: 1,
    }
    for notification in stopping_notifications():
        assert notification.subject == "Stopping rule met"
        for alert in alerts:
            assert alert.message in notification.body
    deliver_outbox()  # the e-mails leave after commit, from the worker
    assert len(stopping_mail()) == 4

    # A rerun records nothing and sends nothing more.
    assert stopping_rules_check() == []
    deliver_outbox()
    assert stopping_notifications().count() == 4
    assert len(stopping_mail()) == 4
    assert StoppingRuleAlert.objects.count() == 3


def test_a_rule_the_event_meets_later_is_announced_then_once(
    coordinator, investigator, pi, participant
):
    today = timezone.localdate()
    ae = make_ae(
        participant, coordinator, term="Death NOS", grade=5, serious=True, sae_death=True,
        outcome="fatal", death_date=today, ongoing=False, end_date=today,
    )  # fmt: skip
    assert {alert.rule for alert in stopping_rules_check()} == {"death"}
    assert stopping_notifications().filter(recipient=pi).count() == 1
    assess(ae, investigator, related="probably")
    assert {alert.rule for alert in stopping_rules_check()} == {
        "related_grade4",
        "individual_related",
    }
    later = stopping_notifications().filter(recipient=pi).order_by("pk").last()
    assert "death" not in later.key and "related_grade4" in later.key
    assert stopping_notifications().filter(recipient=pi).count() == 2
    stopping_rules_check()
    assert stopping_notifications().filter(recipient=pi).count() == 2


def test_meeting_and_acknowledging_a_rule_are_audit_events(coordinator, investigator, participant):
    related_death(participant, coordinator, investigator)
    stopping_rules_check()
    alert = StoppingRuleAlert.objects.get(rule="death")
    alert_acknowledge(alert=alert, actor=investigator, comment="DSMB convened")
    events = apps.get_model("safety", "StoppingRuleAlertEvent").objects.filter(pgh_obj=alert)
    labels = list(events.order_by("pgh_id").values_list("pgh_label", flat=True))
    assert labels == ["insert", "update"]
    met, acknowledged = events.order_by("pgh_id")
    assert (met.rule, met.acknowledged_at) == ("death", None)
    assert (acknowledged.acknowledged_by_id, acknowledged.comment) == (
        investigator.pk,
        "DSMB convened",
    )
    assert acknowledged.pgh_context.metadata["user"] == investigator.pk


def _raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_to_rewrite_or_delete_a_met_alert(
    coordinator, investigator, participant
):
    related_death(participant, coordinator, investigator)
    stopping_rules_check()
    alert = StoppingRuleAlert.objects.get(rule="death")
    table = StoppingRuleAlert._meta.db_table
    for column, value in (
        ("message", "nothing happened"),
        ("rule", "cluster"),
        ("study_wide", False),
        ("triggered_at", timezone.now() - dt.timedelta(days=1)),
    ):
        with pytest.raises(DatabaseError):
            _raw(f"UPDATE {table} SET {column} = %s WHERE id = %s", [value, alert.pk])
    with pytest.raises(DatabaseError):
        _raw(f"DELETE FROM {table} WHERE id = %s", [alert.pk])
    alert.refresh_from_db()
    assert alert.message.startswith("Stopping rule: a death")


def test_an_acknowledgement_is_written_once_and_never_withdrawn(
    coordinator, investigator, participant
):
    related_death(participant, coordinator, investigator)
    stopping_rules_check()
    alert = StoppingRuleAlert.objects.get(rule="death")
    alert_acknowledge(alert=alert, actor=investigator, comment="DSMB convened")
    table = StoppingRuleAlert._meta.db_table
    with pytest.raises(DatabaseError):
        _raw(f"UPDATE {table} SET comment = %s WHERE id = %s", ["nothing", alert.pk])
    with pytest.raises(DatabaseError):
        _raw(
            f"UPDATE {table} SET acknowledged_at = NULL, acknowledged_by_id = NULL, "
            "comment = '' WHERE id = %s",
            [alert.pk],
        )
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.comment) == (investigator, "DSMB convened")
