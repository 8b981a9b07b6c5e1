from django import template

from accounts.mfa import mfa_required

register = template.Library()


@register.simple_tag
def role_requires_mfa(user) -> bool:
    """Whether one of the user's roles requires two-factor authentication."""
    return user.is_authenticated and mfa_required(user)
