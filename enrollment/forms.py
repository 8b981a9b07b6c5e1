"""Screening, consent, enrollment and study-exit forms: they validate and normalise only."""

from __future__ import annotations

import datetime as dt

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Perm
from crf.forms import ClinicalRecordForm, DateInput, DateTimeInput, date_widgets, yes_no_widgets
from enrollment.eligibility import age_in_range
from enrollment.medical_history import history_errors
from enrollment.models import (
    Consent,
    ExitKind,
    Identity,
    Mda5Result,
    Mda5Titre,
    MedicalHistory,
    Participant,
    PregnancyTest,
    ProtocolDeviation,
    Screening,
    Sex,
    StudyExit,
    age_on,
)
from trialportal import protocol

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
DATE_FIELDS = (
    "screening_date",
    "date_of_birth",
    "mda5_test_date",
    "symptom_onset_date",
    "ild_diagnosis_date",
    "hrct_first_date",
    "hrct_progression_date",
    "pf_ratio_first_date",
    "pf_ratio_latest_date",
    "pregnancy_test_date",
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
            **date_widgets(*DATE_FIELDS),
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
        today = timezone.localdate()
        birth = data.get("date_of_birth")
        screened = data.get("screening_date")
        for name in DATE_FIELDS:
            value = data.get(name)
            if value and value > today:
                self.add_error(
                    name, ValidationError(_("This date is in the future."), code="future")
                )
            elif value and birth and name != "date_of_birth" and value < birth:
                self.add_error(
                    name,
                    ValidationError(
                        _("This date is before the date of birth."), code="before_birth"
                    ),
                )
        if birth and screened and age_on(birth, screened) > 120:
            self.add_error(
                "date_of_birth", ValidationError(_("Check the date of birth."), code="implausible")
            )
        self._clean_mda5(data)
        self._clean_rpild(data)
        self._clean_pregnancy(data)
        if data.get("other_unsafe") and not (data.get("other_unsafe_text") or "").strip():
            self.add_error(
                "other_unsafe_text",
                ValidationError(_("Describe the condition judged unsafe."), code="required"),
            )
        return data

    def _clean_mda5(self, data) -> None:
        result, titre = data.get("mda5_result"), data.get("mda5_titre")
        if result == Mda5Result.POSITIVE and not titre:
            self.add_error(
                "mda5_titre",
                ValidationError(_("Give the titre of a positive result."), code="required"),
            )
        if result == Mda5Result.POSITIVE and titre == Mda5Titre.NEGATIVE:
            self.add_error(
                "mda5_titre",
                ValidationError(
                    _("A positive result cannot have a negative titre."), code="inconsistent"
                ),
            )
        if result == Mda5Result.NEGATIVE and titre not in ("", Mda5Titre.NEGATIVE, Mda5Titre.UNITS):
            self.add_error(
                "mda5_titre",
                ValidationError(
                    _("A negative result cannot have a positive titre."), code="inconsistent"
                ),
            )
        if titre == Mda5Titre.UNITS:
            if data.get("mda5_value") is None:
                self.add_error(
                    "mda5_value", ValidationError(_("Give the measured value."), code="required")
                )
            if not data.get("mda5_unit"):
                self.add_error("mda5_unit", ValidationError(_("Give the unit."), code="required"))

    def _clean_rpild(self, data) -> None:
        if data.get("hrct_progression") and not data.get("hrct_progression_date"):
            self.add_error(
                "hrct_progression_date",
                ValidationError(
                    _("Give the date of the HRCT showing progression."), code="required"
                ),
            )
        first, progression = data.get("hrct_first_date"), data.get("hrct_progression_date")
        if first and progression and progression < first:
            self.add_error(
                "hrct_progression_date",
                ValidationError(
                    _("The progression HRCT cannot precede the first HRCT."), code="order"
                ),
            )
        for value, day in (
            ("pf_ratio_first", "pf_ratio_first_date"),
            ("pf_ratio_latest", "pf_ratio_latest_date"),
        ):
            if data.get(value) is not None and not data.get(day):
                self.add_error(
                    day, ValidationError(_("Give the date of this measurement."), code="required")
                )
        first_pf, latest_pf = data.get("pf_ratio_first_date"), data.get("pf_ratio_latest_date")
        if first_pf and latest_pf and latest_pf < first_pf:
            self.add_error(
                "pf_ratio_latest_date",
                ValidationError(
                    _("The latest measurement cannot precede the earlier one."), code="order"
                ),
            )

    def _clean_pregnancy(self, data) -> None:
        if data.get("sex") == Sex.MALE:
            # Not applicable to men: drop whatever was typed.
            data["childbearing_potential"] = None
            data["pregnancy_test_date"] = None
            data["pregnancy_test_result"] = ""
            if data.get("pregnant_or_breastfeeding"):
                self.add_error(
                    "pregnant_or_breastfeeding",
                    ValidationError(
                        _("Not applicable to a male participant."), code="inconsistent"
                    ),
                )
            return
        if data.get("sex") == Sex.FEMALE and data.get("childbearing_potential") is None:
            self.add_error(
                "childbearing_potential",
                ValidationError(_("Answer for a female participant."), code="required"),
            )
        if data.get("childbearing_potential"):
            result = data.get("pregnancy_test_result")
            if not result:
                self.add_error(
                    "pregnancy_test_result",
                    ValidationError(
                        _("A pregnancy test is required for a woman of childbearing potential."),
                        code="required",
                    ),
                )
            elif result != PregnancyTest.NOT_DONE and not data.get("pregnancy_test_date"):
                self.add_error(
                    "pregnancy_test_date",
                    ValidationError(_("Give the date of the test."), code="required"),
                )


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

    def clean_consented_at(self):
        at = self.cleaned_data["consented_at"]
        if at > timezone.now():
            raise ValidationError(_("Consent cannot be dated in the future."), code="future")
        on = timezone.localdate(at)
        age = self.screening.age_at(on)
        if not age_in_range(age):
            raise ValidationError(
                _(
                    "Age at consent would be %(age)s; the protocol requires %(min)s to %(max)s "
                    "years."
                )
                % {"age": age, "min": protocol.AGE_MIN, "max": protocol.AGE_MAX},
                code="age",
            )
        participant = getattr(self.screening, "participant", None)
        if participant is not None and on > participant.enrollment_date:
            raise ValidationError(
                _("Consent cannot be after enrollment (%(date)s).")
                % {"date": participant.enrollment_date},
                code="after_enrollment",
            )
        if on < self.screening.date_of_birth:
            raise ValidationError(
                _("Consent cannot precede the date of birth."), code="before_birth"
            )
        return at


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

    def clean_enrollment_date(self):
        value = self.cleaned_data["enrollment_date"]
        if value > timezone.localdate():
            raise ValidationError(_("Enrollment cannot be dated in the future."), code="future")
        consent = getattr(self.screening, "consent", None)
        if consent is not None and value < timezone.localdate(consent.consented_at):
            raise ValidationError(_("Enrollment cannot precede consent."), code="before_consent")
        return value

    def clean_planned_first_dose(self):
        value = self.cleaned_data["planned_first_dose"]
        consent = getattr(self.screening, "consent", None)
        if consent is not None and value < timezone.localdate(consent.consented_at):
            raise ValidationError(
                _("The first dose cannot precede consent."), code="before_consent"
            )
        latest = self.screening.screening_date + dt.timedelta(days=protocol.SCREENING_WINDOW_DAYS)
        if value > latest:
            raise ValidationError(
                _(
                    "The first dose must be within %(days)s days of screening (by %(date)s); "
                    "re-screen otherwise."
                )
                % {"days": protocol.SCREENING_WINDOW_DAYS, "date": latest},
                code="screening_window",
            )
        return value

    def clean(self):
        data = super().clean()
        enrolled, first = data.get("enrollment_date"), data.get("planned_first_dose")
        if enrolled and first and first < enrolled:
            self.add_error(
                "planned_first_dose",
                ValidationError(
                    _("The first dose cannot precede enrollment."), code="before_enrollment"
                ),
            )
        return data


class ParticipantForm(ClinicalRecordForm):
    class Meta:
        model = Participant
        fields = ["planned_first_dose", "first_dose_date"]
        widgets = date_widgets("planned_first_dose", "first_dose_date")

    def clean(self):
        data = super().clean()
        participant: Participant = self.instance
        for name in ("planned_first_dose", "first_dose_date"):
            value = data.get(name)
            if value and value < participant.enrollment_date:
                self.add_error(
                    name,
                    ValidationError(
                        _("The first dose cannot precede enrollment."), code="before_enrollment"
                    ),
                )
        first = data.get("first_dose_date")
        if first and first > timezone.localdate():
            self.add_error(
                "first_dose_date", ValidationError(_("This date is in the future."), code="future")
            )
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
        kind, on = data.get("kind"), data.get("exit_date")
        if on and on > timezone.localdate():
            self.add_error(
                "exit_date", ValidationError(_("This date is in the future."), code="future")
            )
        if on and on < self.participant.enrollment_date:
            self.add_error(
                "exit_date",
                ValidationError(_("This date is before enrollment."), code="before_enrollment"),
            )
        required = {
            ExitKind.WITHDRAWN: ("decided_by", "reason"),
            ExitKind.DIED: ("death_cause",),
            ExitKind.LOST: ("last_contact_date",),
        }.get(kind, ())
        for name in required:
            if not data.get(name):
                self.add_error(
                    name, ValidationError(_("Required for this status."), code="required")
                )
        if kind == ExitKind.WITHDRAWN and data.get("followup_permitted") is None:
            self.add_error(
                "followup_permitted",
                ValidationError(
                    _("Say whether follow-up data may still be collected."), code="required"
                ),
            )
        if kind != ExitKind.WITHDRAWN:
            data["decided_by"] = ""
            data["followup_permitted"] = None
        if kind != ExitKind.DIED:
            data["death_cause"] = ""
        contact = data.get("last_contact_date")
        if contact and on and contact > on:
            self.add_error(
                "last_contact_date",
                ValidationError(
                    _("Last contact cannot be after the date of this status."), code="order"
                ),
            )
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
            today=timezone.localdate(),
        )
        for name, error in errors.items():
            if name not in self.errors:
                self.add_error(name, error)
        return data
