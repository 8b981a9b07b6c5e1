"""Visits and the follow-up CRFs (PROTOCOL.md sections 3 and 5)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from crf.choices import YES_NO
from crf.models import ClinicalRecord, audited
from enrollment.models import Participant
from study import protocol

UNSCHEDULED = "unscheduled"


@audited
class Visit(ClinicalRecord):
    """A visit that took place: a scheduled one (by its protocol code) or an unscheduled one."""

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="visits", verbose_name=_("participant")
    )
    code = models.CharField(
        _("visit"), max_length=16, help_text=_("Protocol visit code, or unscheduled.")
    )
    visit_date = models.DateField(_("visit date"))
    reason = models.CharField(
        _("reason for the visit"),
        max_length=200,
        blank=True,
        help_text=_("For an unscheduled visit."),
    )

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["participant", "visit_date", "pk"]
        indexes = [
            models.Index(fields=["participant", "visit_date"], name="visit_participant_date")
        ]
        constraints = [
            # A scheduled visit happens once per participant (unscheduled ones any number of times).
            models.UniqueConstraint(
                fields=["participant", "code"],
                condition=Q(retired_at__isnull=True) & ~Q(code=UNSCHEDULED),
                name="visit_once_per_participant",
            ),
            models.CheckConstraint(
                condition=~Q(code=UNSCHEDULED) | ~Q(reason=""), name="visit_unscheduled_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id} {self.label} {self.visit_date}"

    def get_absolute_url(self) -> str:
        return reverse(
            "outcomes:visit",
            kwargs={"participant_id": self.participant.participant_id, "pk": self.pk},
        )

    @property
    def label(self) -> str:
        if self.code == UNSCHEDULED:
            return str(_("Unscheduled visit"))
        return next((str(_(v.label)) for v in protocol.VISITS if v.code == self.code), self.code)

    def signature_records(self) -> list[ClinicalRecord]:
        """A visit's signature covers the visit, its CRFs and its laboratory results."""
        records: list[ClinicalRecord] = [self]
        for relation in ("vitals", "oxygenation", "pft", "six_mwt", "hrct", "survival"):
            crf = getattr(self, relation, None)
            if crf is not None and not crf.is_retired:
                records.append(crf)
        records += [lab for lab in self.labs.all() if not lab.is_retired]
        return records

    @property
    def required_forms(self) -> tuple[str, ...]:
        if self.code == UNSCHEDULED:
            return ("vitals", "oxygenation", "labs")
        return next((v.forms for v in protocol.VISITS if v.code == self.code), ())


class VisitCrf(ClinicalRecord):
    """A CRF completed at one visit."""

    subject_path = "visit__participant"

    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="+", verbose_name=_("visit")
    )

    class Meta:
        abstract = True


def _small(label, help_text, *validators, decimal: tuple[int, int] | None = None):
    if decimal:
        return models.DecimalField(
            label,
            max_digits=decimal[0],
            decimal_places=decimal[1],
            null=True,
            blank=True,
            help_text=help_text,
        )
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, help_text=help_text, validators=list(validators)
    )


@audited
class VitalSigns(VisitCrf):
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="vitals", verbose_name=_("visit")
    )
    temperature = _small(_("temperature"), "°C", decimal=(3, 1))
    heart_rate = _small(_("heart rate"), "/min")
    resp_rate = _small(_("respiratory rate"), "/min")
    sbp = _small(_("systolic blood pressure"), "mmHg")
    dbp = _small(_("diastolic blood pressure"), "mmHg")
    spo2 = _small(_("SpO2"), "%")
    weight = _small(_("weight"), "kg", decimal=(4, 1))
    height = _small(_("height"), "cm", decimal=(4, 1))

    class Meta:
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        constraints = [
            # Systolic pressure exceeds diastolic.
            models.CheckConstraint(
                condition=Q(sbp__isnull=True) | Q(dbp__isnull=True) | Q(sbp__gt=models.F("dbp")),
                name="vitals_sbp_gt_dbp",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('vital signs')}"


class O2Device(models.TextChoices):
    ROOM_AIR = "room_air", _("Room air")
    NASAL_CANNULA = "nasal_cannula", _("Nasal cannula")
    MASK = "mask", _("Face mask")
    NON_REBREATHER = "non_rebreather", _("Non-rebreather mask")
    HFNC = "hfnc", _("High-flow nasal cannula")
    NIV = "niv", _("Non-invasive ventilation")
    INVASIVE = "invasive", _("Invasive ventilation")
    ECMO = "ecmo", _("ECMO")


class Fio2Source(models.TextChoices):
    SET = "set", _("As set on the device")
    ESTIMATED = "estimated", _("Estimated from nasal-cannula flow")
    ROOM_AIR = "room_air", _("Room air (0.21)")


@audited
class Oxygenation(VisitCrf):
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="oxygenation", verbose_name=_("visit")
    )
    sampled_at = models.TimeField(_("sampling time"))
    o2_device = models.CharField(_("oxygen device"), max_length=16, choices=O2Device.choices)
    o2_flow = _small(_("oxygen flow"), "L/min", decimal=(4, 1))
    fio2 = models.DecimalField(
        _("FiO2"),
        max_digits=3,
        decimal_places=2,
        help_text=_("fraction 0.21-1.0; a percentage is converted"),
    )
    fio2_source = models.CharField(_("FiO2 source"), max_length=12, choices=Fio2Source.choices)
    pao2 = _small(_("PaO2"), "mmHg")
    paco2 = _small(_("PaCO2"), "mmHg")
    ph = _small(_("pH"), "", decimal=(4, 2))
    spo2 = _small(_("SpO2"), "%")

    class Meta:
        verbose_name = _("oxygenation")
        verbose_name_plural = _("oxygenation")
        constraints = [
            # FiO2 is a fraction of 0.21 to 1 (PROTOCOL.md section 9).
            models.CheckConstraint(
                condition=Q(fio2__gte=Decimal("0.21"), fio2__lte=1),
                name="oxygenation_fio2_fraction",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('oxygenation')}"

    @property
    def pf_ratio(self) -> float | None:
        """PaO2 / FiO2 (mmHg), to one decimal as the blood-gas report gives it."""
        if self.pao2 is None or not self.fio2:
            return None
        return round(self.pao2 / float(self.fio2), 1)

    @property
    def berlin_band(self) -> str | None:
        return berlin_band(self.pf_ratio)

    @property
    def sf_ratio(self) -> float | None:
        """SpO2 / FiO2 to one decimal, only when SpO2 is at or below 97 %."""
        if self.spo2 is None or not self.fio2 or self.spo2 > protocol.SF_MAX_SPO2:
            return None
        return round(self.spo2 / float(self.fio2), 1)


BERLIN_LABELS = {
    "severe": _("severe (≤ 100)"),
    "moderate": _("moderate (> 100 to 200)"),
    "mild": _("mild (> 200 to 300)"),
    "normal": _("above 300"),
}


def berlin_band(pf: float | None) -> str | None:
    if pf is None:
        return None
    for upper, band in protocol.PF_BANDS:
        if pf <= upper:
            return band
    return "normal"


def fio2_estimate(flow: Decimal | float | None) -> Decimal:
    """Nasal-cannula FiO2: 21 % + 4 % per L/min (PROTOCOL.md section 5), at most 1."""
    value = protocol.FIO2_ROOM_AIR + protocol.FIO2_PER_LITRE_NASAL * float(flow or 0)
    return min(Decimal("1.00"), Decimal(str(round(value, 2))))


@audited
class PulmonaryFunction(VisitCrf):
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="pft", verbose_name=_("visit")
    )
    done = models.BooleanField(_("test done"), choices=YES_NO)
    not_done_reason = models.CharField(
        _("reason not done"), max_length=200, blank=True, help_text=_("e.g. too unwell, on HFNC")
    )
    fvc_l = _small(_("FVC"), "L", decimal=(4, 2))
    fvc_pct = _small(_("FVC % predicted"), "%")
    fev1_l = _small(_("FEV1"), "L", decimal=(4, 2))
    fev1_pct = _small(_("FEV1 % predicted"), "%")
    dlco_value = _small(_("DLCO"), "", decimal=(5, 2))
    dlco_unit = models.CharField(
        _("DLCO unit"), max_length=20, blank=True, help_text=_("e.g. mmol/min/kPa")
    )
    dlco_pct = _small(_("DLCO % predicted"), "%")
    dlco_hb_corrected = models.BooleanField(
        _("DLCO corrected for haemoglobin"), choices=YES_NO, null=True, blank=True
    )
    reference_equation = models.CharField(
        _("reference equation"), max_length=40, blank=True, help_text=_("e.g. GLI 2012")
    )

    class Meta:
        verbose_name = _("pulmonary function")
        verbose_name_plural = _("pulmonary function")
        constraints = [
            # A test not done says why.
            models.CheckConstraint(
                condition=Q(done=True) | ~Q(not_done_reason=""), name="pft_not_done_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('pulmonary function')}"

    @property
    def fev1_fvc(self) -> float | None:
        if not self.fev1_l or not self.fvc_l:
            return None
        return round(float(self.fev1_l) / float(self.fvc_l), 2)


@audited
class SixMinuteWalk(VisitCrf):
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="six_mwt", verbose_name=_("visit")
    )
    done = models.BooleanField(_("test done"), choices=YES_NO)
    not_done_reason = models.CharField(_("reason not done"), max_length=200, blank=True)
    distance_m = _small(_("distance"), "m")
    spo2_pre = _small(_("SpO2 before"), "%")
    spo2_nadir = _small(_("lowest SpO2"), "%")
    hr_pre = _small(_("heart rate before"), "/min")
    hr_post = _small(_("heart rate after"), "/min")
    borg_dyspnoea = _small(_("Borg dyspnoea"), "0-10", MaxValueValidator(10))
    borg_fatigue = _small(_("Borg fatigue"), "0-10", MaxValueValidator(10))
    o2_flow = _small(_("oxygen flow during the walk"), "L/min", decimal=(4, 1))
    stopped_early = models.BooleanField(_("stopped early"), choices=YES_NO, default=False)
    stop_reason = models.CharField(_("reason for stopping"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("6-minute walk")
        verbose_name_plural = _("6-minute walks")
        constraints = [
            models.CheckConstraint(
                condition=Q(done=True) | ~Q(not_done_reason=""), name="six_mwt_not_done_reason"
            ),
            models.CheckConstraint(
                condition=Q(stopped_early=False) | ~Q(stop_reason=""), name="six_mwt_stop_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('6-minute walk')}"


@audited
class LabResult(ClinicalRecord):
    """One laboratory or serology result of a visit, with its unit and normal range."""

    subject_path = "visit__participant"

    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="labs", verbose_name=_("visit")
    )
    analyte = models.CharField(
        _("test"), max_length=16, choices=[(code, _(a.label)) for code, a in protocol.LABS.items()]
    )
    value = models.DecimalField(_("result"), max_digits=12, decimal_places=3, null=True, blank=True)
    text_value = models.CharField(
        _("result (text)"),
        max_length=40,
        blank=True,
        help_text=_("For titres and qualitative results."),
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    normal_low = models.DecimalField(
        _("normal range, low"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    normal_high = models.DecimalField(
        _("normal range, high"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    clinically_significant = models.BooleanField(
        _("clinically significant"), choices=YES_NO, null=True, blank=True
    )

    class Meta:
        verbose_name = _("laboratory result")
        verbose_name_plural = _("laboratory results")
        ordering = ["visit", "analyte"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "analyte"],
                condition=Q(retired_at__isnull=True),
                name="lab_once_per_visit",
            ),
            # A result is a number or a text, not both.
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(text_value=""), name="lab_value_or_text"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {self.get_analyte_display()}"

    @property
    def canonical_value(self) -> float | None:
        """The value in the unit analyses use (ferritin ng/mL, CRP mg/L, ...)."""
        if self.value is None:
            return None
        analyte = protocol.LABS[self.analyte]
        factors = dict(analyte.other_units)
        if self.unit and self.unit != analyte.unit and self.unit in factors:
            return round(float(self.value) * factors[self.unit], 3)
        return float(self.value)

    @property
    def out_of_range(self) -> str | None:
        if self.value is None:
            return None
        if self.normal_low is not None and self.value < self.normal_low:
            return "low"
        if self.normal_high is not None and self.value > self.normal_high:
            return "high"
        return None


class Pattern(models.TextChoices):
    OP = "op", _("Organizing pneumonia (OP)")
    NSIP = "nsip", _("NSIP")
    NSIP_OP = "nsip_op", _("NSIP with OP")
    UIP = "uip", _("UIP")
    DAD = "dad", _("Diffuse alveolar damage (DAD)")
    UNCLASSIFIABLE = "unclassifiable", _("Unclassifiable")


def _score(pattern, lobe: str):
    return models.PositiveSmallIntegerField(
        format_lazy("{}, {}", pattern, lobe),
        validators=[MinValueValidator(0), MaxValueValidator(5)],
    )


LOBE_LABELS = {"rul": _("RUL"), "rml": _("RML"), "rll": _("RLL"), "lul": _("LUL"), "lll": _("LLL")}
PATTERN_LABELS = {
    "gg": _("ground glass"),
    "cons": _("consolidation"),
    "fib": _("reticulation/fibrosis"),
}


@audited
class HrctScore(VisitCrf):
    """The HRCT score: 5 lobes x 3 patterns, each 0-5 by extent; totals are computed."""

    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="hrct", verbose_name=_("visit")
    )
    scan_date = models.DateField(_("scan date"))
    reader = models.CharField(_("reader"), max_length=100)
    blinded = models.BooleanField(_("reader blinded to time point"), choices=YES_NO)
    dominant_pattern = models.CharField(
        _("dominant pattern"), max_length=16, choices=Pattern.choices
    )
    gg_rul = _score(_("ground glass"), "RUL")
    gg_rml = _score(_("ground glass"), "RML")
    gg_rll = _score(_("ground glass"), "RLL")
    gg_lul = _score(_("ground glass"), "LUL")
    gg_lll = _score(_("ground glass"), "LLL")
    cons_rul = _score(_("consolidation"), "RUL")
    cons_rml = _score(_("consolidation"), "RML")
    cons_rll = _score(_("consolidation"), "RLL")
    cons_lul = _score(_("consolidation"), "LUL")
    cons_lll = _score(_("consolidation"), "LLL")
    fib_rul = _score(_("reticulation/fibrosis"), "RUL")
    fib_rml = _score(_("reticulation/fibrosis"), "RML")
    fib_rll = _score(_("reticulation/fibrosis"), "RLL")
    fib_lul = _score(_("reticulation/fibrosis"), "LUL")
    fib_lll = _score(_("reticulation/fibrosis"), "LLL")

    class Meta:
        verbose_name = _("HRCT score")
        verbose_name_plural = _("HRCT scores")
        constraints = [
            # Every lobe score is 0 to 5 by extent: 0 none, 1 <5 %, 2 5-25 %, 3 26-49 %,
            # 4 50-75 %, 5 >75 %.
            models.CheckConstraint(
                condition=Q(
                    **{
                        f"{p}_{lobe}__lte": 5
                        for p in protocol.HRCT_PATTERNS
                        for lobe in protocol.HRCT_LOBES
                    }
                ),
                name="hrct_scores_0_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('HRCT score')}"

    def pattern_total(self, pattern: str) -> int:
        return sum(getattr(self, f"{pattern}_{lobe}") or 0 for lobe in protocol.HRCT_LOBES)

    @property
    def gg_total(self) -> int:
        return self.pattern_total("gg")

    @property
    def cons_total(self) -> int:
        return self.pattern_total("cons")

    @property
    def fib_total(self) -> int:
        return self.pattern_total("fib")

    @property
    def total(self) -> int:
        return sum(self.pattern_total(p) for p in protocol.HRCT_PATTERNS)


class SurvivalStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DEAD = "dead", _("Dead")
    LOST = "lost", _("Lost to follow-up")


class Support(models.TextChoices):
    ROOM_AIR = "room_air", _("Room air")
    OXYGEN = "oxygen", _("Conventional oxygen")
    HFNC = "hfnc", _("High-flow nasal cannula")
    NIV = "niv", _("Non-invasive ventilation")
    INVASIVE = "invasive", _("Invasive ventilation")
    ECMO = "ecmo", _("ECMO")


@audited
class Survival(VisitCrf):
    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="survival", verbose_name=_("visit")
    )
    vital_status = models.CharField(_("vital status"), max_length=8, choices=SurvivalStatus.choices)
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    death_cause = models.CharField(_("cause of death"), max_length=200, blank=True)
    support = models.CharField(
        _("respiratory support"), max_length=12, choices=Support.choices, blank=True
    )

    class Meta:
        verbose_name = _("survival status")
        verbose_name_plural = _("survival status")
        constraints = [
            # A death has its date and cause.
            models.CheckConstraint(
                condition=~Q(vital_status="dead")
                | (Q(death_date__isnull=False) & ~Q(death_cause="")),
                name="survival_death_complete",
            )
        ]

    def __str__(self) -> str:
        return f"{self.visit}: {_('survival status')}"


class Frequency(models.TextChoices):
    QD = "qd", _("once daily")
    BID = "bid", _("twice daily")
    TID = "tid", _("three times daily")
    QID = "qid", _("four times daily")
    QOD = "qod", _("every other day")
    ONCE = "once", _("single dose")
    PRN = "prn", _("as needed")


PER_DAY = {"qd": 1, "bid": 2, "tid": 3, "qid": 4, "qod": 0.5, "once": 1, "prn": 0}


class Glucocorticoid(models.TextChoices):
    PREDNISONE = "prednisone", _("Prednisone")
    PREDNISOLONE = "prednisolone", _("Prednisolone")
    METHYLPREDNISOLONE = "methylprednisolone", _("Methylprednisolone")
    DEXAMETHASONE = "dexamethasone", _("Dexamethasone")
    HYDROCORTISONE = "hydrocortisone", _("Hydrocortisone")


@audited
class ConMed(ClinicalRecord):
    """A concomitant medication (a log, not tied to one visit)."""

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="conmeds", verbose_name=_("participant")
    )
    drug = models.CharField(_("drug"), max_length=100)
    glucocorticoid = models.CharField(
        _("glucocorticoid"), max_length=20, choices=Glucocorticoid.choices, blank=True,
        help_text=_("For a glucocorticoid: the daily dose is also shown as prednisone equivalent."),
    )  # fmt: skip
    dose = models.DecimalField(_("dose"), max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=20, default="mg")
    route = models.CharField(_("route"), max_length=20, help_text=_("e.g. oral, IV, inhaled"))
    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices)
    start_date = models.DateField(_("start date"))
    stop_date = models.DateField(_("stop date"), null=True, blank=True)
    indication = models.CharField(_("indication"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("concomitant medication")
        verbose_name_plural = _("concomitant medications")
        ordering = ["participant", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=models.F("start_date")),
                name="conmed_stop_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id}: {self.drug}"

    @property
    def prednisone_equivalent_mg_day(self) -> float | None:
        """Daily glucocorticoid dose as prednisone-equivalent mg/day."""
        if not self.glucocorticoid or self.unit.lower() != "mg":
            return None
        factor = protocol.PREDNISONE_EQUIVALENT[self.glucocorticoid]
        return round(float(self.dose) * factor * PER_DAY[self.frequency], 1)
