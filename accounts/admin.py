from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.access import can
from accounts.models import User
from accounts.roles import Perm


class AdminSite(admin.AdminSite):
    """The account-management site: only the administrator role gets in."""

    site_header = _("trialportal account management")
    site_title = _("trialportal accounts")

    def has_permission(self, request) -> bool:
        return request.user.is_active and can(request.user, Perm.MANAGE_USERS)

    def login(self, request, extra_context=None):
        # One sign-in page for everyone, with its lockout: never the admin's own login form.
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next") or reverse("admin:index"), reverse("account_login")
        )


site = AdminSite(name="admin")


@admin.register(User, site=site)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "groups", "is_principal_investigator")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "display_name", "email", "is_active", "last_login")
    list_filter = ("is_active", "groups")
    readonly_fields = ("last_login", "date_joined")

    def _allowed(self, request) -> bool:
        return can(request.user, Perm.MANAGE_USERS)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        # People leave by deactivation: their name must stay on what they entered and signed.
        return False

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)
