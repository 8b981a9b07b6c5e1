"""Stopping-rule messages: stored as a template and parameters, read in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

AE_LABEL = gettext_noop("%(pid)s AE %(number)s (%(term)s, grade %(grade)s)")


def render(template: str, params: dict) -> str:
    """The message of a rule, in the active language: `ae` and `aes` params are AE labels."""
    values = dict(params)
    if "ae" in values:
        values["ae"] = gettext(AE_LABEL) % values["ae"]
    if "aes" in values:
        values["aes"] = "; ".join(gettext(AE_LABEL) % label for label in values["aes"])
    return gettext(template) % values
