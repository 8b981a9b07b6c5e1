"""Reads of the stored schedule (ScheduleEntry): item states computed in SQL.

The entries hold the dates crf.schedule.build_schedule gives each participant; what depends on
the day (scheduled, due, missed...) is computed here in the database, by the same rule as
crf.schedule.item_state, so that a list costs the same at 10 and at 10,000 participants.
Only outcomes.schedule_table writes the entries.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.dispatch import Signal
from django.utils.translation import gettext as _

from crf.schedule import ItemState, ScheduleItem
from enrollment.models import Participant, ScheduleEntry
from study import protocol

# Sent with `participant_ids` and `today` when stored entries do not hold for `today` (or are
# missing): the schedule builder (outcomes.schedule_table) rebuilds them before the read.
refresh_requested = Signal()

# The states an item can still be worked on in: the next item is the first of them.
OPEN_STATES = (ItemState.SCHEDULED, ItemState.DUE, ItemState.INCOMPLETE)


def state_of(today: dt.date) -> Case:
    """The state of an entry on `today`: crf.schedule.item_state, as a SQL CASE.

    A dose with a record is done whatever its date (a dose given on another day, with its
    reason, still counts); a visit with a record is incomplete until every form is there.
    """
    recorded = Q(done_on__isnull=False)
    return Case(
        When(recorded & Q(kind="dose"), then=Value(ItemState.DONE.value)),
        When(recorded & Q(complete=False), then=Value(ItemState.INCOMPLETE.value)),
        When(
            recorded & Q(earliest__lte=F("done_on"), latest__gte=F("done_on")),
            then=Value(ItemState.DONE.value),
        ),
        When(recorded, then=Value(ItemState.OUT_OF_WINDOW.value)),
        When(
            expected_until__isnull=False,
            expected_until__lte=F("latest"),
            then=Value(ItemState.NOT_EXPECTED.value),
        ),
        When(earliest__gt=today, then=Value(ItemState.SCHEDULED.value)),
        When(latest__gte=today, then=Value(ItemState.DUE.value)),
        default=Value(ItemState.MISSED.value),
        output_field=CharField(),
    )


def entries(today: dt.date) -> QuerySet[ScheduleEntry]:
    """Every stored entry with its `state` on `today`."""
    return ScheduleEntry.objects.annotate(state=state_of(today))


def open_entries(today: dt.date) -> QuerySet[ScheduleEntry]:
    """Entries still to do whose window has not closed (Schedule.next_due's rule)."""
    # Every open state implies latest >= today; saying so lets the index on `latest` serve.
    return entries(today).filter(latest__gte=today, state__in=OPEN_STATES)


def next_entries(today: dt.date, participant_ids) -> dict[int, ScheduleEntry]:
    """The next item of each participant (Schedule.next_due): one query."""
    rows = (
        open_entries(today)
        .filter(participant_id__in=participant_ids)
        .order_by("participant_id", "position")
        .distinct("participant_id")
    )
    return {row.participant_id: row for row in rows}


def last_visits(today: dt.date, participant_ids) -> dict[int, ScheduleEntry]:
    """The latest visit with a record of each participant (Schedule.last_visit): one query."""
    rows = (
        entries(today)
        .filter(participant_id__in=participant_ids, kind="visit", done_on__isnull=False)
        .order_by("participant_id", "-done_on", "position")
        .distinct("participant_id")
    )
    return {row.participant_id: row for row in rows}


def stale_participants(today: dt.date) -> QuerySet[Participant]:
    """Participants whose entries are missing or do not hold for `today`."""
    return Participant.objects.filter(
        Q(schedule_build__isnull=True)
        | Q(schedule_build__valid_from__gt=today)
        | Q(schedule_build__valid_until__lte=today)
    )


def refresh(today: dt.date) -> list[int]:
    """Have the entries of every stale participant rebuilt for `today`; one query when none is.

    Entries go stale only the day after a participant's last planned dosing day (dosing then
    counts as ended; crf.schedule.dosing_end), so this finds at most the participants who
    crossed that day since the nightly rebuild.
    """
    ids = sorted(stale_participants(today).values_list("pk", flat=True))
    if ids:
        refresh_requested.send(sender=ScheduleEntry, participant_ids=ids, today=today)
    return ids


def followed() -> Q:
    """Participants still followed: on study, or withdrawn from dosing with follow-up permitted
    (Participant.expected_until is None), as a filter on the entries."""
    return Q(participant__schedule_build__visits_end__isnull=True)


def entry_label(entry: ScheduleEntry) -> str:
    """The label the schedule engine gives the item."""
    if entry.kind == "dose":
        return _("Dosing day %(day)s") % {"day": entry.study_day}
    visit = next((v for v in protocol.VISITS if v.code == entry.code), None)
    return _(visit.label) if visit else entry.code


def as_item(entry: ScheduleEntry) -> ScheduleItem:
    """The entry as the schedule engine's item, with its state, for the templates."""
    return ScheduleItem(
        kind=entry.kind,
        code=entry.code,
        label=entry_label(entry),
        target=entry.target,
        earliest=entry.earliest,
        latest=entry.latest,
        study_day=entry.study_day,
        done_on=entry.done_on,
        state=ItemState(entry.state),
    )
