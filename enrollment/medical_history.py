"""Consistency rules of a medical-history entry, written once for the form and the service."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crf import partial_dates


def history_errors(
    *,
    start_date: str,
    ongoing: bool | None,
    end_date: str,
    first_dose: dt.date,
    born: dt.date,
    today: dt.date,
) -> dict[str, ValidationError]:
    """Return the broken rules by field: dates known, in order, after birth and before the first
    dose. A partial date passes when any day it may stand for does."""
    errors: dict[str, ValidationError] = {}
    if start_date:
        earliest, latest = partial_dates.bounds(start_date)
        if earliest > today:
            errors["start_date"] = ValidationError(_("This date is in the future."), code="future")
        elif latest < born:
            errors["start_date"] = ValidationError(
                _("This date is before the participant's birth (%(date)s).")
                % {"date": born.isoformat()},
                code="before_birth",
            )
        elif earliest >= first_dose:
            errors["start_date"] = ValidationError(
                _(
                    "A condition that began on or after the first dose (%(date)s) is an adverse "
                    "event: report it on the adverse-event form."
                )
                % {"date": first_dose.isoformat()},
                code="after_first_dose",
            )
    if ongoing is True and end_date:
        errors["end_date"] = ValidationError(
            _("An ongoing condition has no end date: leave it empty or answer No."),
            code="ongoing_with_end",
        )
    elif ongoing is False and not end_date:
        errors["end_date"] = ValidationError(
            _("Give the end date of a condition that is no longer present."),
            code="end_required",
        )
    elif end_date:
        if partial_dates.bounds(end_date)[0] > today:
            errors["end_date"] = ValidationError(_("This date is in the future."), code="future")
        elif start_date and not partial_dates.is_before(start_date, end_date):
            errors["end_date"] = ValidationError(
                _("The end cannot precede the start."), code="order"
            )
    return errors
