"""Visit and follow-up CRF forms: they validate and normalise only (PROTOCOL.md sections 5, 9)."""

from __future__ import annotations

from decimal import Decimal

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.utils import ErrorDict
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from crf.editchecks import check_ranges
from crf.forms import ClinicalRecordForm, DateInput, yes_no_widgets
from outcomes.models import (
    UNSCHEDULED,
    ConMed,
    Fio2Source,
    HrctScore,
    LabResult,
    O2Device,
    Oxygenation,
    PulmonaryFunction,
    SixMinuteWalk,
    Survival,
    SurvivalStatus,
    Visit,
    VitalSigns,
    fio2_estimate,
)
from study import protocol

R = protocol.RANGES


def _not_future(form, name: str) -> None:
    value = form.cleaned_data.get(name)
    if value and value > timezone.localdate():
        form.add_error(name, ValidationError(_("This date is in the future."), code="future"))


def _not_before_consent(form, name: str, participant) -> None:
    value = form.cleaned_data.get(name)
    consent = getattr(participant.screening, "consent", None)
    if value and consent and value < timezone.localdate(consent.consented_at):
        form.add_error(
            name, ValidationError(_("This date is before consent."), code="before_consent")
        )


def _done_or_why_not(form, data, required: tuple[str, ...]) -> None:
    """A test not done needs its reason; a test done needs its key results."""
    if data.get("done") is False and not data.get("not_done_reason", "").strip():
        form.add_error(
            "not_done_reason",
            ValidationError(_("Say why the test was not done."), code="required"),
        )
    if data.get("done"):
        for name in required:
            if data.get(name) is None:
                form.add_error(
                    name, ValidationError(_("Required when the test was done."), code="required")
                )


class VisitForm(ClinicalRecordForm):
    class Meta:
        model = Visit
        fields = ["code", "visit_date", "reason"]
        widgets = {"visit_date": DateInput()}

    def __init__(self, *args, participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        choices = [(v.code, _(v.label)) for v in protocol.VISITS] + [
            (UNSCHEDULED, _("Unscheduled visit"))
        ]
        self.fields["code"] = forms.ChoiceField(label=_("Visit"), choices=choices)
        if not self.initial.get("visit_date"):
            self.initial["visit_date"] = timezone.localdate()

    def clean(self):
        data = super().clean()
        _not_future(self, "visit_date")
        _not_before_consent(self, "visit_date", self.participant)
        if data.get("code") == UNSCHEDULED and not data.get("reason", "").strip():
            self.add_error(
                "reason", ValidationError(_("Say why the participant was seen."), code="required")
            )
        return data


class VitalSignsForm(ClinicalRecordForm):
    ranges = {
        "temperature": R["temperature"],
        "heart_rate": R["heart_rate"],
        "resp_rate": R["resp_rate"],
        "sbp": R["sbp"],
        "dbp": R["dbp"],
        "spo2": R["spo2"],
        "weight": R["weight"],
        "height": R["height"],
    }

    class Meta:
        model = VitalSigns
        fields = [
            "temperature",
            "heart_rate",
            "resp_rate",
            "sbp",
            "dbp",
            "spo2",
            "weight",
            "height",
        ]

    def clean(self):
        data = super().clean()
        sbp, dbp = data.get("sbp"), data.get("dbp")
        if sbp and dbp and sbp <= dbp:
            self.add_error(
                "dbp",
                ValidationError(_("Diastolic pressure must be below systolic."), code="bp_order"),
            )
        return data


class Fio2Field(forms.DecimalField):
    """FiO2 as a fraction, or a percentage converted to one."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=5, decimal_places=2, **kwargs)

    def to_python(self, value):
        number = super().to_python(value)
        if number is not None and number > 1:
            number = (number / 100).quantize(Decimal("0.01"))
        return number


class OxygenationForm(ClinicalRecordForm):
    ranges = {
        "fio2": R["fio2"],
        "o2_flow": R["o2_flow"],
        "pao2": R["pao2"],
        "paco2": R["paco2"],
        "ph": R["ph"],
        "spo2": R["spo2"],
    }

    class Meta:
        model = Oxygenation
        fields = ["sampled_at", "o2_device", "o2_flow", "fio2", "pao2", "paco2", "ph", "spo2"]
        widgets = {"sampled_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}
        # Django capitalises a label's first letter; pH keeps its own case.
        labels = {"ph": _("pH")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fio2"] = Fio2Field(
            label=_("FiO2"),
            required=False,
            help_text=_(
                "Fraction or %. Leave empty on room air (0.21) or with a nasal cannula (estimated "
                "21 % + 4 % per L/min)."
            ),
        )

    def clean(self):
        data = super().clean()
        device, flow = data.get("o2_device"), data.get("o2_flow")
        if device == O2Device.ROOM_AIR:
            data["fio2"], self.instance.fio2_source, data["o2_flow"] = (
                Decimal("0.21"),
                Fio2Source.ROOM_AIR,
                None,
            )
        elif data.get("fio2") is None:
            if device == O2Device.NASAL_CANNULA and flow is not None:
                data["fio2"], self.instance.fio2_source = fio2_estimate(flow), Fio2Source.ESTIMATED
            elif device:
                self.add_error(
                    "fio2", ValidationError(_("Give the FiO2 set on the device."), code="required")
                )
        else:
            self.instance.fio2_source = Fio2Source.SET
        if device == O2Device.NASAL_CANNULA and flow is None:
            self.add_error(
                "o2_flow",
                ValidationError(_("Give the flow of the nasal cannula."), code="required"),
            )
        if data.get("fio2") is not None:
            result = check_ranges({"fio2": data["fio2"]}, {"fio2": R["fio2"]})
            if result.hard:
                self.add_error("fio2", result.hard["fio2"])
        return data


class PulmonaryFunctionForm(ClinicalRecordForm):
    ranges = {"fvc_l": R["fvc_l"], "fvc_pct": R["fvc_pct"], "dlco_pct": R["dlco_pct"]}

    class Meta:
        model = PulmonaryFunction
        fields = [
            "done",
            "not_done_reason",
            "fvc_l",
            "fvc_pct",
            "fev1_l",
            "fev1_pct",
            "dlco_value",
            "dlco_unit",
            "dlco_pct",
            "dlco_hb_corrected",
            "reference_equation",
        ]
        widgets = yes_no_widgets("done", "dlco_hb_corrected")

    def clean(self):
        data = super().clean()
        _done_or_why_not(self, data, ("fvc_l", "fvc_pct"))
        if data.get("done"):
            fev1, fvc = data.get("fev1_l"), data.get("fvc_l")
            if fev1 and fvc and fev1 > fvc:
                self.add_error(
                    "fev1_l", ValidationError(_("FEV1 cannot exceed FVC."), code="fev1_gt_fvc")
                )
        return data


class SixMinuteWalkForm(ClinicalRecordForm):
    ranges = {
        "distance_m": R["six_mwd"],
        "spo2_pre": R["spo2"],
        "spo2_nadir": R["spo2"],
        "hr_pre": R["heart_rate"],
        "hr_post": R["heart_rate"],
    }

    class Meta:
        model = SixMinuteWalk
        fields = [
            "done",
            "not_done_reason",
            "distance_m",
            "spo2_pre",
            "spo2_nadir",
            "hr_pre",
            "hr_post",
            "borg_dyspnoea",
            "borg_fatigue",
            "o2_flow",
            "stopped_early",
            "stop_reason",
        ]
        widgets = yes_no_widgets("done", "stopped_early")

    def clean(self):
        data = super().clean()
        _done_or_why_not(self, data, ("distance_m",))
        if data.get("stopped_early") and not data.get("stop_reason", "").strip():
            self.add_error(
                "stop_reason",
                ValidationError(_("Say why the walk stopped early."), code="required"),
            )
        pre, nadir = data.get("spo2_pre"), data.get("spo2_nadir")
        if pre and nadir and nadir > pre:
            self.add_error(
                "spo2_nadir",
                ValidationError(_("The lowest SpO2 cannot exceed the SpO2 before."), code="order"),
            )
        return data


HRCT_FIELDS = [f"{p}_{lobe}" for p in protocol.HRCT_PATTERNS for lobe in protocol.HRCT_LOBES]


class HrctScoreForm(ClinicalRecordForm):
    class Meta:
        model = HrctScore
        fields = ["scan_date", "reader", "blinded", "dominant_pattern", *HRCT_FIELDS]
        widgets = {
            "scan_date": DateInput(),
            **yes_no_widgets("blinded"),
            **{
                name: forms.NumberInput(attrs={"min": 0, "max": 5, "class": "hrct-score"})
                for name in HRCT_FIELDS
            },
        }

    def clean(self):
        data = super().clean()
        _not_future(self, "scan_date")
        _not_before_consent(self, "scan_date", self.instance.visit.participant)
        return data


class SurvivalForm(ClinicalRecordForm):
    class Meta:
        model = Survival
        fields = ["vital_status", "death_date", "death_cause", "support"]
        widgets = {"death_date": DateInput(), "vital_status": forms.RadioSelect}

    def clean(self):
        data = super().clean()
        _not_future(self, "death_date")
        _not_before_consent(self, "death_date", self.instance.visit.participant)
        if data.get("vital_status") == SurvivalStatus.DEAD:
            for name in ("death_date", "death_cause"):
                if not data.get(name):
                    self.add_error(
                        name,
                        ValidationError(_("Required when the participant died."), code="required"),
                    )
        else:
            data["death_date"], data["death_cause"] = None, ""
        return data


class ConMedForm(ClinicalRecordForm):
    class Meta:
        model = ConMed
        fields = [
            "drug",
            "glucocorticoid",
            "dose",
            "unit",
            "route",
            "frequency",
            "start_date",
            "stop_date",
            "indication",
        ]
        widgets = {"start_date": DateInput(), "stop_date": DateInput()}

    def clean(self):
        data = super().clean()
        _not_future(self, "start_date")
        _not_future(self, "stop_date")
        birth = self.instance.participant.screening.date_of_birth
        for name in ("start_date", "stop_date"):
            value = data.get(name)
            if value and value < birth:
                self.add_error(
                    name,
                    ValidationError(
                        _("This date is before the date of birth."), code="before_birth"
                    ),
                )
        start, stop = data.get("start_date"), data.get("stop_date")
        if start and stop and stop < start:
            self.add_error(
                "stop_date",
                ValidationError(_("The stop date cannot precede the start."), code="order"),
            )
        if data.get("glucocorticoid") and (data.get("unit") or "").lower() != "mg":
            self.add_error(
                "unit", ValidationError(_("Give glucocorticoid doses in mg."), code="unit")
            )
        return data


class SignificanceSelect(forms.NullBooleanSelect):
    """Not assessed / yes / no."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]


class PlainDecimalInput(forms.NumberInput):
    """A stored decimal shown as 28, not 28.000: the column's scale is not the precision."""

    def format_value(self, value):
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        return super().format_value(value)


class LabResultForm(ClinicalRecordForm):
    """One result of the laboratory panel: the shared CRF form, with the result's own version.

    Its fields post as `lab_<test>_<short name>`. Every field also posts the value the user saw
    (Django's hidden initial): a result counts as changed only when the user changed it, so a
    result nobody touched is neither validated nor saved, even if someone else changed it since
    the page was opened. The reason for change and the soft-range confirmation are the panel's.
    """

    SHORT_NAMES = {
        "text_value": "text",
        "normal_low": "low",
        "normal_high": "high",
        "clinically_significant": "cs",
    }
    # The panel-wide fields every row reads under their own name.
    PANEL_FIELDS = ("confirm_unusual",)

    class Meta:
        model = LabResult
        fields = [
            "value",
            "text_value",
            "unit",
            "normal_low",
            "normal_high",
            "clinically_significant",
        ]

    def __init__(self, data=None, *, instance: LabResult):
        self.analyte = protocol.LABS[instance.analyte]
        self.existing = instance.pk is not None
        qualitative = self.analyte.qualitative
        self.ranges = (
            {"value": R[self.analyte.range_name]}
            if self.analyte.range_name and not qualitative
            else {}
        )
        super().__init__(
            data,
            instance=instance,
            prefix=f"lab_{instance.analyte}",
            # An untouched row is valid as it is: only changed rows are checked and saved.
            empty_permitted=True,
            use_required_attribute=False,
        )
        self.fields.pop("reason_for_change", None)
        if qualitative:
            for name in ("value", "unit", "normal_low", "normal_high"):
                del self.fields[name]
            self.fields["text_value"].label = _("Result")
        else:
            del self.fields["text_value"]
            units = [self.analyte.unit, *[unit for unit, _factor in self.analyte.other_units]]
            self.fields["unit"] = forms.ChoiceField(
                choices=[(unit, unit) for unit in units], required=False, label=_("Unit")
            )
            self.fields["value"].label = _("Result")
            self.fields["normal_low"].label = _("Normal low")
            self.fields["normal_high"].label = _("Normal high")
        self.fields["clinically_significant"] = forms.NullBooleanField(
            required=False, label=_("Clinically significant"), widget=SignificanceSelect
        )
        for name in self.data_fields:
            self.fields[name].show_hidden_initial = True
        for name in ("value", "normal_low", "normal_high"):
            if name in self.fields:
                widget = self.fields[name].widget
                self.fields[name].widget = PlainDecimalInput(attrs=widget.attrs)
        # The column headings name the fields on a wide screen; each field has its label on a
        # narrow one, where a result's fields stack.
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.label_class = "d-lg-none small text-body-secondary mb-0"

    @property
    def data_fields(self) -> list[str]:
        return [name for name in self._meta.fields if name in self.fields]

    @property
    def qualitative(self) -> bool:
        return self.analyte.qualitative

    @property
    def label(self) -> str:
        return _(self.analyte.label)

    def add_prefix(self, field_name: str) -> str:
        if field_name in self.PANEL_FIELDS:
            return field_name
        return f"{self.prefix}_{self.SHORT_NAMES.get(field_name, field_name)}"

    @cached_property
    def changed_data(self) -> list[str]:
        """The result's fields the user changed (version and confirmation are not changes)."""
        return [name for name in self.data_fields if self._field_changed(name)]

    def _field_changed(self, name: str) -> bool:
        bound, field = self[name], self.fields[name]
        if field.widget.value_omitted_from_data(self.data, self.files, bound.html_name):
            return False
        if bound.html_initial_name not in self.data:
            # A client that does not post what it showed is compared with the stored result.
            return field.has_changed(bound.initial, bound.data)
        seen = field.hidden_widget().value_from_datadict(
            self.data, self.files, bound.html_initial_name
        )
        try:
            seen = field.to_python(seen)
        except ValidationError:
            return True
        return field.has_changed(seen, bound.data)

    def clean_unit(self):
        return self.cleaned_data.get("unit") or self.analyte.unit

    def range_values(self, data: dict) -> dict:
        """The value in the unit the edit-check range is written in."""
        value = data.get("value")
        if value is None:
            return {}
        factor = dict(self.analyte.other_units).get(data.get("unit") or self.analyte.unit, 1.0)
        return {"value": float(value) * factor}

    def clean(self):
        data = super().clean()
        low, high = data.get("normal_low"), data.get("normal_high")
        if low is not None and high is not None and low > high:
            self.add_error(
                "normal_high",
                ValidationError(
                    _("The upper limit cannot be below the lower limit."), code="order"
                ),
            )
        result_field = "text_value" if self.qualitative else "value"
        if not self.existing and data.get(result_field) in (None, ""):
            self.add_error(
                result_field,
                ValidationError(
                    _("Give the result, or leave this test as it was."), code="result_required"
                ),
            )
        return data


class LabPanelForm(forms.Form):
    """The laboratory and serology results of a visit: one LabResultForm per test.

    One reason for change and one soft-range confirmation serve the whole panel; the reason is
    required only when a submitted result changes, and goes with each changed result. `errors`
    gathers the panel's and every row's errors under the names the page posts.
    """

    confirm_unusual = forms.BooleanField(
        label=_("I have checked the values marked unusual and confirm them."), required=False
    )
    reason_for_change = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Required when a submitted result is changed or cleared; kept in the audit trail of "
            "each changed result."
        ),
    )

    def __init__(self, data=None, *, existing: dict[str, LabResult], visit: Visit | None = None):
        super().__init__(data)
        self.visit = visit
        self.rows: list[LabResultForm] = []
        for code, analyte in protocol.LABS.items():
            instance = existing.get(code) or LabResult(
                visit=visit,
                analyte=code,
                unit=analyte.unit,
                normal_low=analyte.normal[0],
                normal_high=analyte.normal[1],
            )
            self.rows.append(LabResultForm(data, instance=instance))

    def row(self, analyte: str) -> LabResultForm:
        return next(row for row in self.rows if row.instance.analyte == analyte)

    @property
    def changed_rows(self) -> list[LabResultForm]:
        return [row for row in self.rows if row.has_changed()]

    @property
    def is_locked(self) -> bool:
        """Locked when the visit or any of its results is: the page then offers no Save."""
        visit_locked = self.visit is not None and self.visit.is_locked
        return visit_locked or any(row.instance.is_locked for row in self.rows)

    @property
    def asks_confirmation(self) -> bool:
        return bool(self.is_bound and self.data.get("confirm_unusual")) or any(
            row.has_error("value", "soft_range") for row in self.rows
        )

    @property
    def errors(self):
        errors = ErrorDict(super().errors)
        for row in self.rows:
            for name, row_errors in row.errors.items():
                key = row.prefix if name == NON_FIELD_ERRORS else row.add_prefix(name)
                errors[key] = row_errors
        return errors

    def clean(self):
        data = super().clean()
        needs_reason = any(row.instance.requires_reason_for_change for row in self.changed_rows)
        if needs_reason and not (data.get("reason_for_change") or "").strip():
            self.add_error(
                "reason_for_change",
                ValidationError(
                    _("Give a reason for changing a submitted result."), code="reason_required"
                ),
            )
        return data

    def add_service_error(self, error: ValidationError) -> None:
        """Show a refusal of the service at the reason field or above the panel."""
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, error)
