"""Two simultaneous submissions of the same day, and the coordinator's today view."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from dosing.models import DoseRecord
from dosing.services import dose_record
from tests.factories import bulk_participants, make_participant


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_submissions_of_the_same_day_store_one(coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=3)
    )
    barrier = threading.Barrier(2)
    outcomes: list = []

    def submit():
        try:
            barrier.wait(timeout=10)
            dose_record(
                dose=DoseRecord(
                    participant=participant,
                    study_day=2,
                    dose_date=participant.anchor + dt.timedelta(days=1),
                    given="yes",
                    start_time=dt.time(9),
                    end_time=dt.time(9, 20),
                    dose_particles=200_000_000,
                ),
                actor=coordinator,
            )
            outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(exc.message_dict["study_day"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["Day 2 is already recorded for this participant.", "saved"]
    assert DoseRecord.objects.filter(participant=participant, study_day=2).count() == 1


@pytest.mark.django_db
def test_the_today_view_shows_due_done_and_missed_doses(client_for, coordinator):
    today = timezone.localdate()
    mid = make_participant(coordinator, first_dose=today - dt.timedelta(days=4))  # day 5
    make_participant(coordinator, first_dose=today + dt.timedelta(days=3))  # not started
    from tests.dosing.test_dose_log import make_dose

    for day in (1, 2, 4):
        make_dose(mid, coordinator, day)
    html = client_for(coordinator).get("/dosing/today/").content.decode()
    assert "MDA5-001" in html and "MDA5-002" not in html
    assert "Record dose" in html  # day 5 due today
    assert "day 3" in html  # missed, no record


@pytest.mark.django_db
@pytest.mark.parametrize("count", [10, 1000])
def test_the_today_view_issues_a_fixed_number_of_queries(
    client_for, coordinator, django_assert_max_num_queries, count
):
    bulk_participants(coordinator, count)
    client = client_for(coordinator)
    # The stale-schedule check, the paginator's count, the page, today's dose records.
    with django_assert_max_num_queries(13):
        response = client.get("/dosing/today/")
    assert response.status_code == 200
