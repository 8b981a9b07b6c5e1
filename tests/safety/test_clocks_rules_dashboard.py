"""Regulatory clocks, stopping rules, the banner, and the investigators' dashboard."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from crf.models import Notification
from dosing.models import DoseRecord
from safety import selectors
from safety.clocks import clocks
from safety.models import SafetyReport, StoppingRuleAlert
from safety.selectors import Filters, clock_rows, events, summary
from safety.services import (
    alert_acknowledge,
    sae_clock_scan,
    safety_report_add,
    stopping_rules_check,
)
from tests.conftest import deliver_outbox
from tests.factories import assess, bulk_participants, make_ae, make_participant

pytestmark = pytest.mark.django_db

# Five days ago: after the onset (the first dose, ten days ago) and before today.
AWARE = (dt.datetime.now(dt.UTC) - dt.timedelta(days=5)).replace(
    hour=8, minute=0, second=0, microsecond=0
)
SENT = (AWARE + dt.timedelta(days=2, hours=1)).astimezone(dt.UTC)


@pytest.fixture
def participant(coordinator):
    return make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=10))


@pytest.fixture
def pi(make_user):
    from accounts.roles import Role

    return make_user(
        Role.INVESTIGATOR, username="pi", is_principal_investigator=True, email="pi@example.org"
    )


def serious_ae(participant, actor, **fields):
    values = {
        "term": "Dyspnea",
        "grade": 3,
        "serious": True,
        "sae_hospitalisation": True,
        "awareness_at": AWARE,
    }
    values.update(fields)
    return make_ae(participant, actor, **values)


def test_the_initial_sae_report_is_due_24_hours_after_awareness(coordinator, participant):
    ae = serious_ae(participant, coordinator)
    (clock,) = clocks(ae, [])
    assert clock.due_at == AWARE + dt.timedelta(hours=24)
    assert clock.state(AWARE + dt.timedelta(hours=23, minutes=59)) == "running"
    assert clock.state(AWARE + dt.timedelta(hours=24, minutes=1)) == "overdue"
    report = safety_report_add(
        report=SafetyReport(
            adverse_event=ae,
            kind="initial",
            sent_at=AWARE + dt.timedelta(hours=20),
            sent_to="sponsor",
        ),
        actor=coordinator,
    )
    (clock,) = clocks(ae, [report])
    assert clock.state(AWARE + dt.timedelta(days=3)) == "met"


@pytest.mark.parametrize(("fields", "days"), [({"sae_life_threatening": True}, 7), ({}, 15)])
def test_a_susar_is_due_in_7_days_when_life_threatening_else_15(
    coordinator, investigator, participant, fields, days
):
    ae = assess(
        serious_ae(participant, coordinator, **fields),
        investigator,
        related="probably",
        expected=False,
    )
    susar = next(clock for clock in clocks(ae, []) if clock.code == "susar")
    assert susar.due_at == AWARE + dt.timedelta(days=days)


def test_a_follow_up_report_links_to_the_initial_one(client_for, coordinator, participant):
    ae = serious_ae(participant, coordinator)
    initial = safety_report_add(
        report=SafetyReport(
            adverse_event=ae,
            kind="initial",
            sent_at=AWARE + dt.timedelta(hours=3),
            sent_to="sponsor",
        ),
        actor=coordinator,
    )
    response = client_for(coordinator).post(
        f"/safety/ae/{ae.pk}/report/",
        {
            "kind": "follow_up",
            "sent_at": timezone.localtime(SENT).strftime("%Y-%m-%dT%H:%M"),
            "sent_to": "sponsor",
            "follows": "",
            "notes": "",
        },
    )
    assert response.context["form"].errors["follows"]
    client_for(coordinator).post(
        f"/safety/ae/{ae.pk}/report/",
        {
            "kind": "follow_up",
            "sent_at": timezone.localtime(SENT).strftime("%Y-%m-%dT%H:%M"),
            "sent_to": "sponsor",
            "follows": initial.pk,
            "notes": "resolved",
        },
    )
    assert SafetyReport.objects.get(kind="follow_up").follows == initial


def test_an_overdue_report_escalates_to_the_pi_once(coordinator, participant, pi):
    serious_ae(participant, coordinator)
    deliver_outbox()  # the SAE alert itself
    mail.outbox.clear()
    with time_machine.travel(AWARE + dt.timedelta(hours=23), tick=False):
        assert sae_clock_scan() == 0
    with time_machine.travel(AWARE + dt.timedelta(hours=25), tick=False):
        assert sae_clock_scan() == 1
        assert sae_clock_scan() == 0  # the beat runs again: nothing sent twice
    assert Notification.objects.filter(kind="clock_overdue", recipient=pi).count() == 1
    assert mail.outbox == []  # e-mailed by a worker, after the scan commits
    deliver_outbox()
    assert [m.to for m in mail.outbox] == [["pi@example.org"]]


# --- Stopping rules --------------------------------------------------------------------------


def rules_met() -> set[str]:
    stopping_rules_check()
    return set(StoppingRuleAlert.objects.values_list("rule", flat=True))


def test_a_death_not_clearly_unrelated_trips_the_death_rule(coordinator, participant):
    make_ae(
        participant, coordinator, term="Death NOS", grade=5, serious=True, sae_death=True,
        outcome="fatal", death_date=timezone.localdate(), ongoing=False, end_date=timezone.localdate(),
    )  # fmt: skip
    assert "death" in rules_met()


def test_a_death_definitely_not_related_does_not_trip_the_rule(
    coordinator, investigator, participant
):
    ae = make_ae(
        participant, coordinator, term="Death NOS", grade=5, serious=True, sae_death=True,
        outcome="fatal", death_date=timezone.localdate(), ongoing=False, end_date=timezone.localdate(),
    )  # fmt: skip
    assess(ae, investigator, related="definitely_not")
    assert "death" not in rules_met()


def test_a_related_grade_4_event_trips_the_rule(coordinator, investigator, participant):
    assess(
        make_ae(
            participant,
            coordinator,
            term="Hypoxia",
            grade=4,
            serious=True,
            sae_life_threatening=True,
        ),
        investigator,
        related="possibly",
    )
    assert {"related_grade4", "individual_related"} <= rules_met()


def test_bronchospasm_needing_intubation_within_24_hours_of_a_dose(coordinator, participant):
    dose_day = participant.first_dose_date
    DoseRecord.objects.create(
        participant=participant, study_day=1, dose_date=dose_day, given="yes",
        start_time=dt.time(9), end_time=dt.time(9, 20), created_by=coordinator, updated_by=coordinator,
    )  # fmt: skip
    make_ae(
        participant, coordinator, term="Bronchospasm", grade=4, serious=True, sae_life_threatening=True,
        onset_date=dose_day, onset_time=dt.time(10, 0),
    )  # fmt: skip
    assert "airway" in rules_met()


def test_two_participants_with_the_same_related_grade_3_event_trip_the_cluster_rule(
    coordinator, investigator, participant
):
    other = make_participant(coordinator, first_dose=timezone.localdate() - dt.timedelta(days=4))
    assess(make_ae(participant, coordinator, term="Pneumonitis", grade=3), investigator)
    assert "cluster" not in rules_met()  # one participant is not a cluster
    assess(make_ae(other, coordinator, term="Pneumonitis", grade=3), investigator)
    assert "cluster" in rules_met()


def test_unrelated_or_mild_events_trip_no_study_rule(coordinator, investigator, participant):
    assess(
        make_ae(participant, coordinator, term="Cough", grade=2), investigator, related="possibly"
    )
    assess(
        make_ae(participant, coordinator, term="Pneumonitis", grade=3),
        investigator,
        related="possibly_not",
    )
    assert rules_met() == set()


def test_recurrent_desaturation_needing_more_support_stops_the_participant(
    coordinator, participant
):
    for day in (2, 3):
        DoseRecord.objects.create(
            participant=participant, study_day=day, dose_date=participant.first_dose_date + dt.timedelta(days=day - 1),
            given="yes", pre_spo2=94, post_spo2=88, pre_o2_flow=2, post_o2_flow=5, created_by=coordinator, updated_by=coordinator,
        )  # fmt: skip
    assert "individual_desaturation" in rules_met()


def test_a_stopping_rule_alerts_and_shows_a_banner_until_acknowledged(
    client_for, coordinator, investigator, monitor, dsmb_member, participant, pi
):
    assess(
        make_ae(
            participant,
            coordinator,
            term="Hypoxia",
            grade=4,
            serious=True,
            sae_life_threatening=True,
        ),
        investigator,
    )
    mail.outbox.clear()
    stopping_rules_check()
    alert = StoppingRuleAlert.objects.get(rule="related_grade4")
    notified = set(
        Notification.objects.filter(
            kind="stopping_rule", key__startswith="stopping:ae:"
        ).values_list("recipient__username", flat=True)
    )
    assert {pi.username, monitor.username, dsmb_member.username} <= notified
    # The DSMB member, who may not open the safety dashboard, gets no link to it.
    links = dict(
        Notification.objects.filter(
            kind="stopping_rule", key__startswith="stopping:ae:"
        ).values_list("recipient__username", "url")
    )
    assert (links[monitor.username], links[dsmb_member.username]) == ("/safety/", "")
    dsmb_home = client_for(dsmb_member).get("/").content.decode()
    assert 'data-testid="stopping-banner"' in dsmb_home and 'href="/safety/"' not in dsmb_home
    stopping_rules_check()  # a second evaluation adds nothing
    assert StoppingRuleAlert.objects.filter(rule="related_grade4").count() == 1
    for user in (coordinator, monitor):
        assert "Stopping rule met" in client_for(user).get("/").content.decode()
    # Data entry is not blocked while the alert is open.
    assert (
        client_for(coordinator).get(f"/safety/ae/new/{participant.participant_id}/").status_code
        == 200
    )
    response = client_for(investigator).post(
        f"/safety/alerts/{alert.pk}/acknowledge/", {"comment": ""}
    )
    assert response.status_code == 200
    client_for(investigator).post(
        f"/safety/alerts/{alert.pk}/acknowledge/",
        {"comment": "DSMB convened; dosing paused for review"},
    )
    for other in StoppingRuleAlert.objects.exclude(pk=alert.pk):
        alert_acknowledge(alert=other, actor=investigator, comment="reviewed")
    assert "Stopping rule met" not in client_for(coordinator).get("/").content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == investigator


def test_only_investigators_acknowledge(client_for, monitor, coordinator, participant):
    alert = StoppingRuleAlert.objects.create(rule="death", key="x", message="m")
    for user in (monitor, coordinator):
        assert (
            client_for(user)
            .post(f"/safety/alerts/{alert.pk}/acknowledge/", {"comment": "c"})
            .status_code
            == 403
        )


# --- Dashboard --------------------------------------------------------------------------------


def fixture_trial(coordinator, investigator):
    today = timezone.localdate()
    p1 = make_participant(coordinator, first_dose=today - dt.timedelta(days=60))
    p2 = make_participant(coordinator, first_dose=today - dt.timedelta(days=8))
    a = assess(make_ae(p1, coordinator, term="Cough", grade=1), investigator, related="possibly")
    b = make_ae(
        p1, coordinator, term="Fever", grade=2, onset_date=today - dt.timedelta(days=5)
    )  # outside window
    c = assess(
        serious_ae(p2, coordinator, awareness_at=timezone.now()),
        investigator,
        related="possibly_not",
    )
    d = make_ae(p2, coordinator, term="Rash acneiform", grade=1)
    return (p1, p2), (a, b, c, d)


def test_the_dashboard_numbers_match_the_fixture_trial(client_for, coordinator, investigator):
    _participants, (_a, b, c, d) = fixture_trial(coordinator, investigator)
    now = timezone.now()
    data = summary(events(Filters(), now))
    assert data.events == 4
    assert {ae.pk for ae in events(Filters(assessed=False), now)} == {b.pk, d.pk}
    assert data.awaiting == 2
    assert data.open_saes == 1
    assert data.in_window == 3  # the fever began after day 14 + 30 days
    assert data.totals_by_grade == {1: [2, 1], 2: [1, 0], 3: [1, 0], 4: [0, 0], 5: [0, 0]}
    assert [row.state for row in clock_rows(selectors.clocks(Filters(), now))] == ["running"]
    assert [row.ae.pk for row in clock_rows(selectors.clocks(Filters(), now))] == [c.pk]
    html = client_for(investigator).get("/safety/").content.decode()
    assert 'data-count="in_window">3<' in html


def test_the_dashboard_filters(coordinator, investigator):
    (_p1, p2), (a, b, c, d) = fixture_trial(coordinator, investigator)
    now = timezone.now()

    def listed(**filters):
        return {ae.pk for ae in events(Filters(**filters), now)}

    assert listed(serious=True) == {c.pk}
    assert listed(related=True) == {a.pk}
    assert listed(participant=p2.participant_id) == {c.pk, d.pk}
    assert listed(min_grade=2) == {b.pk, c.pk}
    assert listed(clock="running") == {c.pk}
    assert listed(clock="overdue") == set()


def test_the_csv_download_holds_the_filtered_events_with_cdisc_names(
    client_for, coordinator, investigator
):
    fixture_trial(coordinator, investigator)
    response = client_for(investigator).get("/safety/export.csv?serious=yes")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["AESER"] == "Y" and rows[0]["AEDECOD"] == "Dyspnea" and rows[0]["AETOXGR"] == "3"
    assert rows[0]["USUBJID"].startswith("NCT06919380-MDA5-")


@pytest.mark.parametrize("count", [10, 1000])
def test_the_dashboard_issues_a_fixed_number_of_queries(
    client_for, coordinator, investigator, django_assert_max_num_queries, count
):
    fixture_trial(coordinator, investigator)
    bulk_participants(coordinator, count)
    client = client_for(investigator)
    with django_assert_max_num_queries(15):
        assert client.get("/safety/").status_code == 200


def test_dsmb_members_cannot_open_the_ae_pages(client_for, dsmb_member):
    assert client_for(dsmb_member).get("/safety/").status_code == 403


def test_a_stopping_rule_message_reads_in_the_readers_language(
    client_for, coordinator, investigator, participant
):
    from django.utils import translation

    assess(make_ae(participant, coordinator, term="Hypoxia", grade=4), investigator)
    with translation.override("zh-hans"):
        stopping_rules_check()
    alert = StoppingRuleAlert.objects.get(rule="related_grade4")
    pid = participant.participant_id
    # The stored message is English whatever the language of the request that tripped the rule.
    assert alert.message == (
        "Stopping rule: a grade 4 or higher event at least possibly related: "
        f"{pid} AE 1 (Hypoxia, grade 4)."
    )
    with translation.override("zh-hans"):
        chinese = alert.text
    assert chinese != alert.message and pid in chinese and "Stopping rule" not in chinese
    page = client_for(coordinator).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert chinese in page.replace("&#x27;", "'")
    english = client_for(coordinator).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert alert.message in english
