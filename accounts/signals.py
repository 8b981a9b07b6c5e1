import logging

from allauth.account.internal.flows.login import record_authentication
from allauth.core import context
from allauth.mfa.models import Authenticator
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.middleware import SESSION_LOGIN_AT, SESSION_TOUCHED_AT, remember_mfa_check

logger = logging.getLogger("trialportal.auth")


@receiver(user_logged_in, dispatch_uid="accounts.session_login_at")
def remember_login_time(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        # Signing in saves the session: it starts the idle timeout too.
        now = timezone.now().timestamp()
        request.session[SESSION_LOGIN_AT] = request.session[SESSION_TOUCHED_AT] = now
    logger.info("login user=%s", user.pk)


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def log_login_failure(sender, credentials, request=None, **kwargs) -> None:
    logger.warning(
        "login failed username=%s", credentials.get("username") or credentials.get("login")
    )


@receiver(user_locked_out, dispatch_uid="accounts.locked_out")
def log_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # 21 CFR 11.300(d): attempts at misuse are detected and reported.
    logger.error("lockout username=%s ip=%s", username, ip_address)


@receiver(user_logged_in, dispatch_uid="accounts.mfa_check")
def check_mfa_at_login(sender, request, user, **kwargs) -> None:
    # Checked once per sign-in, so that the pages after it cost no query for it.
    if request is not None and hasattr(request, "session"):
        remember_mfa_check(request, user)


@receiver(post_save, sender=Authenticator, dispatch_uid="accounts.mfa_enrolled")
def count_enrolment_as_a_fresh_authentication(sender, instance, created, **kwargs) -> None:
    # The enrolment checked a code from the new app a moment ago: the recovery codes shown next
    # need no second password prompt (allauth asks for a recent re-authentication).
    request = context.request
    if (
        created
        and instance.type == Authenticator.Type.TOTP
        and request is not None
        and getattr(request, "user", None) is not None
        and request.user.pk == instance.user_id
    ):
        record_authentication(
            request, request.user, "mfa", id=instance.pk, type="totp", reauthenticated=True
        )
