"""Visit and dose reminders (PROTOCOL.md section 3): each a Notification with a unique key.

A second scan, or a second worker, sends nothing twice; a participant no longer followed gets none.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from crf.notifications import notification_create, notification_email
from dosing import selectors as dosing_selectors
from enrollment import selectors as enrollment_selectors
from outcomes import selectors
from trialportal import protocol

DUE_SOON_DAYS = 2


def _users(role=None, pi=False):
    users = get_user_model().objects.filter(is_active=True)
    if role:
        users = users.filter(groups__name=role)
    if pi:
        users = users.filter(is_principal_investigator=True)
    return list(users.distinct())


def _send(key: str, kind: str, subject: str, body: str, url: str, recipients) -> int:
    sent = 0
    for user in recipients:
        notification = notification_create(
            key=f"{key}:user:{user.pk}",
            kind=kind,
            subject=subject,
            body=body,
            url=url,
            recipient=user,
        )
        if notification.emailed_at is None and notification_email(notification_id=notification.pk):
            sent += 1
    return sent


def reminder_scan(now: dt.datetime | None = None) -> int:
    """Send the reminders due now; return how many emails went out."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    coordinators = _users(Role.COORDINATOR)
    pis = _users(pi=True)
    participants = [p for p in enrollment_selectors.participants() if p.is_active]
    visits = selectors.visits_by_participant([p.pk for p in participants])
    doses = dosing_selectors.doses_by_participant([p.pk for p in participants])
    sent = 0
    for participant in participants:
        pid = participant.participant_id
        done = {visit.code for visit in visits.get(participant.pk, [])}
        url = participant.get_absolute_url()
        for item in participant.schedule():
            if item.kind != "visit" or item.code in done:
                continue
            if item.earliest - dt.timedelta(days=DUE_SOON_DAYS) <= today <= item.latest:
                sent += _send(
                    f"visit-due:{pid}:{item.code}",
                    "visit_due",
                    _("%(pid)s: %(visit)s due by %(date)s")
                    % {"pid": pid, "visit": item.label, "date": item.latest},
                    _("Window %(earliest)s to %(latest)s; target %(target)s.")
                    % {"earliest": item.earliest, "latest": item.latest, "target": item.target},
                    url,
                    coordinators,
                )
            elif today > item.latest:
                sent += _send(
                    f"visit-overdue:{pid}:{item.code}",
                    "visit_overdue",
                    _("%(pid)s: %(visit)s is past its window") % {"pid": pid, "visit": item.label},
                    _("The window closed on %(latest)s and no visit is recorded.")
                    % {"latest": item.latest},
                    url,
                    coordinators + pis,
                )
        if participant.first_dose_date is None and participant.planned_first_dose > today:
            continue
        day = participant.study_day_on(today)
        local_hour = timezone.localtime(now).hour
        due_now = 1 <= day <= protocol.DOSING_DAYS and local_hour >= protocol.DOSE_REMINDER_HOUR
        if due_now and day not in doses.get(participant.pk, {}):
            sent += _send(
                f"dose-missing:{pid}:{day}",
                "dose_missing",
                _("%(pid)s: dose of day %(day)s not recorded") % {"pid": pid, "day": day},
                _("Record today's nebulization, or that it was not given and why."),
                f"/dosing/{pid}/new/?day={day}",
                coordinators,
            )
    return sent
