"""One schedule truth: the participant list, casebook, home page, reminders and DSMB data agree."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from crf.models import Notification
from outcomes.reminders import reminder_scan
from tests.factories import complete_visit, make_dose, make_exit, make_participant, make_visit

pytestmark = pytest.mark.django_db


def casebook_states(client, participant) -> dict[str, str]:
    response = client.get(participant.get_absolute_url())
    return {item.code: status for item, _visit, status, _label in response.context["visit_rows"]}


def row_of(response, participant):
    (row,) = [r for r in response.context["rows"] if r.participant.pk == participant.pk]
    return row


def list_row_html(html: str, participant) -> str:
    start = html.index(f">{participant.participant_id}</a>")
    return html[start : html.index("</tr>", start)]


def home_items(client, participant, buckets=("today", "week", "overdue")) -> list:
    """The participant's lines on the worklist pages the home page's counts link to."""
    items = []
    for bucket in buckets:
        page = client.get(f"/worklist/?bucket={bucket}")
        items += [
            item
            for item in [*page.context["reports"], *page.context["items"]]
            if item.participant_id == participant.participant_id
        ]
    return items


def at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def withdrawn(coordinator):
    """Study day 41; 14 doses given; withdrawn on day 26, inside the Day 28 window, no follow-up."""
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=40)
    )
    for day in range(1, 15):
        make_dose(participant, coordinator, day)
    make_exit(participant, coordinator, on=participant.anchor + dt.timedelta(days=25))
    return participant


def test_after_withdrawal_later_visits_are_not_expected_on_the_casebook(
    client_for, coordinator, withdrawn
):
    client = client_for(coordinator)
    states = casebook_states(client, withdrawn)
    # Baseline and Day 14 closed before the withdrawal without a record: missed.
    assert states["baseline"] == "missed" and states["day14"] == "missed"
    for code in ("day28", "safety30", "month3", "month6", "month12"):
        assert states[code] == "not_expected", code
    html = client.get(withdrawn.get_absolute_url()).content.decode()
    assert "?code=day28" not in html and "?code=safety30" not in html  # no Start button


def test_after_withdrawal_the_list_home_reminders_and_dsmb_expect_nothing_more(
    client_for, coordinator, withdrawn
):
    from reports.dsmb_data import dsmb_data

    client = client_for(coordinator)
    listing = client.get("/participants/")
    assert row_of(listing, withdrawn).next_item is None
    row = list_row_html(listing.content.decode(), withdrawn)
    assert "Safety follow-up" not in row and "Day 28" not in row
    assert not [item for item in home_items(client, withdrawn) if item.kind == "visit"]
    assert "?code=safety30" not in client.get("/worklist/?bucket=week").content.decode()
    with time_machine.travel(at(timezone.localdate(), 17), tick=False):
        reminder_scan()
    assert not Notification.objects.filter(key__contains=withdrawn.participant_id).exists()
    data = dsmb_data(timezone.now())
    missed = [label for pid, label, _ in data.overdue_visits if pid == withdrawn.participant_id]
    assert missed == ["Baseline", "Day 14"]


def test_a_withdrawal_that_permits_follow_up_keeps_the_visits_expected(client_for, coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=25)
    )
    make_exit(
        participant,
        coordinator,
        on=participant.anchor + dt.timedelta(days=10),
        followup_permitted=True,
    )
    states = casebook_states(client_for(coordinator), participant)
    assert states["day28"] == "due" and states["month3"] == "scheduled"
    grid = client_for(coordinator).get(participant.get_absolute_url()).context["dose_grid"]
    # No dose is expected from the day the participant withdrew.
    assert [cell.state for cell in grid][9:] == ["missed"] + ["not_expected"] * 4
    with time_machine.travel(at(timezone.localdate(), 10), tick=False):
        reminder_scan()
    key = f"visit-due:{participant.participant_id}:day28:"
    assert Notification.objects.filter(key__startswith=key).exists()


def test_a_visit_done_with_every_form_shows_done_on_the_participant_list(client_for, coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=13)
    )  # study day 14 today
    for day in range(1, 15):
        make_dose(participant, coordinator, day)
    complete_visit(make_visit(participant, coordinator, "baseline"), coordinator)
    complete_visit(make_visit(participant, coordinator, "day14"), coordinator)
    listing = client_for(coordinator).get("/participants/")
    row = row_of(listing, participant)
    assert row.last_visit.code == "day14" and row.last_visit.state == "done"
    assert row.next_item.code == "day28"
    html = list_row_html(listing.content.decode(), participant)
    assert "due now" not in html and "Day 14" in html and ">done<" in html


def test_a_visit_with_a_form_missing_is_not_done(client_for, coordinator):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=13)
    )
    make_visit(participant, coordinator, "day14")  # no form yet
    client = client_for(coordinator)
    assert row_of(client.get("/participants/"), participant).last_visit.state == "incomplete"
    assert casebook_states(client, participant)["day14"] == "incomplete"


@pytest.fixture
def stopped_early(coordinator):
    """Study day 30: five doses given, then stopped for an adverse event; Day 28 done."""
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=29)
    )
    for day in range(1, 6):
        make_dose(participant, coordinator, day)
    make_dose(
        participant,
        coordinator,
        6,
        given="no",
        not_given_reason="adverse_event",
        start_time=None,
        end_time=None,
        dose_particles=None,
    )
    complete_visit(make_visit(participant, coordinator, "day28"), coordinator)
    return participant


def test_an_early_stop_moves_the_safety_follow_up_to_the_last_dose_everywhere(
    client_for, coordinator, stopped_early
):
    from dosing.selectors import doses_by_participant
    from safety.selectors import endpoint_window

    participant = stopped_early
    last_dose = participant.anchor + dt.timedelta(days=4)  # day 5
    target = last_dose + dt.timedelta(days=30)
    earliest, latest = target - dt.timedelta(days=3), target + dt.timedelta(days=3)
    client = client_for(coordinator)

    casebook = client.get(participant.get_absolute_url())
    (item,) = [i for i, _v, _s, _l in casebook.context["visit_rows"] if i.code == "safety30"]
    assert (item.target, item.earliest, item.latest) == (target, earliest, latest)
    assert f"target {target:%Y-%m-%d}" in casebook.content.decode()

    listing = client.get("/participants/")
    assert row_of(listing, participant).next_item.code == "safety30"
    assert f"{target:%Y-%m-%d}" in list_row_html(listing.content.decode(), participant)

    (work,) = [w for w in home_items(client, participant) if w.label.startswith("Safety")]
    assert work.detail == f"{earliest:%Y-%m-%d} / {latest:%Y-%m-%d}"
    assert work in home_items(client, participant, buckets=["week"])

    with time_machine.travel(at(timezone.localdate(), 10), tick=False):
        reminder_scan()  # two days before the window opens
    (due,) = Notification.objects.filter(
        key__startswith=f"visit-due:{participant.participant_id}:safety30:"
    )
    assert f"{latest:%Y-%m-%d}" in due.subject

    # The AE window of the safety dashboard ends on the same day.
    doses = doses_by_participant([participant.pk])[participant.pk]
    last = max(d.dose_date for d in doses.values() if d.counts_as_given)
    assert endpoint_window(participant, last)[1] == target


def test_while_dosing_goes_on_the_safety_follow_up_stays_at_the_planned_last_dose(
    client_for, coordinator
):
    participant = make_participant(
        coordinator, first_dose=timezone.localdate() - dt.timedelta(days=4)
    )
    for day in range(1, 5):
        make_dose(participant, coordinator, day)
    casebook = client_for(coordinator).get(participant.get_absolute_url())
    (item,) = [i for i, _v, _s, _l in casebook.context["visit_rows"] if i.code == "safety30"]
    assert item.target == participant.anchor + dt.timedelta(days=13 + 30)


def test_the_home_page_counts_agree_with_the_casebook(client_for, coordinator, withdrawn):
    html = client_for(coordinator).get("/").content.decode()
    counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}
    assert counts["overdue"] == 0  # a withdrawn participant is no longer worked on
