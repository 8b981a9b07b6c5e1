"""Cross-app reads for the dashboards: participant overview and the CONSORT flow."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf.schedule import ItemState, Schedule, ScheduleItem
from dosing import selectors as dosing_selectors
from enrollment import selectors as enrollment_selectors
from enrollment.models import Failure, Participant, StudyStatus
from outcomes import selectors as outcomes_selectors
from safety import clocks as safety_clocks
from safety import selectors as safety_selectors
from trialportal import protocol


@dataclass
class ParticipantRow:
    participant: Participant
    study_day: int | None
    next_item: ScheduleItem | None
    last_visit: ScheduleItem | None
    schedule: Schedule


def participant_rows(today: dt.date) -> list[ParticipantRow]:
    """The participant list: a fixed number of queries whatever the number of participants."""
    participants = list(dosing_selectors.with_dose_facts(enrollment_selectors.participants()))
    schedules = outcomes_selectors.schedules(participants, today)
    rows = []
    for participant in participants:
        schedule = schedules[participant.pk]
        rows.append(
            ParticipantRow(
                participant=participant,
                # Shown while the participant is followed (on study, or withdrawn from dosing
                # with follow-up permitted).
                study_day=participant.study_day_on(today)
                if participant.expected_until is None
                else None,
                next_item=schedule.next_due(),
                last_visit=schedule.last_visit(),
                schedule=schedule,
            )
        )
    return rows


@dataclass
class Consort:
    screens: int = 0
    persons: int = 0
    rescreens: int = 0
    failed: int = 0
    failure_reasons: list[tuple[str, int]] = field(default_factory=list)
    eligible_not_enrolled: int = 0
    enrolled: int = 0
    cap: int = protocol.ENROLLMENT_CAP
    dosed: int = 0
    all_doses: int = 0
    reached: list[tuple[str, int]] = field(default_factory=list)
    withdrawn: int = 0
    lost: int = 0
    died: int = 0
    completed: int = 0
    on_study: int = 0


REACHED_VISITS = ("day28", "month3", "month6", "month12")


def consort(today: dt.date, cutoff: dt.datetime | None = None) -> Consort:
    """Count the flow from screening to the end of follow-up (PROTOCOL.md section 2), counting
    only the screens and participants entered by the cut-off when one is given."""
    log = enrollment_selectors.screening_log().filter(retired_at__isnull=True)
    if cutoff is not None:
        log = log.filter(created_at__lte=cutoff)
    screens = list(
        log.values("pk", "previous_screening_id", "eligible", "failure_reasons", "participant__pk")
    )
    later = {row["previous_screening_id"] for row in screens if row["previous_screening_id"]}
    latest = [row for row in screens if row["pk"] not in later]  # one per person
    result = Consort(
        screens=len(screens),
        persons=len(latest),
        rescreens=sum(1 for row in screens if row["previous_screening_id"]),
    )
    reasons: Counter[str] = Counter()
    for row in latest:
        if row["participant__pk"]:
            continue
        if row["eligible"]:
            result.eligible_not_enrolled += 1
        else:
            result.failed += 1
            reasons.update(row["failure_reasons"])
    labels = dict(Failure.choices)
    result.failure_reasons = [(str(labels.get(code, code)), n) for code, n in reasons.most_common()]

    participants = enrollment_selectors.participants()
    if cutoff is not None:
        participants = participants.filter(created_at__lte=cutoff)
    participants = list(dosing_selectors.with_dose_facts(participants))
    result.enrolled = len(participants)
    result.dosed = sum(1 for p in participants if p.first_dose_date)
    result.all_doses = sum(
        1
        for p in participants
        if sum(fact.given for fact in dosing_selectors.dose_facts(p).values())
        == protocol.DOSING_DAYS
    )
    statuses = Counter(p.study_status for p in participants)
    result.withdrawn = statuses[StudyStatus.WITHDRAWN]
    result.lost = statuses[StudyStatus.LOST]
    result.died = statuses[StudyStatus.DIED]
    result.completed = statuses[StudyStatus.COMPLETED]
    result.on_study = statuses[StudyStatus.ON_STUDY]
    schedules = outcomes_selectors.schedules(participants, today)
    labels = {visit.code: gettext_lazy(visit.label) for visit in protocol.VISITS}
    for code in REACHED_VISITS:
        count, label = 0, labels[code]
        for p in participants:
            if not p.first_dose_date:
                continue
            item = schedules[p.pk].get(code)
            left = p.exit_date
            if item.target <= today and (left is None or left >= item.target):
                count += 1
        result.reached.append((label, count))
    return result


@dataclass
class WorkItem:
    kind: str  # visit, dose, report
    participant_id: str
    label: str
    due: dt.date
    url: str
    detail: str = ""


@dataclass
class Worklist:
    today: list[WorkItem] = field(default_factory=list)
    week: list[WorkItem] = field(default_factory=list)
    overdue: list[WorkItem] = field(default_factory=list)


def worklist(today: dt.date, now: dt.datetime) -> Worklist:
    """What is due today, this week and overdue, across all participants (fixed queries)."""
    result = Worklist()
    # Everyone still followed: on study, or withdrawn from dosing with follow-up permitted.
    participants = [p for p in enrollment_selectors.participants() if p.expected_until is None]
    schedules = outcomes_selectors.schedules(participants, today)
    week_end = today + dt.timedelta(days=7)
    for participant in participants:
        pid = participant.participant_id
        for item in schedules[participant.pk]:
            if item.kind == "dose":
                if item.state == ItemState.MISSED:
                    result.overdue.append(_dose_item(participant, item))
                elif item.state == ItemState.DUE:
                    result.today.append(_dose_item(participant, item))
                continue
            window = f"{item.earliest:%Y-%m-%d} / {item.latest:%Y-%m-%d}"
            if item.state == ItemState.INCOMPLETE:
                # Recorded, a form still missing: the casebook links to the visit's forms.
                work = WorkItem(
                    "visit",
                    pid,
                    item.label,
                    item.latest,
                    participant.get_absolute_url(),
                    str(_("forms missing")),
                )
                (result.overdue if item.latest < today else result.today).append(work)
                continue
            work = WorkItem(
                "visit",
                pid,
                item.label,
                item.latest,
                f"/participants/{pid}/visits/new/?code={item.code}",
                window,
            )
            if item.state == ItemState.MISSED:
                result.overdue.append(work)
            elif item.state == ItemState.DUE:
                result.today.append(work)
            elif item.state == ItemState.SCHEDULED and item.earliest <= week_end:
                result.week.append(work)
    for ae in safety_selectors.adverse_events().filter(serious=True):
        for clock in safety_clocks.clocks(ae, list(ae.reports.all())):
            if clock.reported_at is not None:
                continue
            work = WorkItem(
                "report",
                ae.participant.participant_id,
                clock.label,
                timezone.localdate(clock.due_at),
                ae.get_absolute_url(),
                f"AE {ae.number}",
            )
            if clock.overdue(now):
                result.overdue.append(work)
            elif clock.due_at <= now + dt.timedelta(days=1):
                result.today.append(work)
            else:
                result.week.append(work)
    for bucket in (result.today, result.week, result.overdue):
        bucket.sort(key=lambda work: (work.due, work.participant_id))
    return result


def _dose_item(participant: Participant, item: ScheduleItem) -> WorkItem:
    pid = participant.participant_id
    return WorkItem(
        "dose", pid, item.label, item.target, f"/dosing/{pid}/new/?day={item.study_day}"
    )
