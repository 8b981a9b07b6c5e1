"""The dose record form: validates and normalises only (PROTOCOL.md sections 4 and 9)."""

from __future__ import annotations

import re
from decimal import Decimal

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Fieldset, Layout
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crf.forms import ClinicalRecordForm, DateInput
from crf.rules import add_rule_errors
from crf.schedule import date_of_study_day
from dosing import rules
from dosing.models import INHALATION_EVENTS, DoseRecord, Given
from enrollment.models import Participant
from study import protocol

R = protocol.RANGES
VITALS = ("spo2", "hr", "rr", "sbp", "dbp", "o2_device", "o2_flow", "fio2")
EVENT_FIELDS = tuple(name for name, _label, _term in INHALATION_EVENTS)


class ParticlesField(forms.CharField):
    """A particle count typed as 200000000, 2e8 or 2.0x10^8."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        text = (
            value.replace(" ", "").replace(",", "").replace("\u00d7", "x")
        )  # multiplication sign.lower()
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:x10\^?(\d+)|e\+?(\d+))?", text)
        if not match:
            raise ValidationError(_("Enter a number of particles, e.g. 2e8."), code="invalid")
        mantissa, power = Decimal(match.group(1)), int(match.group(2) or match.group(3) or 0)
        number = mantissa * (Decimal(10) ** power)
        if number != number.to_integral_value() or number <= 0:
            raise ValidationError(_("Enter a whole, positive number of particles."), code="invalid")
        return int(number)


def _row(*names: str) -> Div:
    return Div(*[Div(name, css_class="col-sm") for name in names], css_class="row g-2")


class DoseForm(ClinicalRecordForm):
    ranges = {
        **{f"{when}_spo2": R["spo2"] for when in ("pre", "post")},
        **{f"{when}_hr": R["heart_rate"] for when in ("pre", "post")},
        **{f"{when}_rr": R["resp_rate"] for when in ("pre", "post")},
        **{f"{when}_sbp": R["sbp"] for when in ("pre", "post")},
        **{f"{when}_dbp": R["dbp"] for when in ("pre", "post")},
        **{f"{when}_fio2": R["fio2"] for when in ("pre", "post")},
        **{f"{when}_o2_flow": R["o2_flow"] for when in ("pre", "post")},
        "volume_ml": R["dose_volume"],
    }
    dose_particles = ParticlesField(
        label=_("Dose (particles)"), required=False, help_text=_("e.g. 2e8 or 200000000")
    )

    class Meta:
        model = DoseRecord
        fields = [
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
            "volume_ml",
            "nebulizer_type",
            "device_id",
            "product_lot",
            "administered_by",
            *[f"pre_{name}" for name in VITALS],
            *[f"post_{name}" for name in VITALS],
            *EVENT_FIELDS,
            "ev_notes",
        ]
        widgets = {
            "dose_date": DateInput(),
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "given": forms.RadioSelect,
            "date_reason": forms.Textarea(attrs={"rows": 1}),
            "dose_reason": forms.Textarea(attrs={"rows": 1}),
            "not_given_text": forms.Textarea(attrs={"rows": 1}),
            "ev_notes": forms.Textarea(attrs={"rows": 2}),
            **{
                name: forms.RadioSelect(attrs={"class": "form-check-inline"})
                for name in EVENT_FIELDS
            },
        }

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant
        self.fields["study_day"].widget.attrs.update(min=1, max=protocol.DOSING_DAYS)
        for name in ("pre_fio2", "post_fio2"):
            # Accept a percentage (e.g. 33) as well as a fraction; clean_<name> converts it.
            model_field = self.fields[name]
            self.fields[name] = forms.DecimalField(
                label=model_field.label,
                help_text=model_field.help_text,
                required=False,
                max_digits=5,
                decimal_places=2,
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                _("Administration"),
                _row("study_day", "dose_date", "given"),
                "date_reason",
                _row("not_given_reason", "not_given_text"),
                _row("start_time", "end_time", "volume_ml"),
                _row("dose_particles", "dose_reason"),
                _row("nebulizer_type", "device_id", "product_lot", "administered_by"),
            ),
            Fieldset(
                _("Before the nebulization"),
                _row("pre_spo2", "pre_hr", "pre_rr", "pre_sbp", "pre_dbp"),
                _row("pre_o2_device", "pre_o2_flow", "pre_fio2"),
            ),
            Fieldset(
                _("After the nebulization"),
                _row("post_spo2", "post_hr", "post_rr", "post_sbp", "post_dbp"),
                _row("post_o2_device", "post_o2_flow", "post_fio2"),
            ),
            Fieldset(
                _("Inhalation events (during the nebulization and within 2 hours after it)"),
                _row(*EVENT_FIELDS[:4]),
                _row(*EVENT_FIELDS[4:]),
                "ev_notes",
            ),
            *self.tail_fields,
        )

    def expected_date(self, day: int):
        return date_of_study_day(self.participant.anchor, day)

    def _clean_fio2(self, name: str):
        value = self.cleaned_data.get(name)
        if value is not None and value > 1:
            value = (value / 100).quantize(Decimal("0.01"))  # typed as a percentage
        return value

    def clean_pre_fio2(self):
        return self._clean_fio2("pre_fio2")

    def clean_post_fio2(self):
        return self._clean_fio2("post_fio2")

    def clean(self):
        data = super().clean()
        add_rule_errors(self, {**data, "anchor": self.participant.anchor}, rules.DOSE_RULES)
        if data.get("given") == Given.YES:
            data["not_given_reason"] = ""
        return data
