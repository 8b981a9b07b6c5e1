"""Consistency rules of adverse events, follow-ups and safety reports (PROTOCOL.md section 6).

Each rule is a plain function over the values of one record (see crf/rules.py). The forms run
them for the message at the field; the services run them as the invariant on create and on edit.

Context values the rules read besides the record's own fields:
- `first_dose_date`: the participant's actual first dose (an AE starts on or after it);
- `worst_grade`: the worst grade of the event so far, follow-ups included (equal to `grade` for a
  new report), since a later change of grade is a follow-up and never an edit of `grade`;
- `onset_date` of the adverse event, for a follow-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.rules import refuse
from safety.models import SERIOUS_CRITERIA, Outcome, ReportKind

CRITERIA = tuple(name for name, _label in SERIOUS_CRITERIA)
ENDED = (Outcome.RECOVERED, Outcome.SEQUELAE, Outcome.FATAL)

Data = Mapping[str, Any]


def grade_defined(data: Data, field: str = "grade") -> None:
    """The grade is one the CTCAE term defines."""
    term, grade = data.get("term"), data.get("grade")
    if term and grade and grade not in term.grades:
        refuse(
            field,
            _("%(term)s has grades %(grades)s only.")
            % {"term": term.term, "grades": ", ".join(map(str, term.grades))},
            "grade_not_defined",
        )


def other_specify_named(data: Data) -> None:
    """An 'Other, specify' term names the event."""
    term = data.get("term")
    if term and term.is_other_specify and not (data.get("other_specify") or "").strip():
        refuse("other_specify", _("Name the event."), "required")


def onset_not_in_future(data: Data) -> None:
    onset = data.get("onset_date")
    if onset and onset > timezone.localdate():
        refuse("onset_date", _("This date is in the future."), "future")


def onset_after_first_dose(data: Data) -> None:
    """Onset before the first dose is medical history, not an adverse event."""
    onset, first = data.get("onset_date"), data.get("first_dose_date")
    if onset and onset <= timezone.localdate() and (first is None or onset < first):
        refuse(
            "onset_date",
            _("Onset before the first dose (%(date)s) is medical history, not an adverse event.")
            % {"date": first or _("not given yet")},
            "before_first_dose",
        )


def end_after_onset(data: Data) -> None:
    end, onset = data.get("end_date"), data.get("onset_date")
    if end and onset and end < onset:
        refuse("end_date", _("The end cannot precede the onset."), "order")


def end_not_in_future(data: Data) -> None:
    end = data.get("end_date")
    if end and end > timezone.localdate():
        refuse("end_date", _("This date is in the future."), "future")


def ongoing_has_no_end(data: Data) -> None:
    if data.get("ongoing") and data.get("end_date"):
        refuse("end_date", _("An ongoing event has no end date."), "ongoing")


def ended_has_end(data: Data) -> None:
    if data.get("ongoing") is False and not data.get("end_date"):
        refuse("end_date", _("Give the end date, or answer that it is ongoing."), "required")


def outcome_ends_event(data: Data) -> None:
    if data.get("outcome") in ENDED and data.get("ongoing"):
        refuse("ongoing", _("This outcome means the event has ended."), "outcome")


def awareness_not_in_future(data: Data) -> None:
    aware = data.get("awareness_at")
    if aware and aware > timezone.now():
        refuse("awareness_at", _("This time is in the future."), "future")


def awareness_after_onset(data: Data) -> None:
    """The site learns of an event on or after its onset (so never in 1800)."""
    aware, onset = data.get("awareness_at"), data.get("onset_date")
    if aware and onset and timezone.localdate(aware) < onset:
        refuse(
            "awareness_at",
            _("The site cannot learn of the event before its onset (%(date)s).") % {"date": onset},
            "before_onset",
        )


def serious_has_criterion(data: Data) -> None:
    """Serious exactly when at least one ICH E2A criterion is Yes (also a DB constraint)."""
    if data.get("serious") and not any(data.get(name) for name in CRITERIA):
        refuse(
            "serious",
            _("A serious event meets at least one criterion: answer Yes to it."),
            "serious_without_criterion",
        )


def criterion_is_serious(data: Data) -> None:
    if data.get("serious") is False and any(data.get(name) for name in CRITERIA):
        refuse(
            "serious", _("A criterion is Yes, so the event is serious."), "criterion_not_serious"
        )


def grade5_is_fatal(data: Data) -> None:
    """Grade 5 is death: the outcome is fatal."""
    if data.get("worst_grade") == 5 and data.get("outcome") != Outcome.FATAL:
        refuse("outcome", _("Grade 5 means death: the outcome is fatal."), "grade5_not_fatal")


def fatal_is_grade5(data: Data) -> None:
    """A fatal outcome is grade 5: on a report already made, a grade 5 follow-up records it."""
    if data.get("outcome") == Outcome.FATAL and data.get("worst_grade") != 5:
        refuse("grade", _("A fatal outcome is grade 5."), "fatal_not_grade5")


def fatal_results_in_death(data: Data) -> None:
    if data.get("outcome") == Outcome.FATAL and not data.get("sae_death"):
        refuse("sae_death", _("A fatal event results in death."), "fatal_not_death")


def fatal_has_death_date(data: Data) -> None:
    """A fatal outcome has its date of death (also a DB constraint)."""
    if data.get("outcome") == Outcome.FATAL and not data.get("death_date"):
        refuse("death_date", _("Give the date of death."), "required")


def death_after_onset(data: Data) -> None:
    death, onset = data.get("death_date"), data.get("onset_date")
    if death and onset and death < onset:
        refuse("death_date", _("Death cannot precede the onset."), "order")


ADVERSE_EVENT_RULES = (
    grade_defined,
    other_specify_named,
    onset_not_in_future,
    onset_after_first_dose,
    end_after_onset,
    end_not_in_future,
    ongoing_has_no_end,
    ended_has_end,
    outcome_ends_event,
    awareness_not_in_future,
    awareness_after_onset,
    serious_has_criterion,
    criterion_is_serious,
    grade5_is_fatal,
    fatal_is_grade5,
    fatal_results_in_death,
    fatal_has_death_date,
    death_after_onset,
)

# The fields of an adverse event the rules read (besides the context values above).
ADVERSE_EVENT_FIELDS = (
    "term",
    "grade",
    "other_specify",
    "onset_date",
    "end_date",
    "ongoing",
    "outcome",
    "awareness_at",
    "serious",
    *CRITERIA,
    "death_date",
)


def follow_up_not_in_future(data: Data) -> None:
    on = data.get("on_date")
    if on and on > timezone.localdate():
        refuse("on_date", _("This date is in the future."), "future")


def follow_up_after_onset(data: Data) -> None:
    on, onset = data.get("on_date"), data.get("onset_date")
    if on and onset and on < onset:
        refuse("on_date", _("A follow-up cannot precede the onset."), "before_onset")


FOLLOW_UP_RULES = (grade_defined, follow_up_not_in_future, follow_up_after_onset)


def follow_up_report_linked(data: Data) -> None:
    """A follow-up report is linked to the report it follows (also a DB constraint)."""
    if data.get("kind") == ReportKind.FOLLOW_UP and not data.get("follows"):
        refuse("follows", _("Link the follow-up to the report it follows."), "required")


def report_not_in_future(data: Data) -> None:
    sent = data.get("sent_at")
    if sent and sent > timezone.now():
        refuse("sent_at", _("This time is in the future."), "future")


def report_after_awareness(data: Data) -> None:
    """A report is sent once the site knows of the event: never before its awareness."""
    sent, aware = data.get("sent_at"), data.get("awareness_at")
    if sent and aware and sent < aware.replace(second=0, microsecond=0):
        refuse(
            "sent_at",
            _("A report cannot precede the site's awareness of the event (%(time)s).")
            % {"time": timezone.localtime(aware).strftime("%Y-%m-%d %H:%M")},
            "before_awareness",
        )


def follow_up_after_followed(data: Data) -> None:
    """A follow-up report is sent after the report it follows."""
    sent, follows = data.get("sent_at"), data.get("follows")
    if sent and follows is not None and follows.sent_at and sent < follows.sent_at:
        refuse(
            "sent_at",
            _("A follow-up cannot precede the report it follows (sent %(time)s).")
            % {"time": timezone.localtime(follows.sent_at).strftime("%Y-%m-%d %H:%M")},
            "before_followed",
        )


# Context value: `awareness_at` of the adverse event the report is about.
SAFETY_REPORT_RULES = (
    follow_up_report_linked,
    report_not_in_future,
    report_after_awareness,
    follow_up_after_followed,
)


def adverse_event_values(data: Data, *, ae, first_dose_date) -> dict[str, Any]:
    """The values the adverse-event rules read: the record's, its first dose, its worst grade."""
    worst = ae.worst_grade if ae.pk else data.get("grade")
    return {**data, "first_dose_date": first_dose_date, "worst_grade": worst}
