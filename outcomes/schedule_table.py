"""The stored schedule (enrollment.ScheduleEntry), kept in step with the facts it is built from.

Every save that changes a schedule fact (a dose record, a visit, a form or lab result of a visit,
the participant's first-dose dates, the study exit) goes through crf.services, which sends
crf.signals.record_saved inside its transaction; the receiver here rebuilds that participant's
entries with the one schedule engine, crf.schedule.build_schedule, before the transaction
commits. Readers compute states in SQL (enrollment.schedule_store).

The entries of a participant on study depend on the day in one way only: visits counted from
the last dose use the planned last dosing day until dosing has ended, then the last dose given.
ScheduleBuild records the days the entries hold for; a beat task just after midnight and every
reading page (schedule_store.refresh) rebuild the few participants that crossed that day.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from crf.schedule import ItemState, date_of_study_day
from dosing import selectors as dosing_selectors
from dosing.models import DoseRecord
from enrollment import schedule_store
from enrollment import selectors as enrollment_selectors
from enrollment.models import Participant, ScheduleBuild, ScheduleEntry, StudyExit
from outcomes import selectors
from outcomes.models import UNSCHEDULED, LabResult, Visit, VisitCrf
from study import protocol

ENTRY_FIELDS = (
    "position",
    "kind",
    "study_day",
    "target",
    "earliest",
    "latest",
    "done_on",
    "complete",
    "expected_until",
)
BATCH = 1000


def _validity(
    participant: Participant, dosing_ended: bool
) -> tuple[dt.date | None, dt.date | None]:
    """The days [from, until) for which entries built now hold (crf.schedule.dosing_end)."""
    if participant.exit_date is not None:
        return None, None  # dosing has ended for good
    after_planned = date_of_study_day(participant.anchor, protocol.DOSING_DAYS) + dt.timedelta(
        days=1
    )
    return (after_planned, None) if dosing_ended else (None, after_planned)


@transaction.atomic
def schedule_rebuild(*, participant_ids, today: dt.date | None = None) -> int:
    """Build the entries of these participants for `today` and upsert them; return the count."""
    today = today or timezone.localdate()
    ids = sorted(set(participant_ids))
    count = 0
    for start in range(0, len(ids), BATCH):
        count += _rebuild(ids[start : start + BATCH], today)
    return count


def _rebuild(ids: list[int], today: dt.date) -> int:
    participants = list(
        dosing_selectors.with_dose_facts(enrollment_selectors.participants().filter(pk__in=ids))
    )
    schedules = selectors.schedules(participants, today)
    now = timezone.now()
    entries, builds, codes = [], [], set()
    for participant in participants:
        schedule = schedules[participant.pk]
        exit_date, visits_end = participant.exit_date, participant.expected_until
        for position, item in enumerate(schedule.items):
            codes.add(item.code)
            entries.append(
                ScheduleEntry(
                    participant_id=participant.pk,
                    position=position,
                    kind=item.kind,
                    code=item.code,
                    study_day=item.study_day,
                    target=item.target,
                    earliest=item.earliest,
                    latest=item.latest,
                    done_on=item.done_on,
                    complete=item.state != ItemState.INCOMPLETE,
                    expected_until=exit_date if item.kind == "dose" else visits_end,
                )
            )
        valid_from, valid_until = _validity(participant, schedule.dosing_ended)
        builds.append(
            ScheduleBuild(
                participant_id=participant.pk,
                valid_from=valid_from,
                valid_until=valid_until,
                visits_end=visits_end,
                built_at=now,
            )
        )
    # Upserts, so that two rebuilds of one participant at once (a save and a page's refresh)
    # both succeed and the later one wins.
    ScheduleEntry.objects.bulk_create(
        entries,
        update_conflicts=True,
        unique_fields=["participant", "code"],
        update_fields=ENTRY_FIELDS,
    )
    ScheduleBuild.objects.bulk_create(
        builds,
        update_conflicts=True,
        unique_fields=["participant"],
        update_fields=["valid_from", "valid_until", "visits_end", "built_at"],
    )
    # Items a protocol amendment removed.
    ScheduleEntry.objects.filter(participant_id__in=ids).exclude(code__in=codes).delete()
    return len(participants)


def fact_models() -> list[type]:
    """The clinical records whose saves change a schedule fact."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if issubclass(model, Participant | StudyExit | DoseRecord | Visit | VisitCrf | LabResult)
    ]


def schedule_rebuild_all(*, today: dt.date | None = None) -> int:
    """Rebuild every participant's entries (after a protocol amendment, or to fill the table)."""
    return schedule_rebuild(
        participant_ids=Participant.objects.values_list("pk", flat=True), today=today
    )


def schedule_refresh(*, today: dt.date | None = None) -> list[int]:
    """Rebuild the participants whose entries do not hold for `today` (beat, after midnight)."""
    return schedule_store.refresh(today or timezone.localdate())


def _participant_of(record, *, created: bool) -> int | None:
    """The participant whose schedule facts this saved record changes, or None."""
    if isinstance(record, Participant):
        return record.pk
    if isinstance(record, DoseRecord | StudyExit | Visit):
        return record.participant_id
    if isinstance(record, VisitCrf | LabResult):
        # A form counts for completeness by being there: only its creation and its retirement
        # change a fact, not a change of its values.
        if not created and not record.is_retired:
            return None
        visit = Visit.objects.values("participant_id", "code").get(pk=record.visit_id)
        if visit["code"] == UNSCHEDULED:
            return None
        if isinstance(record, LabResult):
            # Labs count once one current result is there: only the first and the last matter.
            others = LabResult.objects.filter(visit_id=record.visit_id, retired_at__isnull=True)
            if others.exclude(pk=record.pk).exists():
                return None
        return visit["participant_id"]
    return None


def on_record_saved(sender, *, record, created: bool, **kwargs) -> None:
    """Rebuild the participant's entries in the transaction of the save (crf.signals)."""
    participant_id = _participant_of(record, created=created)
    if participant_id is not None:
        schedule_rebuild(participant_ids=[participant_id])


def on_refresh_requested(sender, *, participant_ids, today: dt.date, **kwargs) -> None:
    """Rebuild the entries a reader found stale (enrollment.schedule_store.refresh)."""
    schedule_rebuild(participant_ids=participant_ids, today=today)
