"""Session policy: the absolute session lifetime, and two-factor enrolment for the roles that
require it.

A session ends 12 hours after login however active it is. The idle timeout (30 minutes) is the
session's age (SESSION_COOKIE_AGE), renewed by activity: a request renews it when the last renewal
is more than SESSION_TOUCH_INTERVAL old, so a busy session is not rewritten on every request and
an idle one ends between SESSION_COOKIE_AGE - SESSION_TOUCH_INTERVAL and SESSION_COOKIE_AGE after
its last request.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

SESSION_LOGIN_AT = "trialportal_login_at"
# When the session's expiry was last renewed (Unix time).
SESSION_TOUCHED_AT = "trialportal_touched_at"


class SessionLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get(SESSION_LOGIN_AT)
            now = timezone.now().timestamp()
            if started is None:
                request.session[SESSION_LOGIN_AT] = now
            elif now - started > settings.SESSION_ABSOLUTE_LIMIT.total_seconds():
                logout(request)
                messages.info(
                    request, _("Your session reached its 12-hour limit. Please sign in again.")
                )
                return redirect(settings.LOGIN_URL)
            touched = request.session.get(SESSION_TOUCHED_AT, 0)
            if now - touched >= settings.SESSION_TOUCH_INTERVAL:
                # A change makes the session middleware save the session with a new expiry.
                request.session[SESSION_TOUCHED_AT] = now
        return self.get_response(request)


# The session remembers, per setting of the required roles, that the user passed the check: a
# signed-in page then costs no query. Set at sign-in (accounts.signals) and refreshed here when
# the setting changes.
SESSION_MFA_OK = "trialportal_mfa_ok"
# What a user who must enrol may still reach: the enrolment (and the re-entry of the password
# it may ask for), the recovery codes it shows, the language switch and signing out.
MFA_ENROLMENT_URLS = {
    "mfa_activate_totp",
    "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
    "account_reauthenticate",
    "account_logout",
    "set_language",
}


def remember_mfa_check(request, user) -> bool:
    """Check the user against the required roles and remember a pass in the session."""
    from accounts.mfa import mfa_satisfied

    ok = mfa_satisfied(user)
    if ok:
        request.session[SESSION_MFA_OK] = sorted(settings.MFA_REQUIRED_ROLES)
    else:
        request.session.pop(SESSION_MFA_OK, None)
    return ok


class MFARequiredMiddleware:
    """Send a signed-in user whose role requires two-factor authentication, and who has no
    authenticator yet, to the enrolment page; nothing else opens until they enrol."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and request.session.get(SESSION_MFA_OK) != sorted(settings.MFA_REQUIRED_ROLES)
            and not remember_mfa_check(request, user)
        ):
            request.mfa_enrolment_required = True
            if _url_name(request.path_info) not in MFA_ENROLMENT_URLS:
                target = reverse("mfa_activate_totp")
                if request.headers.get("HX-Request"):
                    return HttpResponse(headers={"HX-Redirect": target})
                return redirect(target)
        return self.get_response(request)


def _url_name(path: str) -> str | None:
    try:
        return resolve(path).url_name
    except Resolver404:
        return None
