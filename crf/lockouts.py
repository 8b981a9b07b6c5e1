"""A sign-in lockout is reported to the administrators, in the inbox and by e-mail.

21 CFR 11.300(d): attempts at unauthorised use are detected and reported at once to the
organisation's management. The log line (accounts.signals) stays; this adds the people.
"""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from crf.notifications import active_users, notify


@transaction.atomic
def lockout_notify(*, username: str | None, ip_address: str | None) -> int:
    """Tell every administrator of the lockout, once per lockout; return the e-mails owed."""
    attempt = (
        AccessAttempt.objects.filter(username=username, ip_address=ip_address)
        .order_by("-attempt_time")
        .first()
    )
    # A locked account's further attempts report the same lockout again: one key per lockout.
    key = f"lockout:{attempt.pk if attempt else f'{username}:{ip_address}'}"
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return notify(
        recipients=active_users(role=Role.ADMIN),
        key=key,
        kind="lockout",
        subject=_("Sign-in locked: %(username)s") % {"username": username or "?"},
        body=_(
            "Sign-in to the account %(username)s from %(ip)s was locked at %(at)s after "
            "%(failures)s failed attempts. It unlocks by itself after %(minutes)s minutes. If "
            "the attempts were not the account holder's, act on it (reset the password, tell "
            "the site)."
        )
        % {
            "username": username or "?",
            "ip": ip_address or "?",
            "at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
            "failures": attempt.failures_since_start if attempt else settings.AXES_FAILURE_LIMIT,
            "minutes": minutes,
        },
    )


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    lockout_notify(username=username, ip_address=ip_address)
