"""Links of paginated, sortable lists that keep the rest of the query string."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters set (or removed when given None or '')."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return f"?{query.urlencode()}"


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> str:
    """A column header that sorts by `key`, and by `-key` when already sorted by it."""
    current = context.get("sort", "")
    descending = current == f"-{key}"
    ascending = current == key
    link = query_with(context, sort=key if not ascending else f"-{key}", page=None)
    arrow = "▲" if ascending else "▼" if descending else ""
    return format_html(
        '<a class="text-decoration-none text-nowrap" href="{}" data-sort="{}"{}>{}'
        '<span aria-hidden="true"> {}</span></a>',
        link,
        key,
        format_html(' aria-current="true"') if ascending or descending else "",
        label,
        arrow,
    )
