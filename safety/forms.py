"""Adverse-event forms: they validate and normalise only (PROTOCOL.md section 6)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crf.forms import ClinicalRecordForm, DateInput, DateTimeInput
from safety.models import (
    SERIOUS_CRITERIA,
    AdverseEvent,
    AeFollowUp,
    CtcaeTerm,
    Outcome,
    ReportKind,
    SafetyReport,
    StoppingRuleAlert,
)

CRITERIA = tuple(name for name, _label in SERIOUS_CRITERIA)
ENDED = (Outcome.RECOVERED, Outcome.SEQUELAE, Outcome.FATAL)


def term_choices(terms=None) -> list:
    """CTCAE terms grouped by system organ class, for a select."""
    groups: dict[str, list] = {}
    for term in terms if terms is not None else CtcaeTerm.objects.only("pk", "soc", "term"):
        groups.setdefault(term.soc, []).append((term.pk, term.term))
    return [("", "---------"), *groups.items()]


def grade_choices(term: CtcaeTerm | None) -> list[tuple[int, str]]:
    """The grades the term defines, each with its CTCAE description."""
    if term is None:
        return [(grade, str(grade)) for grade in range(1, 6)]
    return [
        (
            grade,
            format_html(
                "<strong>{}</strong> {}", _("Grade %(n)s") % {"n": grade}, term.grade_text(grade)
            ),
        )
        for grade in term.grades
    ]


def _row(*names) -> Div:
    return Div(*[Div(name, css_class="col-sm") for name in names], css_class="row g-2")


class AdverseEventForm(ClinicalRecordForm):
    class Meta:
        model = AdverseEvent
        fields = [
            "verbatim_term",
            "term",
            "other_specify",
            "onset_date",
            "onset_time",
            "ongoing",
            "end_date",
            "grade",
            "serious",
            *CRITERIA,
            "death_date",
            "action_taken",
            "outcome",
            "treatment",
            "awareness_at",
        ]
        widgets = {
            "onset_date": DateInput(),
            "end_date": DateInput(),
            "death_date": DateInput(),
            "onset_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "awareness_at": DateTimeInput(),
            "ongoing": forms.RadioSelect(attrs={"class": "form-check-inline"}),
            "serious": forms.RadioSelect(attrs={"class": "form-check-inline"}),
            "grade": forms.RadioSelect,
            "treatment": forms.Textarea(attrs={"rows": 2}),
            **{name: forms.RadioSelect(attrs={"class": "form-check-inline"}) for name in CRITERIA},
        }

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["term"].choices = term_choices()
        self.fields["term"].widget.attrs.update(
            {
                "hx-get": "/safety/terms/grades/",
                "hx-target": "#grade-choices",
                "hx-include": "[name=grade]",
            }
        )
        self.fields["grade"] = forms.TypedChoiceField(
            label=_("CTCAE grade"),
            coerce=int,
            widget=forms.RadioSelect,
            choices=grade_choices(self._chosen_term()),
            help_text=_("Only the grades the chosen term defines."),
        )
        if self.instance.pk:
            # A later change of grade is a dated follow-up, never an overwrite of the first report.
            self.fields["grade"].disabled = True
            self.fields["grade"].help_text = _("Record a change of grade as a follow-up.")
        else:
            if not self.initial.get("awareness_at"):
                self.initial["awareness_at"] = timezone.localtime().replace(second=0, microsecond=0)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                _("The event"),
                "verbatim_term",
                HTML(
                    format_html(
                        '<div class="mb-2"><label class="form-label" for="term-search">{}</label>'
                        '<input type="search" id="term-search" name="q" class="form-control" '
                        'placeholder="{}" autocomplete="off" hx-get="/safety/terms/" '
                        'hx-trigger="input changed delay:250ms" hx-target="#id_term"></div>',
                        _("Search CTCAE terms"),
                        _("e.g. cough, rash, hypoxia"),
                    )
                ),
                _row("term", "other_specify"),
                _row("onset_date", "onset_time", "awareness_at"),
                _row("ongoing", "end_date"),
                Div(Field("grade"), css_id="grade-choices"),
            ),
            Fieldset(
                _("Seriousness (ICH E2A)"),
                "serious",
                _row(*CRITERIA[:3]),
                _row(*CRITERIA[3:]),
                "death_date",
            ),
            Fieldset(_("Action and outcome"), _row("action_taken", "outcome"), "treatment"),
            *self.tail_fields,
        )

    def _chosen_term(self) -> CtcaeTerm | None:
        term_id = self.data.get(self.add_prefix("term")) if self.is_bound else None
        if term_id:
            return CtcaeTerm.objects.filter(pk=term_id).first()
        return self.instance.term if self.instance.term_id else None

    def clean(self):
        data = super().clean()
        term, grade, outcome = data.get("term"), data.get("grade"), data.get("outcome")
        today = timezone.localdate()
        if grade is None and self.instance.pk:
            grade = data["grade"] = self.instance.grade
        if term and grade and grade not in term.grades:
            self.add_error(
                "grade",
                ValidationError(
                    _("%(term)s has grades %(grades)s only.")
                    % {"term": term.term, "grades": ", ".join(map(str, term.grades))},
                    code="grade_not_defined",
                ),
            )
        if term and term.is_other_specify and not data.get("other_specify", "").strip():
            self.add_error("other_specify", ValidationError(_("Name the event."), code="required"))
        onset, end = data.get("onset_date"), data.get("end_date")
        first = self.participant.first_dose_date
        if onset and onset > today:
            self.add_error(
                "onset_date", ValidationError(_("This date is in the future."), code="future")
            )
        elif onset and (first is None or onset < first):
            self.add_error(
                "onset_date",
                ValidationError(
                    _(
                        "Onset before the first dose (%(date)s) is medical history, not an "
                        "adverse event."
                    )
                    % {"date": first or _("not given yet")},
                    code="before_first_dose",
                ),
            )
        if end and onset and end < onset:
            self.add_error(
                "end_date", ValidationError(_("The end cannot precede the onset."), code="order")
            )
        if end and end > today:
            self.add_error(
                "end_date", ValidationError(_("This date is in the future."), code="future")
            )
        ongoing = data.get("ongoing")
        if ongoing and end:
            self.add_error(
                "end_date", ValidationError(_("An ongoing event has no end date."), code="ongoing")
            )
        if ongoing is False and not end:
            self.add_error(
                "end_date",
                ValidationError(
                    _("Give the end date, or answer that it is ongoing."), code="required"
                ),
            )
        if outcome in ENDED and ongoing:
            self.add_error(
                "ongoing",
                ValidationError(_("This outcome means the event has ended."), code="outcome"),
            )
        aware = data.get("awareness_at")
        if aware and aware > timezone.now():
            self.add_error(
                "awareness_at", ValidationError(_("This time is in the future."), code="future")
            )
        # Serious exactly when at least one criterion is Yes.
        criteria = [name for name in CRITERIA if data.get(name)]
        if data.get("serious") and not criteria:
            self.add_error(
                "serious",
                ValidationError(
                    _("A serious event meets at least one criterion: answer Yes to it."),
                    code="serious_without_criterion",
                ),
            )
        if data.get("serious") is False and criteria:
            self.add_error(
                "serious",
                ValidationError(
                    _("A criterion is Yes, so the event is serious."), code="criterion_not_serious"
                ),
            )
        # Grade 5 exactly when the outcome is fatal, and then a date of death.
        if grade == 5 and outcome != Outcome.FATAL:
            self.add_error(
                "outcome",
                ValidationError(
                    _("Grade 5 means death: the outcome is fatal."), code="grade5_not_fatal"
                ),
            )
        if outcome == Outcome.FATAL and grade != 5 and not self.instance.pk:
            self.add_error(
                "grade", ValidationError(_("A fatal outcome is grade 5."), code="fatal_not_grade5")
            )
        if outcome == Outcome.FATAL and not data.get("sae_death"):
            self.add_error(
                "sae_death",
                ValidationError(_("A fatal event results in death."), code="fatal_not_death"),
            )
        death = data.get("death_date")
        if outcome == Outcome.FATAL and not death:
            self.add_error(
                "death_date", ValidationError(_("Give the date of death."), code="required")
            )
        if death and onset and death < onset:
            self.add_error(
                "death_date", ValidationError(_("Death cannot precede the onset."), code="order")
            )
        if outcome != Outcome.FATAL:
            data["death_date"] = None
        return data


class AssessmentForm(ClinicalRecordForm):
    grade_confirmed = forms.BooleanField(
        label=_("I confirm the CTCAE grade"),
        help_text=_(
            "If the grade is wrong, record a follow-up with the right grade, or mark the report "
            "as entered in error and report the event again."
        ),
    )

    class Meta:
        model = AdverseEvent
        fields = ["rel_study_drug", "rel_background", "expected", "ib_version"]
        widgets = {
            "rel_study_drug": forms.RadioSelect,
            "rel_background": forms.RadioSelect,
            "expected": forms.RadioSelect(attrs={"class": "form-check-inline"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The first assessment is the investigator's own step: it needs no reason for change.
        if not self.instance.is_assessed and "reason_for_change" in self.fields:
            self.fields["reason_for_change"].required = False
        for name in ("rel_study_drug", "rel_background", "expected", "ib_version"):
            self.fields[name].required = True


class FollowUpForm(ClinicalRecordForm):
    class Meta:
        model = AeFollowUp
        fields = ["on_date", "grade", "note"]
        widgets = {"on_date": DateInput(), "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, adverse_event: AdverseEvent, **kwargs):
        super().__init__(*args, **kwargs)
        self.adverse_event = adverse_event
        self.fields["grade"] = forms.TypedChoiceField(
            label=_("New CTCAE grade"),
            coerce=int,
            widget=forms.RadioSelect,
            choices=grade_choices(adverse_event.term),
        )

    def clean_on_date(self):
        on = self.cleaned_data["on_date"]
        if on > timezone.localdate():
            raise ValidationError(_("This date is in the future."), code="future")
        if on < self.adverse_event.onset_date:
            raise ValidationError(_("A follow-up cannot precede the onset."), code="before_onset")
        return on


class SafetyReportForm(ClinicalRecordForm):
    class Meta:
        model = SafetyReport
        fields = ["kind", "sent_at", "sent_to", "follows", "notes"]
        widgets = {"sent_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, adverse_event: AdverseEvent, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["follows"].queryset = SafetyReport.objects.filter(
            adverse_event=adverse_event, retired_at__isnull=True
        )
        self.fields["follows"].help_text = _("For a follow-up report: the report it follows.")

    def clean(self):
        data = super().clean()
        if data.get("kind") == ReportKind.FOLLOW_UP and not data.get("follows"):
            self.add_error(
                "follows",
                ValidationError(_("Link the follow-up to the report it follows."), code="required"),
            )
        sent = data.get("sent_at")
        if sent and sent > timezone.now():
            self.add_error(
                "sent_at", ValidationError(_("This time is in the future."), code="future")
            )
        return data


class AcknowledgeForm(forms.ModelForm):
    class Meta:
        model = StoppingRuleAlert
        fields = ["comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 3})}
        labels = {"comment": _("Decision and comment")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"].required = True
