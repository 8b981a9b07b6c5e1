"""Two people saving the same record at the same moment: the second is told, never a 500."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from crf.services import StaleRecordError, record_create, record_update
from tests.crftest.models import Observation

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_save_that_waited_for_another_users_save_is_refused_as_stale(coordinator, investigator):
    record = record_create(
        record=Observation(measured_on="2026-03-01", note="baseline"), actor=coordinator
    )
    first_holds_the_row, second_started = threading.Event(), threading.Event()
    outcome = {}

    def first_save():
        # The investigator's save takes the row lock and commits while the coordinator's waits.
        try:
            with transaction.atomic():
                mine = Observation.objects.get(pk=record.pk)
                mine.note = "investigator"
                record_update(record=mine, actor=investigator, expected_version=1, reason="a")
                first_holds_the_row.set()
                second_started.wait(10)
                # Give the second save time to block on the row lock before committing.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(0.5)")
        finally:
            close_old_connections()
            connection.close()

    def second_save():
        first_holds_the_row.wait(10)
        second_started.set()
        theirs = Observation.objects.get(pk=record.pk)
        theirs.note = "coordinator"
        try:
            record_update(record=theirs, actor=coordinator, expected_version=1, reason="b")
            outcome["result"] = "saved"
        except StaleRecordError as error:
            outcome["result"] = error
        except Exception as error:  # a crash is what this test looks for
            outcome["result"] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_save), threading.Thread(target=second_save)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert isinstance(outcome["result"], StaleRecordError), outcome["result"]
    assert outcome["result"].changed_by == investigator
    record.refresh_from_db()
    assert record.note == "investigator" and record.version == 2
