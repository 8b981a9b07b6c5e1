"""Consistency rules of a dose record (PROTOCOL.md sections 4 and 9).

Plain functions over the values of one dose record (see crf/rules.py): the form runs them for the
message at the field, `dose_record` runs them as the invariant on create and on edit. Besides the
record's own fields they read `anchor`, the participant's study day 1 (the actual first dose once
given, else the planned one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.rules import refuse
from crf.schedule import date_of_study_day
from dosing.models import Given, NotGivenReason
from study import protocol

Data = Mapping[str, Any]


def study_day_in_dosing(data: Data) -> None:
    day = data.get("study_day")
    if day is not None and not 1 <= day <= protocol.DOSING_DAYS:
        refuse(
            "study_day",
            _("Dosing happens on study days 1 to %(last)s only.") % {"last": protocol.DOSING_DAYS},
            "study_day",
        )


def dose_not_in_future(data: Data) -> None:
    on = data.get("dose_date")
    if on and on > timezone.localdate():
        refuse("dose_date", _("This date is in the future."), "future")


def date_matches_study_day(data: Data) -> None:
    """Day 1 defines study day 1; every later day falls on its date unless explained."""
    day, on, anchor = data.get("study_day"), data.get("dose_date"), data.get("anchor")
    if not (day and on and anchor) or day <= 1 or (data.get("date_reason") or "").strip():
        return
    expected = date_of_study_day(anchor, day)
    if on != expected:
        refuse(
            "date_reason",
            _("Day %(day)s falls on %(date)s; give a reason for recording %(typed)s.")
            % {"day": day, "date": expected, "typed": on},
            "date_mismatch",
        )


def reason_when_not_given(data: Data) -> None:
    if data.get("given") in (Given.PARTIAL, Given.NO) and not data.get("not_given_reason"):
        refuse("not_given_reason", _("Give the reason the dose was not given in full."), "required")


def other_reason_described(data: Data) -> None:
    if (
        data.get("given") in (Given.PARTIAL, Given.NO)
        and data.get("not_given_reason") == NotGivenReason.OTHER
        and not (data.get("not_given_text") or "").strip()
    ):
        refuse("not_given_text", _("Describe the reason."), "required")


def _required_when_given(name: str):
    def rule(data: Data) -> None:
        if data.get("given") in (Given.YES, Given.PARTIAL) and data.get(name) is None:
            refuse(name, _("Required when the dose was given."), "required")

    rule.__name__ = f"{name}_when_given"
    return rule


def end_after_start(data: Data) -> None:
    start, end = data.get("start_time"), data.get("end_time")
    if start and end and end <= start:
        refuse("end_time", _("The end time must be after the start time."), "order")


def reason_for_another_dose(data: Data) -> None:
    particles = data.get("dose_particles")
    if (
        particles
        and particles != protocol.DOSE_PARTICLES_DEFAULT
        and not (data.get("dose_reason") or "").strip()
    ):
        refuse(
            "dose_reason",
            _("The protocol dose is %(dose).1e particles; give a reason for a different dose.")
            % {"dose": protocol.DOSE_PARTICLES_DEFAULT},
            "dose_reason",
        )


def _diastolic_below_systolic(when: str):
    def rule(data: Data) -> None:
        sbp, dbp = data.get(f"{when}_sbp"), data.get(f"{when}_dbp")
        if sbp and dbp and sbp <= dbp:
            refuse(f"{when}_dbp", _("Diastolic pressure must be below systolic."), "bp_order")

    rule.__name__ = f"{when}_diastolic_below_systolic"
    return rule


DOSE_RULES = (
    study_day_in_dosing,
    dose_not_in_future,
    date_matches_study_day,
    reason_when_not_given,
    other_reason_described,
    *(_required_when_given(name) for name in ("start_time", "end_time", "dose_particles")),
    end_after_start,
    reason_for_another_dose,
    _diastolic_below_systolic("pre"),
    _diastolic_below_systolic("post"),
)

DOSE_FIELDS = (
    "study_day",
    "dose_date",
    "date_reason",
    "given",
    "not_given_reason",
    "not_given_text",
    "start_time",
    "end_time",
    "dose_particles",
    "dose_reason",
    "pre_sbp",
    "pre_dbp",
    "post_sbp",
    "post_dbp",
)
