"""The one place that decides what a role may do. Every view asks here.

Role permissions are the Django permissions granted to the role groups (data migration 0002).
Superuser status grants nothing here: the administrator manages people, not clinical data.
Object rules (a record entered in error takes no more changes) are `rules` predicates.
"""

from __future__ import annotations

import logging

import rules
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from accounts.roles import Perm

logger = logging.getLogger("trialportal.access")

_CACHE = "_study_perms"


def study_perms(user) -> frozenset[str]:
    """Return the codenames of the study permissions the user's roles grant (cached per user)."""
    if hasattr(user, "study_grants"):
        return user.study_grants()[1]
    if not hasattr(user, _CACHE):
        codenames = Permission.objects.filter(
            group__user=user, content_type__app_label="accounts"
        ).values_list("codename", flat=True)
        setattr(user, _CACHE, frozenset(codenames))
    return getattr(user, _CACHE)


def can(user, perm: Perm | str, obj=None) -> bool:
    """Return whether the user's roles grant the permission and the object rules allow it."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if str(perm) not in study_perms(user):
        return False
    if obj is not None and object_rules.rule_exists(str(perm)):
        return object_rules.test_rule(str(perm), user, obj)
    return True


def require(request, perm: Perm | str, obj=None) -> None:
    """Raise PermissionDenied (403) and log it unless the request's user may do this."""
    if not can(request.user, perm, obj):
        logger.warning(
            "denied user=%s perm=%s path=%s obj=%s",
            getattr(request.user, "pk", None),
            perm,
            request.path,
            f"{obj._meta.label}:{obj.pk}" if obj is not None else "-",
        )
        raise PermissionDenied


@rules.predicate
def record_is_open(user, record) -> bool:
    """A record entered in error (or, later, locked) takes no more changes."""
    return record is not None and record.is_editable


object_rules = rules.RuleSet()
object_rules.add_rule(str(Perm.ENTER_DATA), record_is_open)
