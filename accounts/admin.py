from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.access import can
from accounts.models import User
from accounts.roles import Perm
from accounts.services import user_mfa_reset


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


class MFAResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the reset"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "For example: phone lost, identity confirmed in person. Kept in the audit trail."
        ),
    )


@admin.register(User, site=site)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (
            _("Access"),
            {"fields": ("is_active", "groups", "is_principal_investigator", "two_factor")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "display_name", "email", "is_active", "last_login")
    list_filter = ("is_active", "groups")
    readonly_fields = ("last_login", "date_joined", "two_factor")

    @admin.display(description=_("Two-factor authentication"))
    def two_factor(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "-"
        types = sorted(
            str(Authenticator.Type(kind).label)
            for kind in Authenticator.objects.filter(user=obj).values_list("type", flat=True)
        )
        if not types:
            return gettext("Not set up")
        return format_html(
            '{} <a class="button" href="{}">{}</a>',
            ", ".join(types),
            reverse("admin:accounts_user_mfa_reset", args=[obj.pk]),
            gettext("Reset two-factor authentication"),
        )

    def get_urls(self):
        return [
            path(
                "<int:user_id>/mfa-reset/",
                self.admin_site.admin_view(self.mfa_reset_view),
                name="accounts_user_mfa_reset",
            ),
            *super().get_urls(),
        ]

    def mfa_reset_view(self, request, user_id: int):
        """Remove a user's authenticators, with a reason; they enrol again at the next sign-in."""
        if not self._allowed(request):
            raise PermissionDenied
        person = get_object_or_404(User, pk=user_id)
        form = MFAResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                removed = user_mfa_reset(
                    user=person, actor=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                if removed:
                    messages.success(
                        request,
                        gettext(
                            "Two-factor authentication of %(user)s was reset: they set it up "
                            "again at their next sign-in."
                        )
                        % {"user": person.get_username()},
                    )
                else:
                    messages.info(request, gettext("There was nothing to reset."))
                return redirect("admin:accounts_user_change", person.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Reset two-factor authentication"),
            "opts": self.model._meta,
            "original": person,
            "form": form,
            "authenticators": Authenticator.objects.filter(user=person).order_by("type"),
        }
        return TemplateResponse(request, "admin/accounts/user/mfa_reset.html", context)

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
