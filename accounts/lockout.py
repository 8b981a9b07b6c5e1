"""How django-axes names the account a sign-in attempt is for."""

from __future__ import annotations


def attempt_username(request, credentials: dict | None = None) -> str | None:
    """Return the username of an attempt, lower-cased so 'Admin' and 'admin' share one counter.

    allauth passes credentials with the key 'username' to authenticate(), while its form posts
    the field 'login'; axes asks with either, depending on where it is called from.
    """
    if credentials:
        name = credentials.get("username") or credentials.get("login")
    else:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        name = data.get("login") or data.get("username")
    return name.strip().lower() if name else None
