"""The sign-in policy as the pages state it, taken from the settings that enforce it."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def sign_in_policy() -> dict[str, int]:
    return {
        "limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "idle_minutes": settings.SESSION_COOKIE_AGE // 60,
    }
