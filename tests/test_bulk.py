"""The bulk trial is a valid one: what the services compute from it matches what was put in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crf.models import DataQuery, Signature, Verification
from crf.monitoring import signature_valid
from dosing.models import DoseRecord
from enrollment.models import Identity, Participant, Screening
from outcomes import selectors
from outcomes.models import LabResult, Visit, VitalSigns
from safety.models import AdverseEvent, SafetyReport
from tests.bulk import SPREAD_DAYS, fill_trial

pytestmark = pytest.mark.django_db


def test_a_bulk_trial_is_staggered_complete_and_consistent():
    today = timezone.localdate()
    participants = fill_trial(60, today=today, seed=3)

    assert Participant.objects.count() == 60
    assert len({p.participant_id for p in participants}) == 60
    assert Screening.objects.filter(eligible=False).exists()
    assert Identity.objects.count() == 60
    starts = sorted(p.planned_first_dose for p in participants)
    assert (starts[-1] - starts[0]).days >= SPREAD_DAYS - 20
    assert any(p.first_dose_date is None for p in participants)  # a few still to start
    assert DoseRecord.objects.filter(given="no").exists()
    assert Visit.objects.exists() and VitalSigns.objects.exists() and LabResult.objects.exists()
    assert AdverseEvent.objects.exists()
    assert SafetyReport.objects.count() == AdverseEvent.objects.filter(serious=True).count()
    assert DataQuery.objects.exists() and Verification.objects.exists()
    signatures = list(Signature.objects.all())
    assert signatures and all(signature_valid(s) for s in signatures)
    # Every row has its audit trail's insert event.
    assert LabResult.pgh_event_model.objects.count() == LabResult.objects.count()

    # A participant who started long ago has the 14 doses; only a few are due today.
    old = Participant.objects.filter(first_dose_date__lt=today - dt.timedelta(days=30))
    for participant in old:
        assert participant.doses.count() == 14
    schedules = selectors.schedules(list(Participant.objects.select_related("exit")), today)
    assert len(schedules) == 60


def test_a_second_fill_numbers_after_the_first():
    first = fill_trial(3, seed=1)
    second = fill_trial(3, seed=2)
    assert [p.number for p in second] == [first[-1].number + n for n in (1, 2, 3)]
