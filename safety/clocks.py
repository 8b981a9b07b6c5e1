"""Regulatory clocks of a serious event (PROTOCOL.md section 6).

One definition, read two ways: `clocks()` gives the clocks of one event for its own page, and
`with_clocks()` adds the same due times and states to a queryset of events for the lists. Both
take the deadlines from DEADLINES and the rule for the shorter SUSAR deadline from
`AdverseEvent.susar_due_days` / SUSAR_SHORT_DEADLINE, so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils.translation import gettext_lazy as _

from safety.models import RELATED, AdverseEvent, Outcome, ReportKind, SafetyReport
from study import protocol

# How long after awareness each report is due.
DEADLINES = {
    "initial": dt.timedelta(hours=protocol.SAE_INITIAL_REPORT_HOURS),
    "susar_short": dt.timedelta(days=protocol.SUSAR_FATAL_DAYS),
    "susar": dt.timedelta(days=protocol.SUSAR_OTHER_DAYS),
}
# The events whose SUSAR report is due in the shorter time: fatal or life-threatening (the SQL
# twin of AdverseEvent.susar_due_days).
SUSAR_SHORT_DEADLINE = Q(outcome=Outcome.FATAL) | Q(sae_death=True) | Q(sae_life_threatening=True)
# Serious, related to MSC-exos and unexpected (the SQL twin of AdverseEvent.susar).
IS_SUSAR = Q(serious=True, rel_study_drug__in=RELATED, expected=False)
# The clock states, most urgent first: running and overdue ones still wait for a report.
STATES = ("overdue", "running", "late", "met")
OPEN_STATES = ("overdue", "running")


def initial_label() -> str:
    return str(_("Initial SAE report (%(hours)s h)") % {"hours": protocol.SAE_INITIAL_REPORT_HOURS})


def susar_label(days: int) -> str:
    return str(_("SUSAR report (%(days)s days)") % {"days": days})


@dataclass
class Clock:
    code: str
    label: str
    due_at: dt.datetime
    reported_at: dt.datetime | None

    def overdue(self, now: dt.datetime) -> bool:
        if self.reported_at is not None:
            return self.reported_at > self.due_at
        return now > self.due_at

    def state(self, now: dt.datetime) -> str:
        if self.reported_at is not None:
            return "late" if self.reported_at > self.due_at else "met"
        return "overdue" if now > self.due_at else "running"


def clocks(ae: AdverseEvent, reports: list[SafetyReport]) -> list[Clock]:
    """The clocks that run for this event: the initial SAE report and, for a SUSAR, its report."""
    result = []
    if ae.is_retired:
        return result
    first = {}
    for report in sorted(reports, key=lambda r: r.sent_at):
        if not report.is_retired:
            first.setdefault(report.kind, report.sent_at)
    if ae.serious:
        result.append(
            Clock(
                "initial",
                initial_label(),
                ae.awareness_at + DEADLINES["initial"],
                first.get(ReportKind.INITIAL),
            )
        )
    if ae.susar:
        days = ae.susar_due_days()
        result.append(
            Clock(
                "susar",
                susar_label(days),
                ae.awareness_at + dt.timedelta(days=days),
                first.get(ReportKind.SUSAR),
            )
        )
    return result


# --- The same clocks in SQL ------------------------------------------------------------------


def _first_sent(kind: str) -> Subquery:
    """When the first current report of this kind went out (NULL if none)."""
    return Subquery(
        SafetyReport.objects.filter(
            adverse_event=OuterRef("pk"), kind=kind, retired_at__isnull=True
        )
        .order_by("sent_at")
        .values("sent_at")[:1],
        output_field=DateTimeField(),
    )


def _due(deadline) -> ExpressionWrapper:
    return ExpressionWrapper(F("awareness_at") + deadline, output_field=DateTimeField())


def state_expression(due: str, reported: str, now: dt.datetime) -> Case:
    """Clock.state in SQL, for the annotations named `due` and `reported`."""
    return Case(
        When(**{f"{due}__isnull": True}, then=Value(None)),
        When(**{f"{reported}__isnull": False, f"{reported}__gt": F(due)}, then=Value("late")),
        When(**{f"{reported}__isnull": False}, then=Value("met")),
        When(**{f"{due}__lt": Value(now)}, then=Value("overdue")),
        default=Value("running"),
        output_field=CharField(),
    )


def with_clocks(events: QuerySet[AdverseEvent], now: dt.datetime) -> QuerySet[AdverseEvent]:
    """Add `initial_due`, `initial_sent`, `initial_state` and the `susar_` three (NULL where the
    clock does not run) to current events, as `clocks()` computes them for one."""
    susar_deadline = Case(
        When(SUSAR_SHORT_DEADLINE, then=Value(DEADLINES["susar_short"])),
        default=Value(DEADLINES["susar"]),
        output_field=DurationField(),
    )
    return events.annotate(
        initial_due=Case(
            When(serious=True, then=_due(Value(DEADLINES["initial"]))),
            output_field=DateTimeField(),
        ),
        initial_sent=_first_sent(ReportKind.INITIAL),
        susar_due=Case(When(IS_SUSAR, then=_due(susar_deadline)), output_field=DateTimeField()),
        susar_sent=_first_sent(ReportKind.SUSAR),
    ).annotate(
        initial_state=state_expression("initial_due", "initial_sent", now),
        susar_state=state_expression("susar_due", "susar_sent", now),
    )
