"""Navigation that shows each role only what it may do."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.access import can
from accounts.roles import Perm

# (label, url name, permission needed or None for any signed-in user)
NAVIGATION = [
    (_("Home"), "home", None),
    (_("Users"), "admin:accounts_user_changelist", Perm.MANAGE_USERS),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        {"label": label, "url": reverse(name), "active": request.path == reverse(name)}
        for label, name, perm in NAVIGATION
        if perm is None or can(user, perm)
    ]
    return {"nav_items": items}
