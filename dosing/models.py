"""The 14-day nebulization log (PROTOCOL.md section 4)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.choices import YES_NO
from crf.models import CappedTextField, ClinicalRecord, audited
from enrollment.models import Participant
from study import protocol


class Given(models.TextChoices):
    YES = "yes", _("Given in full")
    PARTIAL = "partial", _("Partly given")
    NO = "no", _("Not given")


class NotGivenReason(models.TextChoices):
    INTOLERANCE = "intolerance", _("Intolerance")
    ADVERSE_EVENT = "adverse_event", _("Adverse event")
    REFUSED = "refused", _("Participant refused")
    DETERIORATION = "deterioration", _("Clinical deterioration")
    UNAVAILABLE = "unavailable", _("Product unavailable")
    OTHER = "other", _("Other")


class Nebulizer(models.TextChoices):
    MESH = "mesh", _("Vibrating mesh")
    JET = "jet", _("Jet")
    ULTRASONIC = "ultrasonic", _("Ultrasonic")


class O2Device(models.TextChoices):
    ROOM_AIR = "room_air", _("Room air")
    NASAL_CANNULA = "nasal_cannula", _("Nasal cannula")
    MASK = "mask", _("Face mask")
    NON_REBREATHER = "non_rebreather", _("Non-rebreather mask")
    HFNC = "hfnc", _("High-flow nasal cannula")
    NIV = "niv", _("Non-invasive ventilation")
    INVASIVE = "invasive", _("Invasive ventilation")
    ECMO = "ecmo", _("ECMO")


# The inhalation-event checklist: during and within 2 h of the nebulization (PROTOCOL.md section 4).
INHALATION_EVENTS = (
    ("ev_bronchospasm", _("Bronchospasm or wheeze"), "Bronchospasm"),
    ("ev_cough", _("Cough paroxysm"), "Cough"),
    ("ev_desaturation", _("Desaturation"), "Hypoxia"),
    ("ev_dyspnoea", _("Dyspnoea or chest tightness"), "Dyspnea"),
    ("ev_fever", _("Fever or rigors within 24 h"), "Fever"),
    ("ev_hypersensitivity", _("Hypersensitivity reaction"), "Allergic reaction"),
    ("ev_haemoptysis", _("Haemoptysis"), "Bronchopulmonary hemorrhage"),
    ("ev_haemodynamic", _("Haemodynamic instability"), "Hypotension"),
)


def _spo2(label):
    return models.PositiveSmallIntegerField(label, null=True, blank=True, help_text="%")


def _rate(label, unit):
    return models.PositiveSmallIntegerField(label, null=True, blank=True, help_text=unit)


def _device(label):
    return models.CharField(label, max_length=16, choices=O2Device.choices, blank=True)


def _flow(label):
    return models.DecimalField(
        label, max_digits=4, decimal_places=1, null=True, blank=True, help_text="L/min"
    )


def _fio2(label):
    return models.DecimalField(
        label,
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("fraction 0.21-1.0; a percentage is converted"),
    )


@audited
class DoseRecord(ClinicalRecord):
    """One nebulization day of one participant."""

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="doses", verbose_name=_("participant")
    )
    study_day = models.PositiveSmallIntegerField(_("study day"), help_text=_("1 to 14"))
    dose_date = models.DateField(_("date"))
    date_reason = CappedTextField(
        _("reason for a different date"),
        blank=True,
        help_text=_("Required when the date is not first dose + (day - 1)."),
    )
    given = models.CharField(_("dose given"), max_length=8, choices=Given.choices)
    not_given_reason = models.CharField(
        _("reason not given in full"), max_length=16, choices=NotGivenReason.choices, blank=True
    )
    not_given_text = CappedTextField(_("reason, details"), blank=True)
    start_time = models.TimeField(_("start time"), null=True, blank=True)
    end_time = models.TimeField(_("end time"), null=True, blank=True)
    dose_particles = models.BigIntegerField(
        _("dose (particles)"), null=True, blank=True, help_text=_("e.g. 2e8")
    )
    dose_reason = CappedTextField(
        _("reason for a different dose"),
        blank=True,
        help_text=_("Required when the dose differs from the protocol dose."),
    )
    volume_ml = models.DecimalField(
        _("volume"), max_digits=4, decimal_places=1, null=True, blank=True, help_text="mL"
    )
    nebulizer_type = models.CharField(
        _("nebulizer type"), max_length=12, choices=Nebulizer.choices, blank=True
    )
    device_id = models.CharField(_("device ID"), max_length=40, blank=True)
    product_lot = models.CharField(_("product lot"), max_length=40, blank=True)
    administered_by = models.CharField(_("administered by"), max_length=100, blank=True)
    pre_spo2 = _spo2(_("pre-dose SpO2"))
    pre_hr = _rate(_("pre-dose heart rate"), "/min")
    pre_rr = _rate(_("pre-dose respiratory rate"), "/min")
    pre_sbp = _rate(_("pre-dose systolic BP"), "mmHg")
    pre_dbp = _rate(_("pre-dose diastolic BP"), "mmHg")
    pre_o2_device = _device(_("pre-dose oxygen device"))
    pre_o2_flow = _flow(_("pre-dose oxygen flow"))
    pre_fio2 = _fio2(_("pre-dose FiO2"))
    post_spo2 = _spo2(_("post-dose SpO2"))
    post_hr = _rate(_("post-dose heart rate"), "/min")
    post_rr = _rate(_("post-dose respiratory rate"), "/min")
    post_sbp = _rate(_("post-dose systolic BP"), "mmHg")
    post_dbp = _rate(_("post-dose diastolic BP"), "mmHg")
    post_o2_device = _device(_("post-dose oxygen device"))
    post_o2_flow = _flow(_("post-dose oxygen flow"))
    post_fio2 = _fio2(_("post-dose FiO2"))
    ev_bronchospasm = models.BooleanField(INHALATION_EVENTS[0][1], choices=YES_NO, default=False)
    ev_cough = models.BooleanField(INHALATION_EVENTS[1][1], choices=YES_NO, default=False)
    ev_desaturation = models.BooleanField(INHALATION_EVENTS[2][1], choices=YES_NO, default=False)
    ev_dyspnoea = models.BooleanField(INHALATION_EVENTS[3][1], choices=YES_NO, default=False)
    ev_fever = models.BooleanField(INHALATION_EVENTS[4][1], choices=YES_NO, default=False)
    ev_hypersensitivity = models.BooleanField(
        INHALATION_EVENTS[5][1], choices=YES_NO, default=False
    )
    ev_haemoptysis = models.BooleanField(INHALATION_EVENTS[6][1], choices=YES_NO, default=False)
    ev_haemodynamic = models.BooleanField(INHALATION_EVENTS[7][1], choices=YES_NO, default=False)
    ev_notes = CappedTextField(_("inhalation events, details"), blank=True)

    class Meta:
        verbose_name = _("dose record")
        verbose_name_plural = _("dose records")
        ordering = ["participant", "study_day"]
        indexes = [models.Index(fields=["participant", "study_day"], name="dose_participant_day")]
        constraints = [
            # One record per participant and day; a record entered in error frees the day.
            models.UniqueConstraint(
                fields=["participant", "study_day"],
                condition=Q(retired_at__isnull=True),
                name="dose_one_per_participant_day",
            ),
            # Dosing happens on study days 1 to 14 only (PROTOCOL.md section 4).
            models.CheckConstraint(
                condition=Q(study_day__gte=1, study_day__lte=protocol.DOSING_DAYS),
                name="dose_study_day_1_14",
            ),
            # A partial or missed dose carries its reason.
            models.CheckConstraint(
                condition=Q(given="yes") | ~Q(not_given_reason=""), name="dose_reason_when_not_full"
            ),
            # The nebulization ends after it starts.
            models.CheckConstraint(
                condition=Q(start_time__isnull=True)
                | Q(end_time__isnull=True)
                | Q(end_time__gt=F("start_time")),
                name="dose_end_after_start",
            ),
            # Hard limits of SpO2 (PROTOCOL.md section 9).
            models.CheckConstraint(
                condition=(Q(pre_spo2__isnull=True) | Q(pre_spo2__gte=50, pre_spo2__lte=100))
                & (Q(post_spo2__isnull=True) | Q(post_spo2__gte=50, post_spo2__lte=100)),
                name="dose_spo2_hard_range",
            ),
            models.CheckConstraint(
                condition=(Q(pre_fio2__isnull=True) | Q(pre_fio2__gte=0.21, pre_fio2__lte=1))
                & (Q(post_fio2__isnull=True) | Q(post_fio2__gte=0.21, post_fio2__lte=1)),
                name="dose_fio2_fraction",
            ),
        ]

    def __str__(self) -> str:
        return str(
            _("%(participant)s dosing day %(day)s")
            % {"participant": self.participant.participant_id, "day": self.study_day}
        )

    def get_absolute_url(self) -> str:
        return reverse(
            "dosing:dose_edit",
            kwargs={"participant_id": self.participant.participant_id, "day": self.study_day},
        )

    @property
    def duration_minutes(self) -> int | None:
        if self.start_time is None or self.end_time is None:
            return None
        start = self.start_time.hour * 60 + self.start_time.minute
        end = self.end_time.hour * 60 + self.end_time.minute
        return end - start

    @property
    def desaturation_computed(self) -> bool:
        """SpO2 drop of 4 points or more from pre-dose, or post-dose below 88 % (section 4)."""
        if self.post_spo2 is None:
            return False
        if self.post_spo2 < protocol.DESATURATION_FLOOR:
            return True
        return (
            self.pre_spo2 is not None
            and self.pre_spo2 - self.post_spo2 >= protocol.DESATURATION_DROP
        )

    @property
    def inhalation_events(self) -> list[tuple[str, str]]:
        """(label, suggested CTCAE term) of every event ticked or computed."""
        events = [
            (str(label), term) for name, label, term in INHALATION_EVENTS if getattr(self, name)
        ]
        if self.desaturation_computed and not self.ev_desaturation:
            events.append((str(_("Desaturation (computed from SpO2)")), "Hypoxia"))
        return events

    @property
    def counts_as_given(self) -> bool:
        return self.given in (Given.YES, Given.PARTIAL)
