"""What every clinical record form shares: version (optimistic lock) and reason for change."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crf.editchecks import Range, check_ranges
from crf.models import ClinicalRecord


class ClinicalRecordForm(forms.ModelForm):
    """A ModelForm for a clinical record; subclasses list their fields explicitly.

    `ranges` maps form fields to their edit-check Range: a value outside the hard range is
    refused; one outside the soft range is kept only once the user ticks the confirmation, and
    the record then lists the field in `soft_range_fields` for the monitor.
    """

    ranges: dict[str, Range] = {}

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    confirm_unusual = forms.BooleanField(
        label=_("I have checked the values marked unusual and confirm them."),
        required=False,
        widget=forms.HiddenInput,
    )
    reason_for_change = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when a submitted record is changed; kept in the audit trail."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # Radio buttons need no "---------" choice: nothing ticked already means no answer.
            if isinstance(field.widget, forms.RadioSelect) and hasattr(field, "choices"):
                field.choices = [choice for choice in field.choices if choice[0] not in ("", None)]
        if not self.ranges:
            del self.fields["confirm_unusual"]
        instance: ClinicalRecord = self.instance
        if instance.pk is None:
            del self.fields["version"]
            del self.fields["reason_for_change"]
        else:
            self.fields["version"].initial = instance.version
            if not instance.requires_reason_for_change:
                del self.fields["reason_for_change"]
            else:
                self.fields["reason_for_change"].required = True

    @property
    def tail_fields(self) -> list[str]:
        """The shared fields a layout ends with, those present on this form."""
        return [
            name
            for name in ("confirm_unusual", "version", "reason_for_change")
            if name in self.fields
        ]

    def clean(self):
        data = super().clean()
        if not self.ranges:
            return data
        result = check_ranges(self.range_values(data), self.ranges)
        for name, error in result.hard.items():
            self.add_error(name, error)
        soft = {name: error for name, error in result.soft.items() if name not in result.hard}
        if soft and not data.get("confirm_unusual"):
            for name, error in soft.items():
                self.add_error(name, error)
            self.fields["confirm_unusual"].widget = forms.CheckboxInput()
        self.instance.soft_range_fields = sorted(soft)
        return data

    def range_values(self, data: dict) -> dict:
        """The values the ranges apply to (a subclass may convert units first)."""
        return data

    def accept_current_version(self, version: int) -> None:
        """After a stale-edit refusal, let a deliberate resubmission overwrite the newer version."""
        data = self.data.copy()
        data[self.add_prefix("version")] = str(version)
        self.data = data


class RetireForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Why is this record entered in error?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DateInput(forms.DateInput):
    """A browser date picker that round-trips ISO dates."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """A browser date-and-time picker (local time of the site)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def date_widgets(*names: str) -> dict:
    return {name: DateInput() for name in names}


def yes_no_widgets(*names: str) -> dict:
    return {name: forms.RadioSelect(attrs={"class": "form-check-inline"}) for name in names}
