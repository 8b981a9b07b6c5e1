from django import template

register = template.Library()


@register.filter
def item_state(item, today):
    """Return the schedule item's state code and label for the given day."""
    state = item.state(today)
    return {"code": state.value, "label": item.state_label(today)}
