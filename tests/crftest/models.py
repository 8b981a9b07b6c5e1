from django.db import models

from crf.models import CappedTextField, ClinicalRecord, audited


@audited
class Observation(ClinicalRecord):
    """A minimal clinical record used to test what every CRF shares."""

    class Unit(models.TextChoices):
        MG_L = "mg/L", "mg/L"
        MG_DL = "mg/dL", "mg/dL"

    measured_on = models.DateField("measured on")
    value = models.DecimalField("value", max_digits=8, decimal_places=2, null=True, blank=True)
    unit = models.CharField("unit", max_length=8, choices=Unit.choices, blank=True)
    note = CappedTextField("note", blank=True)

    def __str__(self) -> str:
        return f"Observation {self.pk}"
