"""Regulatory clocks of a serious event (PROTOCOL.md section 6)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from safety.models import AdverseEvent, ReportKind, SafetyReport
from trialportal import protocol


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
                str(
                    _("Initial SAE report (%(hours)s h)")
                    % {"hours": protocol.SAE_INITIAL_REPORT_HOURS}
                ),
                ae.awareness_at + dt.timedelta(hours=protocol.SAE_INITIAL_REPORT_HOURS),
                first.get(ReportKind.INITIAL),
            )
        )
    if ae.susar:
        days = ae.susar_due_days()
        result.append(
            Clock(
                "susar",
                str(_("SUSAR report (%(days)s days)") % {"days": days}),
                ae.awareness_at + dt.timedelta(days=days),
                first.get(ReportKind.SUSAR),
            )
        )
    return result
