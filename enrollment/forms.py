"""Screening, consent, enrollment and study-exit forms: they validate and normalise only."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Perm
from crf.forms import ClinicalRecordForm, DateInput, DateTimeInput, date_widgets, yes_no_widgets
from crf.rules import add_rule_errors
from enrollment import rules
from enrollment.medical_history import history_errors
from enrollment.models import (
    Consent,
    ExitKind,
    Identity,
    MedicalHistory,
    Participant,
    ProtocolDeviation,
    Screening,
    Sex,
    StudyExit,
)
from study import protocol

YES_NO_FIELDS = (
    "hrct_progression",
    "rpild_confirmed",
    "pregnant_or_breastfeeding",
    "severe_allergy",
    "active_pulmonary_infection",
    "pulmonary_embolism",
    "extracorporeal_support",
    "other_unsafe",
    "childbearing_potential",
)


def _row(*fields: str) -> Div:
    return Div(*[Div(field, css_class="col-md") for field in fields], css_class="row g-3")


class ScreeningForm(ClinicalRecordForm):
    class Meta:
        model = Screening
        fields = [
            "screening_date",
            "date_of_birth",
            "sex",
            "dm_classification",
            "mda5_assay",
            "mda5_test_date",
            "mda5_result",
            "mda5_titre",
            "mda5_value",
            "mda5_unit",
            "symptom_onset_date",
            "ild_diagnosis_date",
            "hrct_progression",
            "hrct_first_date",
            "hrct_progression_date",
            "mmrc",
            "pf_ratio_first",
            "pf_ratio_first_date",
            "pf_ratio_latest",
            "pf_ratio_latest_date",
            "fvc_pct",
            "dlco_pct",
            "rpild_confirmed",
            "pregnant_or_breastfeeding",
            "severe_allergy",
            "active_pulmonary_infection",
            "pulmonary_embolism",
            "extracorporeal_support",
            "other_unsafe",
            "other_unsafe_text",
            "childbearing_potential",
            "pregnancy_test_date",
            "pregnancy_test_result",
        ]
        widgets = {
            **date_widgets(*rules.SCREENING_DATE_FIELDS),
            **yes_no_widgets(*YES_NO_FIELDS),
            "sex": forms.RadioSelect,
            "mmrc": forms.NumberInput(attrs={"min": 0, "max": 4}),
            "other_unsafe_text": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, rpild_hint=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and not self.initial.get("screening_date"):
            self.initial["screening_date"] = timezone.localdate()
        self.fields["childbearing_potential"].help_text = _("Women only.")
        self.fields["pregnancy_test_result"].help_text = _(
            "Required for women of childbearing potential."
        )
        hint = _hint_html(rpild_hint) if self.instance.pk else ""
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(_("Screening"), _row("screening_date", "date_of_birth", "sex")),
            Fieldset(
                _("Dermatomyositis and anti-MDA5"),
                _row("dm_classification", "mda5_assay", "mda5_test_date"),
                _row("mda5_result", "mda5_titre", "mda5_value", "mda5_unit"),
            ),
            Fieldset(
                _("Rapidly progressive ILD"),
                _row("symptom_onset_date", "ild_diagnosis_date", "mmrc"),
                _row("hrct_progression", "hrct_first_date", "hrct_progression_date"),
                _row(
                    "pf_ratio_first",
                    "pf_ratio_first_date",
                    "pf_ratio_latest",
                    "pf_ratio_latest_date",
                ),
                _row("fvc_pct", "dlco_pct"),
                HTML(hint),
                "rpild_confirmed",
            ),
            Fieldset(
                _("Exclusion criteria (all must be No)"),
                _row("pregnant_or_breastfeeding", "severe_allergy"),
                _row("active_pulmonary_infection", "pulmonary_embolism"),
                _row("extracorporeal_support", "other_unsafe"),
                "other_unsafe_text",
            ),
            Fieldset(
                _("Pregnancy test"),
                _row("childbearing_potential", "pregnancy_test_date", "pregnancy_test_result"),
            ),
            *self.tail_fields,
        )

    def clean(self):
        data = super().clean()
        if data.get("sex") == Sex.MALE:
            # Not applicable to men: drop whatever was typed.
            data["childbearing_potential"] = None
            data["pregnancy_test_date"] = None
            data["pregnancy_test_result"] = ""
        add_rule_errors(self, data, rules.SCREENING_RULES)
        return data


def _hint_html(hint: bool | None) -> str:
    from django.utils.html import format_html

    if hint is None:
        text, css = _("Computed hint: not enough dates to tell."), "secondary"
    elif hint:
        text, css = (
            _("Computed hint: radiological worsening within %(days)s days of symptom onset.")
            % {"days": protocol.RPILD_HINT_WINDOW_DAYS},
            "info",
        )
    else:
        text, css = (
            _("Computed hint: no radiological worsening within %(days)s days of symptom onset.")
            % {"days": protocol.RPILD_HINT_WINDOW_DAYS},
            "warning",
        )
    return format_html(
        '<div class="alert alert-{} py-2 small" data-testid="rpild-hint">{}</div>', css, text
    )


def site_staff():
    """People who may obtain consent: active users whose role enters data."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__permissions__codename=str(Perm.ENTER_DATA),
            groups__permissions__content_type__app_label="accounts",
        )
        .distinct()
        .order_by("username")
    )


class ConsentForm(ClinicalRecordForm):
    class Meta:
        model = Consent
        fields = ["form_version", "consented_at", "obtained_by"]
        widgets = {"consented_at": DateTimeInput()}

    def __init__(self, *args, screening: Screening, **kwargs):
        super().__init__(*args, **kwargs)
        self.screening = screening
        self.fields["obtained_by"].queryset = site_staff()
        self.fields["obtained_by"].label_from_instance = lambda user: user.printed_name

    def clean(self):
        data = super().clean()
        add_rule_errors(
            self, {**data, **rules.consent_context(self.screening)}, rules.CONSENT_FORM_RULES
        )
        return data


class EnrollForm(forms.Form):
    enrollment_date = forms.DateField(label=_("Enrollment date"), widget=DateInput())
    planned_first_dose = forms.DateField(
        label=_("Planned first dose"),
        widget=DateInput(),
        help_text=_(
            "Study day 1. Visit targets follow it until the actual first dose is recorded."
        ),
    )

    def __init__(self, *args, screening: Screening, **kwargs):
        super().__init__(*args, **kwargs)
        self.screening = screening
        self.fields["enrollment_date"].initial = timezone.localdate()

    def clean(self):
        data = super().clean()
        context = rules.participant_context(self.screening)
        add_rule_errors(self, {**data, **context}, rules.PARTICIPANT_RULES)
        return data


class ParticipantForm(ClinicalRecordForm):
    class Meta:
        model = Participant
        fields = ["planned_first_dose", "first_dose_date"]
        widgets = date_widgets("planned_first_dose", "first_dose_date")

    def clean(self):
        data = super().clean()
        participant: Participant = self.instance
        values = {
            **data,
            "enrollment_date": participant.enrollment_date,
            **rules.participant_context(participant.screening),
        }
        add_rule_errors(self, values, rules.PARTICIPANT_RULES)
        return data


class IdentityForm(ClinicalRecordForm):
    class Meta:
        model = Identity
        fields = ["full_name", "hospital_record_number", "phone"]


class StudyExitForm(ClinicalRecordForm):
    class Meta:
        model = StudyExit
        fields = [
            "kind",
            "exit_date",
            "decided_by",
            "reason",
            "followup_permitted",
            "last_contact_date",
            "death_cause",
        ]
        widgets = {
            **date_widgets("exit_date", "last_contact_date"),
            "kind": forms.RadioSelect,
            "followup_permitted": forms.RadioSelect(attrs={"class": "form-check-inline"}),
            "reason": forms.Textarea(attrs={"rows": 2}),
            "death_cause": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant

    def clean(self):
        data = super().clean()
        values = {**data, "enrollment_date": self.participant.enrollment_date}
        add_rule_errors(self, values, rules.STUDY_EXIT_RULES)
        kind = data.get("kind")
        if kind != ExitKind.WITHDRAWN:
            data["decided_by"] = ""
            data["followup_permitted"] = None
        if kind != ExitKind.DIED:
            data["death_cause"] = ""
        return data


class DeviationForm(ClinicalRecordForm):
    class Meta:
        model = ProtocolDeviation
        fields = ["category", "severity", "occurred_on", "description", "action"]
        widgets = {
            "occurred_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "action": forms.Textarea(attrs={"rows": 2}),
        }

    def clean_occurred_on(self):
        value = self.cleaned_data["occurred_on"]
        if value > timezone.localdate():
            raise ValidationError(_("This date is in the future."), code="future")
        return value


class MedicalHistoryForm(ClinicalRecordForm):
    """One condition present before the first dose; the participant is set by the view."""

    class Meta:
        model = MedicalHistory
        fields = ["term", "meddra_code", "start_date", "ongoing", "end_date"]
        widgets = {"ongoing": forms.RadioSelect(attrs={"class": "form-check-inline"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            _row("term", "meddra_code"),
            _row("start_date", "ongoing", "end_date"),
            *self.tail_fields,
        )

    def clean(self):
        data = super().clean()
        errors = history_errors(
            start_date=data.get("start_date") or "",
            ongoing=data.get("ongoing"),
            end_date=data.get("end_date") or "",
            first_dose=self.instance.participant.anchor,
            born=self.instance.participant.screening.date_of_birth,
            today=timezone.localdate(),
        )
        for name, error in errors.items():
            if name not in self.errors:
                self.add_error(name, error)
        return data
