"""The one place that decides what a role may do. Every view asks here.

Role permissions are Django permissions granted to the role groups (data migration 0002); object
rules (e.g. a retired record cannot be edited) are `rules` predicates built on them.
"""

from __future__ import annotations

import logging

import rules
from django.core.exceptions import PermissionDenied

from accounts.roles import Perm

logger = logging.getLogger("trialportal.access")


def perm_name(perm: Perm | str) -> str:
    return f"accounts.{perm}"


def can(user, perm: Perm | str, obj=None) -> bool:
    """Return whether the user holds the study permission (and the object rules allow it)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if obj is not None:
        return user.has_perm(f"crf.{perm}_record", obj)
    return user.has_perm(perm_name(perm))


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
def has_enter_data(user) -> bool:
    return user.has_perm(perm_name(Perm.ENTER_DATA))


@rules.predicate
def has_view_data(user) -> bool:
    return user.has_perm(perm_name(Perm.VIEW_DATA))


@rules.predicate
def record_is_open(user, record) -> bool:
    """A retired (entered-in-error) or locked record takes no more changes."""
    return record is not None and record.is_editable


rules.add_perm("crf.view_data_record", has_view_data)
rules.add_perm("crf.enter_data_record", has_enter_data & record_is_open)
