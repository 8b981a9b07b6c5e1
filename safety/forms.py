"""Adverse-event forms: they validate and normalise only (PROTOCOL.md section 6)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Field, Fieldset, Layout
from django import forms
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crf.forms import ClinicalRecordForm, DateInput, DateTimeInput
from crf.rules import add_rule_errors
from safety import rules
from safety.models import (
    AdverseEvent,
    AeFollowUp,
    CtcaeTerm,
    Outcome,
    SafetyReport,
    StoppingRuleAlert,
)

CRITERIA = rules.CRITERIA
RULES = rules.ADVERSE_EVENT_RULES


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
            # A posted value that is no term's id is the term field's own error, not a 500.
            try:
                return CtcaeTerm.objects.filter(pk=int(term_id)).first()
            except (TypeError, ValueError, OverflowError):
                return None
        return self.instance.term if self.instance.term_id else None

    def clean(self):
        data = super().clean()
        if data.get("grade") is None and self.instance.pk:
            data["grade"] = self.instance.grade
        values = rules.adverse_event_values(
            data, ae=self.instance, first_dose_date=self.participant.first_dose_date
        )
        add_rule_errors(self, values, RULES)
        if data.get("outcome") != Outcome.FATAL:
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

    def clean(self):
        data = super().clean()
        ae = self.adverse_event
        add_rule_errors(
            self, {**data, "term": ae.term, "onset_date": ae.onset_date}, rules.FOLLOW_UP_RULES
        )
        return data


class SafetyReportForm(ClinicalRecordForm):
    class Meta:
        model = SafetyReport
        fields = ["kind", "sent_at", "sent_to", "follows", "notes"]
        widgets = {"sent_at": DateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, adverse_event: AdverseEvent, **kwargs):
        super().__init__(*args, **kwargs)
        self.adverse_event = adverse_event
        self.fields["follows"].queryset = SafetyReport.objects.filter(
            adverse_event=adverse_event, retired_at__isnull=True
        )
        self.fields["follows"].help_text = _("For a follow-up report: the report it follows.")

    def clean(self):
        data = super().clean()
        add_rule_errors(
            self,
            {**data, "awareness_at": self.adverse_event.awareness_at},
            rules.SAFETY_REPORT_RULES,
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
