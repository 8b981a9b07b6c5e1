"""Writes on accounts that are more than a form save: each one audited, with the actor."""

from __future__ import annotations

import logging

import pghistory
from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import can
from accounts.roles import Perm

logger = logging.getLogger("trialportal.auth")


@transaction.atomic
def user_mfa_reset(*, user, actor, reason: str) -> int:
    """Remove all of the user's authenticators (a lost phone); return how many were removed.

    A user whose role requires a second factor enrols again at the next sign-in. The removal is
    in the audit trail (AuthenticatorEvent "mfa.removed") with the administrator and the reason.
    """
    if not can(actor, Perm.MANAGE_USERS):
        raise PermissionDenied
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Give the reason for the reset.")}, code="reason_required"
        )
    with pghistory.context(
        user=actor.pk,
        username=actor.get_username(),
        role=",".join(actor.roles),
        reason=reason,
        action="mfa.reset",
    ):
        removed, _by_model = Authenticator.objects.filter(user=user).delete()
    logger.warning("mfa reset user=%s by=%s", user.pk, actor.pk)
    return removed
