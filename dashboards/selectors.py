"""Cross-app reads for the dashboards: participant overview and the CONSORT flow."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf.schedule import ItemState, ScheduleItem
from dosing import selectors as dosing_selectors
from enrollment import schedule_store
from enrollment import selectors as enrollment_selectors
from enrollment.models import Failure, Participant, ScheduleEntry, StudyStatus
from outcomes import selectors as outcomes_selectors
from safety import clocks as safety_clocks
from safety import selectors as safety_selectors
from safety.models import RELATED, ReportKind, SafetyReport
from study import protocol


@dataclass
class ParticipantRow:
    participant: Participant
    study_day: int | None
    next_item: ScheduleItem | None
    last_visit: ScheduleItem | None


# The participant list's orders: by enrollment, by the next item's date, by its state.
PARTICIPANT_SORTS = ("participant", "next", "state")
# Filters of the participant list by the next item's state ("none": nothing more to do).
NEXT_STATES = (ItemState.DUE, ItemState.INCOMPLETE, ItemState.SCHEDULED, "none")


def _study_status_filter(status: str) -> Q:
    if status == StudyStatus.ON_STUDY:
        return Q(exit__isnull=True) | Q(exit__retired_at__isnull=False)
    return Q(exit__kind=status, exit__retired_at__isnull=True)


def participant_list(
    today: dt.date, *, sort: str = "participant", status: str = "", state: str = ""
) -> QuerySet[Participant]:
    """The participants of the list, filtered and sorted in SQL on their stored schedule.

    Sorting by the next item or filtering on it adds a subquery per participant on an index;
    the rows of one page are then completed by participant_rows().
    """
    schedule_store.refresh(today)
    participants = enrollment_selectors.participants()
    if status in StudyStatus.values:
        participants = participants.filter(_study_status_filter(status))
    following = schedule_store.open_entries(today).filter(participant=OuterRef("pk"))
    following = following.order_by("position")
    if sort in ("next", "state") or state in NEXT_STATES:
        participants = participants.annotate(
            next_target=Subquery(following.values("target")[:1]),
            next_state=Subquery(following.values("state")[:1]),
        )
    if state == "none":
        participants = participants.filter(next_state__isnull=True)
    elif state in NEXT_STATES:
        participants = participants.filter(next_state=state)
    if sort == "next":
        return participants.order_by(F("next_target").asc(nulls_last=True), "number")
    if sort == "state":
        rank = Case(
            *(When(next_state=value, then=n) for n, value in enumerate(NEXT_STATES[:-1])),
            default=len(NEXT_STATES),
        )
        return participants.order_by(rank, F("next_target").asc(nulls_last=True), "number")
    return participants.order_by("number")


def participant_rows(today: dt.date, participants: list[Participant]) -> list[ParticipantRow]:
    """The rows of one page of the list: two queries, whatever the number of participants."""
    ids = [p.pk for p in participants]
    following = schedule_store.next_entries(today, ids)
    last = schedule_store.last_visits(today, ids)
    rows = []
    for participant in participants:
        next_entry, last_entry = following.get(participant.pk), last.get(participant.pk)
        rows.append(
            ParticipantRow(
                participant=participant,
                # Shown while the participant is followed (on study, or withdrawn from dosing
                # with follow-up permitted).
                study_day=participant.study_day_on(today)
                if participant.expected_until is None
                else None,
                next_item=schedule_store.as_item(next_entry) if next_entry else None,
                last_visit=schedule_store.as_item(last_entry) if last_entry else None,
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


BUCKETS = ("overdue", "today", "week")
WORK_KINDS = ("visit", "dose", "report")


def work_bucket(today: dt.date) -> Case:
    """Which list of the home page an entry belongs to, or NULL: the home page's rule.

    A dose: missed is overdue, due is today. A visit with a form missing: overdue once its
    window closed, else today. A visit without a record: missed is overdue, due is today,
    scheduled and opening within seven days is this week.
    """
    week_end = today + dt.timedelta(days=7)
    return Case(
        When(state=ItemState.MISSED, then=Value("overdue")),
        When(state=ItemState.DUE, then=Value("today")),
        When(state=ItemState.INCOMPLETE, latest__lt=today, then=Value("overdue")),
        When(state=ItemState.INCOMPLETE, then=Value("today")),
        When(kind="visit", state=ItemState.SCHEDULED, earliest__lte=week_end, then=Value("week")),
        default=None,
        output_field=CharField(),
    )


def work_entries(today: dt.date) -> QuerySet[ScheduleEntry]:
    """Every schedule entry on the worklist, with its `state` and `bucket`, due date first."""
    week_end = today + dt.timedelta(days=7)
    return (
        schedule_store.entries(today)
        .filter(schedule_store.followed())
        # Only entries without a record opening within the week, or with a form missing, can
        # be on it: the partial index on pending windows serves the first half.
        .filter(Q(done_on__isnull=True, earliest__lte=week_end) | Q(complete=False))
        .annotate(bucket=work_bucket(today))
        .exclude(bucket=None)
        .select_related("participant")
        .order_by("latest", "participant__participant_id", "position")
    )


def work_item(entry: ScheduleEntry) -> WorkItem:
    """The line of the worklist of an entry."""
    pid = entry.participant.participant_id
    label = schedule_store.entry_label(entry)
    if entry.kind == "dose":
        return WorkItem(
            "dose", pid, label, entry.target, f"/dosing/{pid}/new/?day={entry.study_day}"
        )
    if entry.state == ItemState.INCOMPLETE:
        # Recorded, a form still missing: the casebook links to the visit's forms.
        return WorkItem(
            "visit",
            pid,
            label,
            entry.latest,
            entry.participant.get_absolute_url(),
            str(_("forms missing")),
        )
    return WorkItem(
        "visit",
        pid,
        label,
        entry.latest,
        f"/participants/{pid}/visits/new/?code={entry.code}",
        f"{entry.earliest:%Y-%m-%d} / {entry.latest:%Y-%m-%d}",
    )


def report_work(now: dt.datetime) -> dict[str, list[WorkItem]]:
    """The SAE and SUSAR reports still owed, by bucket: only the events with a report missing
    are read, however many events there are."""
    result: dict[str, list[WorkItem]] = {bucket: [] for bucket in BUCKETS}
    current = SafetyReport.objects.filter(adverse_event=OuterRef("pk"), retired_at__isnull=True)
    owed = safety_selectors.adverse_events().filter(
        Q(serious=True)
        & (
            ~Exists(current.filter(kind=ReportKind.INITIAL))
            | (
                Q(rel_study_drug__in=RELATED, expected=False)
                & ~Exists(current.filter(kind=ReportKind.SUSAR))
            )
        )
    )
    for ae in owed:
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
                result["overdue"].append(work)
            elif clock.due_at <= now + dt.timedelta(days=1):
                result["today"].append(work)
            else:
                result["week"].append(work)
    for bucket in result.values():
        bucket.sort(key=lambda work: (work.due, work.participant_id))
    return result


@dataclass
class WorkCount:
    bucket: str
    by_kind: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def work_counts(today: dt.date, now: dt.datetime) -> list[WorkCount]:
    """How many visits, doses and reports are overdue, due today and this week: one query for
    the schedule, one for the owed reports."""
    schedule_store.refresh(today)
    counts = {bucket: dict.fromkeys(WORK_KINDS, 0) for bucket in BUCKETS}
    rows = (
        work_entries(today)
        .order_by()
        .values("bucket", "kind")
        .annotate(n=Count("pk"))
        .values_list("bucket", "kind", "n")
    )
    for bucket, kind, n in rows:
        counts[bucket][kind] = n
    for bucket, items in report_work(now).items():
        counts[bucket]["report"] = len(items)
    return [WorkCount(bucket, counts[bucket]) for bucket in BUCKETS]
