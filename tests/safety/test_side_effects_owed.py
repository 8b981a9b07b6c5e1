"""Every AE save owes its stopping-rule check (and a serious one its alert) through the outbox."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ops.models import OutboxMessage
from safety.models import AeFollowUp
from safety.services import ae_follow_up_add
from tests.factories import make_ae, make_participant

pytestmark = pytest.mark.django_db


def owed(task: str) -> int:
    return OutboxMessage.objects.filter(task=task).count()


def test_each_follow_up_owes_a_stopping_rule_check_even_without_a_new_ae_version(coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=5)
    )
    ae = make_ae(participant, coordinator, term="Dyspnea", grade=1)
    assert owed("safety.tasks.stopping_rules_check") == 1
    for grade in (2, 3):
        ae_follow_up_add(
            follow_up=AeFollowUp(
                adverse_event=ae, on_date=participant.first_dose_date, grade=grade
            ),
            actor=coordinator,
        )
    assert owed("safety.tasks.stopping_rules_check") == 3
    assert owed("safety.tasks.sae_alert") == 0
