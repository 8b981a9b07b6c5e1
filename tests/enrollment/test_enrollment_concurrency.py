"""Two coordinators enrolling at the same moment get consecutive, distinct participant IDs."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from enrollment.models import Participant
from enrollment.services import participant_enroll
from tests.factories import make_consent, make_screening

# Real transactions on separate connections: the data is committed, not rolled back.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def enroll_concurrently(screenings, actor) -> list:
    barrier = threading.Barrier(len(screenings))
    results: list = [None] * len(screenings)

    def worker(index, screening):
        try:
            barrier.wait(timeout=10)
            participant = participant_enroll(
                screening=screening,
                enrollment_date=screening.screening_date,
                planned_first_dose=timezone.localdate(),
                actor=actor,
            )
            results[index] = participant.participant_id
        except Exception as exc:  # the assertion below shows what went wrong
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(screenings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_simultaneous_enrollments_never_share_or_skip_a_number(coordinator):
    screenings = []
    for _ in range(4):
        screening = make_screening(coordinator)
        make_consent(screening, coordinator)
        screenings.append(screening)
    results = enroll_concurrently(screenings, coordinator)
    assert sorted(results) == ["MDA5-001", "MDA5-002", "MDA5-003", "MDA5-004"], results
    assert sorted(Participant.objects.values_list("number", flat=True)) == [1, 2, 3, 4]


def test_simultaneous_enrollment_of_the_same_screen_enrolls_it_once(coordinator):
    screening = make_screening(coordinator)
    make_consent(screening, coordinator)
    results = enroll_concurrently([screening, screening], coordinator)
    assert sorted(map(str, results))[0] == "MDA5-001"
    assert any("already enrolled" in str(result) for result in results), results
    assert Participant.objects.count() == 1


def test_the_cap_holds_under_simultaneous_enrollments(coordinator, settings):
    from study import protocol

    screenings = []
    for _ in range(3):
        screening = make_screening(coordinator)
        make_consent(screening, coordinator)
        screenings.append(screening)
    original = protocol.ENROLLMENT_CAP
    protocol.ENROLLMENT_CAP = 2
    try:
        results = enroll_concurrently(screenings, coordinator)
    finally:
        protocol.ENROLLMENT_CAP = original
    assert sorted(r for r in results if isinstance(r, str)) == ["MDA5-001", "MDA5-002"]
    assert Participant.objects.count() == 2
