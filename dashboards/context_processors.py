"""Navigation that shows each role only what it may do: the read side knows every app's pages."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.access import can
from accounts.roles import Perm
from crf.notifications import unread_count

# (label, url name, permission needed or None for any signed-in user)
NAVIGATION = [
    (_("Home"), "home", None),
    (_("Dosing"), "dosing:today", Perm.VIEW_DATA),
    (_("Participants"), "dashboards:participant_list", Perm.VIEW_DATA),
    (_("Safety"), "safety:dashboard", Perm.VIEW_DATA),
    (_("Screening"), "enrollment:screening_list", Perm.VIEW_DATA),
    (_("Study flow"), "dashboards:consort", Perm.VIEW_DATA),
    (_("Monitoring"), "crf:sdv", Perm.VIEW_DATA),
    (_("Reports"), "reports:list", Perm.DOWNLOAD_REPORTS),
    (_("Users"), "admin:accounts_user_changelist", Perm.MANAGE_USERS),
]


def navigation(request):
    """The navigation items and the unread count, computed once per request however many
    templates the request renders."""
    cached = getattr(request, "_navigation_context", None)
    if cached is None:
        cached = request._navigation_context = _navigation(request)
    return cached


def _navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if getattr(request, "mfa_enrolment_required", False):
        # Nothing else opens before the enrolment (accounts.middleware.MFARequiredMiddleware).
        return {"nav_items": [], "mfa_enrolment_required": True}
    items = [
        {"label": label, "url": reverse(name), "active": _is_active(request.path, reverse(name))}
        for label, name, perm in NAVIGATION
        if perm is None or can(user, perm)
    ]
    return {"nav_items": items, "unread_notifications": unread_count(user)}


# Pages reached from a navigation item, which it shows as active.
SECTIONS = {"/monitoring/sdv/": ("/queries/", "/audit/", "/deviations/", "/records/")}


def _is_active(path: str, url: str) -> bool:
    if url == "/":
        return path == url
    return path.startswith(url) or path.startswith(SECTIONS.get(url, ()))
