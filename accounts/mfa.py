"""Multi-factor authentication: which roles must use it, and how allauth.mfa fits the portal.

allauth.mfa provides the authenticator app (TOTP), the recovery codes and the code step of the
sign-in. The portal adds: the roles that must enrol (settings.MFA_REQUIRED_ROLES, enforced by
accounts.middleware.MFARequiredMiddleware), wrong codes counted by the same lockout as wrong
passwords, and no self-service removal for a role that must keep an authenticator (an
administrator resets it, with a reason: accounts.services.user_mfa_reset).
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.base.forms import AuthenticateForm as BaseAuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm as BaseActivateTOTPForm
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Authenticators that are a second factor by themselves; recovery codes only stand in for one.
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def mfa_required(user) -> bool:
    """Whether one of the user's roles must sign in with a second factor."""
    return bool(set(user.roles) & set(settings.MFA_REQUIRED_ROLES))


def has_second_factor(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()


def mfa_satisfied(user) -> bool:
    """Whether the user may use the portal: enrolled, or in no role that requires it."""
    return not mfa_required(user) or has_second_factor(user)


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": _(
            "This code is not correct. Enter the code the app shows now (it changes every 30 "
            "seconds), or an unused recovery code."
        ),
        "cannot_delete_authenticator": _(
            "Your role requires two-factor authentication: it cannot be turned off."
        ),
    }

    def get_totp_label(self, user) -> str:
        # The username, not the e-mail: it is what the person types at sign-in.
        return user.get_username()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """A role that requires a second factor cannot remove its own: an administrator resets."""
        if authenticator.type in SECOND_FACTORS and mfa_required(authenticator.user):
            remaining = Authenticator.objects.filter(
                user_id=authenticator.user_id, type__in=SECOND_FACTORS
            ).exclude(pk=authenticator.pk)
            return remaining.exists()
        return True


def _code_field(field, label) -> None:
    # App codes are 6 digits and recovery codes 8: a phone's number pad suits both.
    field.label = label
    field.widget.attrs.update(
        {"placeholder": "123456", "inputmode": "numeric", "autocomplete": "one-time-code"}
    )


class ActivateTOTPForm(BaseActivateTOTPForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self.fields["code"], _("Code from the app"))

    @property
    def secret_groups(self) -> str:
        """The key in groups of four, as authenticator apps accept it typed."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


class AuthenticateForm(BaseAuthenticateForm):
    """The code step of the sign-in; a wrong code counts towards the lockout like a wrong password.

    allauth's own failure limit is off (ACCOUNT_RATE_LIMITS): without this, the six digits could
    be guessed without limit once the password is known.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self.fields["code"], _("Code from the app, or a recovery code"))

    def clean_code(self) -> str:
        from allauth.core import context

        request = context.request
        credentials = {"username": self.user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            # AxesMiddleware answers with the lockout page.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            raise ValidationError(_("Sign-in is locked."), code="locked")
        try:
            return super().clean_code()
        except ValidationError:
            user_login_failed.send(
                sender=__name__, credentials=credentials, request=request, factor="mfa"
            )
            raise
