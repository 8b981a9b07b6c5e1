from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Accounts are created by the administrator only."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # The enrolment a role requires comes straight after the sign-in, and nothing else opens
        # before it (accounts.middleware.MFARequiredMiddleware): asking for the password again
        # there would only puzzle. Other changes to the authenticators still ask.
        if app == "allauth.mfa" and getattr(context.request, "mfa_enrolment_required", False):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)
