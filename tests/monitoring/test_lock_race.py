"""A lock taken while a row is being added under the parent: the insert waits, then is refused."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from crf import monitoring
from outcomes.models import LabResult
from tests.factories import make_participant, make_visit

# Real transactions on separate connections: the data is committed, not rolled back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_an_insert_racing_a_lock_waits_for_it_and_is_refused(coordinator, investigator):
    participant = make_participant(coordinator, first_dose=timezone.localdate())
    visit = make_visit(participant, coordinator, "baseline")
    locked = threading.Event()
    outcome: dict = {}

    def lock_then_hold():
        try:
            with transaction.atomic():
                monitoring.records_lock(records=[visit], actor=investigator)
                locked.set()
                time.sleep(1)  # the insert below starts while this lock is not yet committed
        finally:
            connection.close()

    def insert():
        try:
            locked.wait(timeout=10)
            with transaction.atomic():
                LabResult.objects.create(
                    visit=visit,
                    analyte="crp",
                    value=3,
                    unit="mg/dL",
                    created_by=coordinator,
                    updated_by=coordinator,
                )
            outcome["inserted"] = True
        except DatabaseError as exc:
            outcome["refused"] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=lock_then_hold), threading.Thread(target=insert)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert "locked" in outcome.get("refused", ""), outcome
    assert not LabResult.objects.filter(visit=visit).exists()
