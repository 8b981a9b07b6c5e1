"""A varied trial for the exports' same-output tests: the demo trial made rough."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.postgres.fields import ArrayField
from django.core.management import call_command
from django.db import DatabaseError, models, transaction
from django.db.models import Case, Value, When

from crf.partial_dates import PartialDateField
from reports import exports

TEXTS = [
    "=cmd|' /C calc'!A0",
    "-1",
    "+12",
    "-2+3",
    "@SUM(A1:A2)",
    "\tindented",
    "\rreturn",
    "-1e-3",
    ".5",
    "-",
    "-١٢",  # digits, but not ones a spreadsheet reads as a number
    "咳嗽 三天",
    "a, b and c",
    'she said "no"',
    "two\nlines",
    "two\r\nlines",
    "",
    " leading space",
    "\\.",
    "\\N",
    "'already quoted",
    "NULL",
]
DATETIMES = [
    dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 23, 59, 59, 120, tzinfo=dt.UTC),
    dt.datetime(999, 1, 2, 3, 4, 5, 600000, tzinfo=dt.UTC),
]
TIMES = [dt.time(8, 30), dt.time(23, 59, 59, 5), dt.time(0, 0, 0, 500000)]
DATES = [dt.date(2026, 2, 28), dt.date(387, 1, 1)]
DECIMALS = [Decimal("-1.5"), Decimal("0.001"), Decimal("120.0"), None]
ARRAYS = [["-1", "=x"], [], ["age", "consent"], None]


def _candidates(field: models.Field) -> list:
    if field.choices:
        codes = [code for code, _label in field.flatchoices]
        extra = ["", "bogus", "=1+1"] if isinstance(field, models.CharField) else [None]
        return codes + extra
    if isinstance(field, ArrayField):
        return ARRAYS
    if isinstance(field, PartialDateField):
        return ["2026", "2026-02", "2026-02-03", "", "-1", None]
    if isinstance(field, models.BooleanField):
        return [True, False, None]
    if isinstance(field, (models.CharField, models.TextField)):
        return [*TEXTS, None]
    if isinstance(field, models.DateTimeField):
        return [*DATETIMES, None]
    if isinstance(field, models.DateField):
        return [*DATES, None]
    if isinstance(field, models.TimeField):
        return [*TIMES, None]
    if isinstance(field, models.DecimalField):
        return DECIMALS
    return []


# Left alone: a retired record is frozen (and leaves the ODM export); status is a state machine.
SKIPPED = ("status", "retired_at")


def roughen(records: int = 12) -> None:
    """Write unusual values into every field of the first records of every form, where the
    database accepts them (a value a constraint refuses cannot be exported)."""
    for model in exports.exportable_models():
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True)[:records])
        for position, item in enumerate(exports.form_items(model)):
            candidates = _candidates(item.field)
            if item.field.primary_key or item.field.name in SKIPPED or not candidates:
                continue
            values = {pk: candidates[(i + position) % len(candidates)] for i, pk in enumerate(pks)}
            try:  # one statement for the field (fast); record by record when one value is refused
                with transaction.atomic():
                    model.objects.filter(pk__in=pks).update(
                        **{
                            item.field.attname: Case(
                                *(
                                    When(pk=pk, then=Value(v, item.field))
                                    for pk, v in values.items()
                                )
                            )
                        }
                    )
                continue
            except DatabaseError:
                pass
            for pk, value in values.items():
                try:
                    with transaction.atomic():
                        model.objects.filter(pk=pk).update(**{item.field.attname: value})
                except DatabaseError:
                    pass


@pytest.fixture
def varied_trial(settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=io.StringIO())
    roughen()
