"""The SAE alert goes out through a real Celery worker, exactly once per AE version."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from crf.models import Notification
from safety.tasks import sae_alert
from study import protocol
from tests.conftest import wait_for, worker_idle
from tests.factories import make_ae, make_participant

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.worker]


def test_saving_a_serious_event_alerts_investigators_and_safety_contacts_once(
    celery_worker, coordinator, investigator, make_user
):
    from accounts.roles import Role

    second_investigator = make_user(Role.INVESTIGATOR)
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    mail.outbox.clear()
    ae = make_ae(
        participant, coordinator, term="Hypoxia", grade=3, serious=True, sae_hospitalisation=True
    )
    expected = 2 + len(protocol.SAFETY_CONTACT_EMAILS)
    assert wait_for(lambda: len(mail.outbox) >= expected), "the worker sent no alert within 30 s"
    assert worker_idle()  # anything extra would have arrived by now
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(
        [investigator.email, second_investigator.email, *protocol.SAFETY_CONTACT_EMAILS]
    )
    assert "SAE MDA5-001 AE 1" in mail.outbox[0].subject
    in_app = Notification.objects.filter(kind="sae", recipient__isnull=False)
    assert set(in_app.values_list("recipient", flat=True)) == {
        investigator.pk,
        second_investigator.pk,
    }

    # The same task delivered again (a redelivery, or a second worker): nothing new is sent.
    sae_alert.delay(ae.pk, ae.version)
    sae_alert.apply(args=(ae.pk, ae.version))
    assert worker_idle()
    assert len(mail.outbox) == expected
    assert Notification.objects.filter(kind="sae").count() == expected


def test_a_non_serious_event_sends_no_alert(celery_worker, coordinator, investigator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    mail.outbox.clear()
    make_ae(participant, coordinator, term="Cough", grade=1)
    assert worker_idle()  # the stopping-rule check ran; no alert was owed
    assert mail.outbox == []
    assert not Notification.objects.filter(kind="sae").exists()


def test_the_unread_alert_shows_in_the_inbox(celery_worker, client_for, coordinator, investigator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    make_ae(
        participant, coordinator, term="Hypoxia", grade=3, serious=True, sae_hospitalisation=True
    )
    assert wait_for(lambda: Notification.objects.filter(recipient=investigator).exists())
    client = client_for(investigator)
    home = client.get("/").content.decode()
    assert 'data-testid="unread-count">1<' in home
    notification = Notification.objects.get(recipient=investigator)
    response = client.post(f"/inbox/{notification.pk}/open/")
    assert response["Location"] == notification.url
    assert 'data-testid="unread-count"' not in client.get("/").content.decode()
