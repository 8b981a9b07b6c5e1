"""Partial dates, as ISO 8601 text: YYYY-MM-DD, or YYYY-MM / YYYY when the day or month is unknown.

Medical history often knows only the year or the month a condition began; CDISC stores such dates
as truncated ISO 8601 (MHSTDTC "2019-05"), and ODM 1.3.2 has the `partialDate` type for them. As
text they sort and compare in time order, and a date is consistent with another when it is not
earlier than the other cut to its own precision.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

# Accepts 2019, 2019-5, 2019/05/03 or 2019.5.3; stored zero-padded with hyphens.
_PATTERN = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")
MAX_LENGTH = 10


def _invalid() -> ValidationError:
    return ValidationError(
        _("This is not a date: write YYYY-MM-DD, YYYY-MM or YYYY."),
        code="partial_date",
    )


def normalise(text: str) -> str:
    """Return the ISO form of a full or partial date, or raise ValidationError."""
    match = _PATTERN.match((text or "").strip())
    if not match:
        raise _invalid()
    year, month, day = (int(part) if part else None for part in match.groups())
    if year < 1900 or (month is not None and not 1 <= month <= 12):
        raise _invalid()
    if day is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise _invalid()
    return "-".join(
        [f"{year:04d}", *([f"{month:02d}"] if month else []), *([f"{day:02d}"] if day else [])]
    )


def bounds(value: str) -> tuple[dt.date, dt.date]:
    """The first and the last day a partial date may stand for."""
    parts = [int(part) for part in value.split("-")]
    year = parts[0]
    month_first, month_last = (parts[1], parts[1]) if len(parts) > 1 else (1, 12)
    if len(parts) > 2:
        day_first = day_last = parts[2]
    else:
        day_first, day_last = 1, calendar.monthrange(year, month_last)[1]
    return dt.date(year, month_first, day_first), dt.date(year, month_last, day_last)


def is_before(earlier: str, later: str) -> bool:
    """Whether `later` cannot be read as preceding `earlier` (equal or overlapping passes)."""
    return later >= earlier[: len(later)]


def validate_partial_date(value: str) -> None:
    if value and normalise(value) != value:
        raise _invalid()


class PartialDateFormField(forms.CharField):
    """A text box for a full or partial date; the value is normalised to ISO."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_LENGTH + 2)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("placeholder", _("YYYY-MM-DD, YYYY-MM or YYYY"))
        self.widget.attrs.setdefault("inputmode", "numeric")
        self.widget.attrs.setdefault("autocomplete", "off")

    def to_python(self, value):
        value = super().to_python(value)
        return normalise(value) if value else value


class PartialDateField(models.CharField):
    """A full or partial date stored as ISO 8601 text (sorts in time order)."""

    default_validators = [validate_partial_date]

    def __init__(self, *args, **kwargs):
        kwargs["max_length"] = MAX_LENGTH
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_length", None)
        return name, path, args, kwargs

    def formfield(self, **kwargs):
        kwargs.setdefault("form_class", PartialDateFormField)
        return super().formfield(**kwargs)
