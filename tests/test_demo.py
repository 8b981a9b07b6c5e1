"""The demo loader: idempotent, realistic, and never with DEBUG off."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboards.selectors import consort
from enrollment.models import Participant, Screening

pytestmark = pytest.mark.django_db


def test_load_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    counts = (Screening.objects.count(), Participant.objects.count())
    versions = sorted(Participant.objects.values_list("participant_id", "version"))
    call_command("load_demo", stdout=io.StringIO())
    assert (Screening.objects.count(), Participant.objects.count()) == counts
    assert sorted(Participant.objects.values_list("participant_id", "version")) == versions


def test_the_demo_trial_has_participants_at_every_stage(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    flow = consort(timezone.localdate())
    assert flow.screens == 11
    assert flow.failed == 2  # three failed screens; one person was re-screened and enrolled
    assert flow.rescreens == 1
    assert flow.enrolled == 8
    assert flow.enrolled < flow.cap  # room to try screening and enrolling
    assert (flow.withdrawn, flow.died) == (1, 1)
    participants = list(Participant.objects.all())
    days = sorted(p.study_day_on(timezone.localdate()) for p in participants)
    assert any(1 <= day <= 14 for day in days), "someone is mid-dosing"
    assert any(day > 90 for day in days), "someone is in long-term follow-up"


def test_load_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("load_demo")


def test_the_demo_trial_has_dose_records_with_deviations(settings):
    from dosing.models import DoseRecord
    from dosing.selectors import compliance_by_participant

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    doses = DoseRecord.objects.all()
    assert doses.filter(given="partial").count() >= 2
    assert doses.filter(given="no").count() >= 2
    assert any(dose.desaturation_computed for dose in doses)
    compliance = compliance_by_participant(timezone.localdate())
    assert any(c.missed for c in compliance.values()), "one day has no record at all"
    complete = [c for c in compliance.values() if c.due and not c.missed and not c.interruptions]
    assert len(complete) >= 3


def test_the_demo_trial_has_adverse_events_with_an_sae_a_related_event_and_a_death(settings):
    from safety.models import AdverseEvent, StoppingRuleAlert
    from safety.selectors import Filters, clock_rows, clocks, summary
    from safety.selectors import events as current_events

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    events = list(AdverseEvent.objects.all())
    assert len(events) == 12
    assert sum(1 for ae in events if ae.worst_grade <= 3) >= 10
    assert any(ae.related for ae in events)
    assert any(ae.outcome == "fatal" and ae.worst_grade == 5 for ae in events)
    now = timezone.now()
    rows = clock_rows(clocks(Filters(), now))
    assert {row.state for row in rows} == {"met"}  # every SAE report went out in time
    assert summary(current_events(Filters(), now)).awaiting, "some events await the investigator"
    death_alert = StoppingRuleAlert.objects.get(rule="death")
    assert death_alert.acknowledged_at is not None


def test_every_printed_demo_account_signs_in(settings):
    from django.test import Client

    from demo.accounts import DEMO_ACCOUNTS

    settings.DEBUG = True
    output = io.StringIO()
    call_command("load_demo", stdout=output)
    for account in DEMO_ACCOUNTS:
        assert f"{account.username:<15}{account.password}" in output.getvalue()
        client = Client()
        response = client.post(
            "/accounts/login/", {"login": account.username, "password": account.password}
        )
        assert response.status_code == 302, account.username
        if account.role in settings.MFA_REQUIRED_ROLES:
            # Their first sign-in goes on to set up the authenticator app.
            assert client.get("/")["Location"] == "/accounts/2fa/totp/activate/"
            assert client.get("/accounts/2fa/totp/activate/").status_code == 200
        else:
            assert client.get("/").status_code == 200
    assert "at their first sign-in" in output.getvalue()


def test_the_demo_trial_has_visits_with_improving_and_worsening_courses(settings):
    from enrollment.models import Participant
    from outcomes import selectors

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    courses = {}
    for participant in Participant.objects.all():
        visits = selectors.visits_by_participant([participant.pk]).get(participant.pk, [])
        rows = selectors.change_from_baseline(participant, visits)
        points = selectors.endpoint_series(rows, "pf_ratio")
        if len(points) >= 2:
            courses[participant.participant_id] = points[-1][1] - points[0][1]
    assert any(change > 0 for change in courses.values()), "an improving course"
    assert any(change < 0 for change in courses.values()), "a worsening course"
    assert len(courses) >= 5


def test_the_demo_trial_has_medical_history_with_partial_dates(settings):
    from enrollment.models import MedicalHistory

    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    rows = list(MedicalHistory.objects.select_related("participant"))
    assert {row.participant_id for row in rows} == set(
        Participant.objects.values_list("pk", flat=True)
    )
    assert any(len(row.start_date) == 4 for row in rows)
    assert any(not row.ongoing and row.end_date for row in rows)
    assert all(row.start_date < row.participant.first_dose_date.isoformat() for row in rows)
