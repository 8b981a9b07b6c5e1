"""Visit and follow-up CRF forms: they validate and normalise only (PROTOCOL.md sections 5, 9)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crf.editchecks import check_ranges
from crf.forms import ClinicalRecordForm, DateInput, yes_no_widgets
from outcomes.models import (
    UNSCHEDULED,
    ConMed,
    Fio2Source,
    HrctScore,
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
from trialportal import protocol

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
        return data


class SurvivalForm(ClinicalRecordForm):
    class Meta:
        model = Survival
        fields = ["vital_status", "death_date", "death_cause", "support"]
        widgets = {"death_date": DateInput(), "vital_status": forms.RadioSelect}

    def clean(self):
        data = super().clean()
        _not_future(self, "death_date")
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


class LabPanelForm(forms.Form):
    """All laboratory and serology results of a visit, one row per test."""

    confirm_unusual = forms.BooleanField(
        label=_("I have checked the values marked unusual and confirm them."), required=False
    )
    reason_for_change = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when a submitted result is changed."),
    )

    def __init__(self, *args, existing: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing = existing
        self.rows = []
        for code, analyte in protocol.LABS.items():
            units = [analyte.unit, *[unit for unit, _factor in analyte.other_units]]
            result = existing.get(code)
            prefix = f"lab_{code}"
            if analyte.qualitative:
                self.fields[f"{prefix}_text"] = forms.CharField(
                    required=False, max_length=40, label=_(analyte.label)
                )
            else:
                self.fields[f"{prefix}_value"] = forms.DecimalField(
                    required=False, max_digits=12, decimal_places=3, label=_(analyte.label)
                )
                self.fields[f"{prefix}_unit"] = forms.ChoiceField(
                    choices=[(u, u) for u in units], required=False, label=_("unit")
                )
                self.fields[f"{prefix}_low"] = forms.DecimalField(
                    required=False, max_digits=12, decimal_places=3, label=_("normal range, low")
                )
                self.fields[f"{prefix}_high"] = forms.DecimalField(
                    required=False, max_digits=12, decimal_places=3, label=_("normal range, high")
                )
            self.fields[f"{prefix}_cs"] = forms.NullBooleanField(
                required=False,
                label=_("clinically significant"),
                widget=forms.Select(
                    choices=[("unknown", "—"), ("true", _("Yes")), ("false", _("No"))]
                ),
            )
            if result is not None:
                self.initial.update(
                    {
                        f"{prefix}_value": result.value,
                        f"{prefix}_text": result.text_value,
                        f"{prefix}_unit": result.unit,
                        f"{prefix}_low": result.normal_low,
                        f"{prefix}_high": result.normal_high,
                        f"{prefix}_cs": result.clinically_significant,
                    }
                )
            else:
                low, high = analyte.normal
                self.initial.update(
                    {f"{prefix}_unit": analyte.unit, f"{prefix}_low": low, f"{prefix}_high": high}
                )
            self.rows.append((code, analyte, prefix))
        self.soft_fields: list[str] = []

    def bound_rows(self):
        """(label, unit label, fields of the row) for the template."""
        for code, analyte, prefix in self.rows:
            names = (
                [f"{prefix}_text"]
                if analyte.qualitative
                else [f"{prefix}_value", f"{prefix}_unit", f"{prefix}_low", f"{prefix}_high"]
            )
            yield (
                code,
                _(analyte.label),
                [self[name] for name in names],
                self[f"{prefix}_cs"],
                analyte.qualitative,
            )

    def clean(self):
        data = super().clean()
        soft = []
        changed = False
        for code, analyte, prefix in self.rows:
            value = data.get(f"{prefix}_value")
            low, high = data.get(f"{prefix}_low"), data.get(f"{prefix}_high")
            if low is not None and high is not None and low > high:
                self.add_error(
                    f"{prefix}_high",
                    ValidationError(
                        _("The upper limit cannot be below the lower limit."), code="order"
                    ),
                )
            if value is not None and analyte.range_name:
                factors = dict(analyte.other_units)
                unit = data.get(f"{prefix}_unit") or analyte.unit
                canonical = float(value) * factors.get(unit, 1.0)
                result = check_ranges({"v": canonical}, {"v": R[analyte.range_name]})
                if result.hard:
                    self.add_error(f"{prefix}_value", result.hard["v"])
                elif result.soft:
                    soft.append(f"{prefix}_value")
                    if not data.get("confirm_unusual"):
                        self.add_error(f"{prefix}_value", result.soft["v"])
            previous = self.existing.get(code)
            if previous is not None and (
                (
                    previous.value is not None
                    and value is not None
                    and Decimal(previous.value) != value
                )
                or previous.text_value != (data.get(f"{prefix}_text") or previous.text_value)
            ):
                changed = True
        if changed and not (data.get("reason_for_change") or "").strip():
            self.add_error(
                "reason_for_change",
                ValidationError(
                    _("Give a reason for changing a submitted result."), code="reason_required"
                ),
            )
        self.soft_fields = soft
        return data
