"""Absolute session lifetime: a session ends 12 hours after login however active it is.

The idle timeout (30 minutes) is the session cookie age renewed on every request (settings).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

SESSION_LOGIN_AT = "trialportal_login_at"


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
        return self.get_response(request)
