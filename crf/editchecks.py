"""Range edit checks (PROTOCOL.md section 9): hard limits reject, soft limits need a confirmation.

Declarative: a form lists `ranges = {"field": "range name"}`; the checks run on a plain dict of
cleaned values, so they can be tested without a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Range:
    soft: tuple[float, float]
    hard: tuple[float, float]
    unit: str = ""

    def describe(self, bounds: tuple[float, float]) -> str:
        low, high = bounds
        text = _("%(low)s to %(high)s") % {"low": _fmt(low), "high": _fmt(high)}
        return f"{text} {self.unit}" if self.unit else text


def _fmt(number: float) -> str:
    return f"{number:g}"


@dataclass
class RangeResult:
    hard: dict[str, ValidationError]
    soft: dict[str, ValidationError]


def check_ranges(values: dict, ranges: dict[str, Range]) -> RangeResult:
    """Return the hard and soft range violations of the given values, by field."""
    hard, soft = {}, {}
    for name, limits in ranges.items():
        value = values.get(name)
        if value is None or value == "":
            continue
        number = float(value) if isinstance(value, (int, float, Decimal)) else None
        if number is None:
            continue
        low, high = limits.hard
        if not low <= number <= high:
            hard[name] = ValidationError(
                _("Not possible: must be within %(range)s.")
                % {"range": limits.describe(limits.hard)},
                code="hard_range",
            )
            continue
        low, high = limits.soft
        if not low <= number <= high:
            soft[name] = ValidationError(
                _(
                    "Unusual value (usual range %(range)s). Check it; to keep it, tick the "
                    "confirmation below."
                )
                % {"range": limits.describe(limits.soft)},
                code="soft_range",
            )
    return RangeResult(hard=hard, soft=soft)
