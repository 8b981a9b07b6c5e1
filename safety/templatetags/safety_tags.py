from django import template

register = template.Library()


@register.filter
def dictkey(mapping, key):
    """Look a key up in a dict (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None
