"""The automatic out-of-window deviation follows the visit date it is about."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from pghistory.models import Events

from enrollment.models import ProtocolDeviation
from outcomes.services import visit_save
from tests.factories import make_participant, make_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=30))


def change_date(visit, actor, on: dt.date, reason: str):
    visit.visit_date = on
    return visit_save(visit=visit, actor=actor, expected_version=visit.version, reason=reason)


def test_correcting_the_date_into_the_window_closes_the_deviation_with_a_reason(
    coordinator, participant
):
    late = participant.anchor + dt.timedelta(days=17)  # day 18; the Day 14 window is +/-1
    visit = make_visit(participant, coordinator, "day14", on=late)
    deviation = ProtocolDeviation.objects.get()
    assert deviation.occurred_on == late and not deviation.is_retired

    corrected = participant.anchor + dt.timedelta(days=13)
    change_date(visit, coordinator, corrected, "date typed wrong")
    deviation.refresh_from_db()
    assert deviation.is_retired
    assert f"{corrected:%Y-%m-%d}" in deviation.retired_reason
    assert "inside its window" in deviation.retired_reason
    last = Events.objects.tracks(deviation).order_by("pgh_created_at", "pgh_id").last()
    assert last.pgh_data["retired_reason"] == deviation.retired_reason
    assert last.pgh_context["reason"] == deviation.retired_reason
    # A change that leaves the date alone changes nothing.
    visit.reason = "note"
    visit_save(visit=visit, actor=coordinator, expected_version=visit.version, reason="note")
    assert ProtocolDeviation.objects.filter(retired_at__isnull=True).count() == 0


def test_moving_the_date_to_another_out_of_window_day_updates_the_deviation(
    coordinator, investigator, participant
):
    from enrollment.services import deviation_review

    visit = make_visit(
        participant, coordinator, "day14", on=participant.anchor + dt.timedelta(days=17)
    )
    deviation = ProtocolDeviation.objects.get()
    deviation_review(deviation=deviation, actor=investigator)
    assert "+4 days" in deviation.description

    later = participant.anchor + dt.timedelta(days=19)
    change_date(visit, coordinator, later, "the visit took place later")
    deviation = ProtocolDeviation.objects.get()  # still one: updated, not duplicated
    assert not deviation.is_retired
    assert deviation.occurred_on == later
    assert f"{later:%Y-%m-%d}" in deviation.description and "+6 days" in deviation.description
    assert deviation.reviewed_at is None  # the review was of the old date
    events = list(Events.objects.tracks(deviation).order_by("pgh_created_at", "pgh_id"))
    assert events[-1].pgh_diff["occurred_on"][1] == f"{later:%Y-%m-%d}"
    assert events[-1].pgh_context["reason"]


def test_a_visit_moved_back_out_of_its_window_opens_a_new_deviation(coordinator, participant):
    visit = make_visit(
        participant, coordinator, "day14", on=participant.anchor + dt.timedelta(days=17)
    )
    change_date(visit, coordinator, participant.anchor + dt.timedelta(days=13), "typo")
    change_date(visit, coordinator, participant.anchor + dt.timedelta(days=18), "really late")
    (open_one,) = ProtocolDeviation.objects.filter(retired_at__isnull=True)
    assert open_one.occurred_on == participant.anchor + dt.timedelta(days=18)
    assert ProtocolDeviation.objects.count() == 2
