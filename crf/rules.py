"""Cross-field rules written once: plain functions over a mapping of field values.

A rule takes the values of one record (a form's cleaned data, or a model instance's fields through
`values_of`, plus the context the rule names, such as the participant's first dose) and raises
`ValidationError({field: ValidationError(message, code=...)})` through `refuse` when they are
inconsistent. A value that is missing (None, or absent because its own field is invalid) makes a
rule pass: each rule judges only what it can see. The form runs the rules in `clean()` so each
message lands at its field; the service runs the same rules as the invariant, on create and on
edit alike (DESIGN.md section 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

Rule = Callable[[Mapping[str, Any]], None]


def refuse(field: str | None, message, code: str) -> NoReturn:
    """Refuse the values with `message` at `field` (None: the record as a whole)."""
    raise ValidationError({field or NON_FIELD_ERRORS: ValidationError(message, code=code)})


def rule_errors(data: Mapping[str, Any], rules: Iterable[Rule]) -> dict[str, list]:
    """Run every rule and return the refusals by field (empty when the values are consistent)."""
    found: dict[str, list] = {}
    for rule in rules:
        try:
            rule(data)
        except ValidationError as error:
            error.update_error_dict(found)
    return found


def check_rules(data: Mapping[str, Any], rules: Iterable[Rule]) -> None:
    """Raise one ValidationError naming every rule the values break (the service's invariant)."""
    found = rule_errors(data, rules)
    if found:
        raise ValidationError(found)


def add_rule_errors(form, data: Mapping[str, Any], rules: Iterable[Rule]) -> None:
    """Put each refusal at its field of the form (or at the top when the form lacks the field)."""
    for field, errors in rule_errors(data, rules).items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


def values_of(instance, names: Iterable[str]) -> dict[str, Any]:
    """The named field values of a model instance, as a form's cleaned data would hold them."""
    return {name: getattr(instance, name) for name in names}
