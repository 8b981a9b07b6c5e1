from django import template

register = template.Library()


@register.simple_tag
def item_state(item, today, end=None):
    """Return the schedule item's state code and label for the given day."""
    state = item.state(today, end)
    return {"code": state.value, "label": item.state_label(today, end)}
