"""Visit and dose reminders (PROTOCOL.md section 3): each a Notification with a unique key.

A second scan, or a second worker, sends nothing twice; a participant no longer followed gets none.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from crf.notifications import active_users, notify
from crf.schedule import ItemState
from enrollment import selectors as enrollment_selectors
from outcomes import selectors
from study import protocol

DUE_SOON_DAYS = 2


def reminder_scan(now: dt.datetime | None = None) -> int:
    """Send the reminders due now; return how many emails went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    coordinators = list(active_users(role=Role.COORDINATOR))
    pis = list(active_users(pi=True))
    # Everyone still followed: on study, or withdrawn from dosing with follow-up permitted.
    participants = [p for p in enrollment_selectors.participants() if p.expected_until is None]
    schedules = selectors.schedules(participants, today)
    sent = 0
    for participant in participants:
        pid = participant.participant_id
        url = participant.get_absolute_url()
        for item in schedules[participant.pk].visits:
            if item.state == ItemState.MISSED:
                sent += notify(
                    key=f"visit-overdue:{pid}:{item.code}",
                    kind="visit_overdue",
                    subject=_("%(pid)s: %(visit)s is past its window")
                    % {"pid": pid, "visit": item.label},
                    body=_("The window closed on %(latest)s and no visit is recorded.")
                    % {"latest": item.latest},
                    url=url,
                    recipients=coordinators + pis,
                )
            elif item.state in (ItemState.SCHEDULED, ItemState.DUE) and (
                item.earliest - dt.timedelta(days=DUE_SOON_DAYS) <= today
            ):
                sent += notify(
                    key=f"visit-due:{pid}:{item.code}",
                    kind="visit_due",
                    subject=_("%(pid)s: %(visit)s due by %(date)s")
                    % {"pid": pid, "visit": item.label, "date": item.latest},
                    body=_("Window %(earliest)s to %(latest)s; target %(target)s.")
                    % {"earliest": item.earliest, "latest": item.latest, "target": item.target},
                    url=url,
                    recipients=coordinators,
                )
        dose = next((i for i in schedules[participant.pk].doses if i.state == ItemState.DUE), None)
        if dose is not None and timezone.localtime(now).hour >= protocol.DOSE_REMINDER_HOUR:
            day = dose.study_day
            sent += notify(
                key=f"dose-missing:{pid}:{day}",
                kind="dose_missing",
                subject=_("%(pid)s: dose of day %(day)s not recorded") % {"pid": pid, "day": day},
                body=_("Record today's nebulization, or that it was not given and why."),
                url=f"/dosing/{pid}/new/?day={day}",
                recipients=coordinators,
            )
    return sent
