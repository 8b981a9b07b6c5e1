import pghistory
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import Perm, Role


class User(AbstractUser):
    """A person with a personal account; accounts are never shared (21 CFR 11.100)."""

    display_name = models.CharField(
        _("printed name"),
        max_length=150,
        blank=True,
        help_text=_("Full name as printed beside signatures and in the audit trail."),
    )

    is_principal_investigator = models.BooleanField(
        _("principal investigator"),
        default=False,
        help_text=_("Receives escalations: overdue SAE reports and stopping rules."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = list(Perm.choices)

    def __str__(self) -> str:
        return self.printed_name

    @property
    def printed_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def roles(self) -> list[str]:
        """Return the user's study roles, in the order of Role."""
        return self.study_grants()[0]

    def study_grants(self) -> tuple[list[str], frozenset[str]]:
        """The user's study roles and the study permissions they grant: one query, once per
        user object (the access helper and every role display read it)."""
        if not hasattr(self, "_grants_cache"):
            rows = self.groups.values_list(
                "name", "permissions__codename", "permissions__content_type__app_label"
            )
            names = {name for name, _codename, _app in rows}
            perms = frozenset(code for _name, code, app in rows if code and app == "accounts")
            self._grants_cache = ([role.value for role in Role if role.value in names], perms)
        return self._grants_cache

    @property
    def role_labels(self) -> list[str]:
        return [Role(role).label for role in self.roles]


# Account and role changes are part of the audit trail (ICH E6(R3) 4.2.2): who granted or revoked
# which role, who deactivated an account, and when. The password hash and the last-login time stay
# out of it (sign-ins are logged by the lockout ledger).
pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["password", "last_login"],
    model_name="UserEvent",
)(User)


@pghistory.track(
    pghistory.InsertEvent("role.granted"),
    pghistory.DeleteEvent("role.revoked"),
    obj_field=None,
    model_name="UserRoleEvent",
)
class UserRole(User.groups.through):
    """A user's membership of a role group; a proxy, so the audit triggers reach the M2M table."""

    class Meta:
        proxy = True


# Second-factor enrolments and removals are part of the audit trail too: an administrator's reset
# carries its reason in the event's context (accounts.services.user_mfa_reset). The secret and the
# recovery codes stay out of it.
@pghistory.track(
    pghistory.InsertEvent("mfa.enrolled"),
    pghistory.DeleteEvent("mfa.removed"),
    exclude=["data", "last_used_at"],
    obj_field=None,
    model_name="AuthenticatorEvent",
)
class TrackedAuthenticator(Authenticator):
    """allauth's Authenticator; a proxy, so the audit triggers reach its table."""

    class Meta:
        proxy = True
        verbose_name = _("authenticator")
        verbose_name_plural = _("authenticators")
