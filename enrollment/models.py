"""Screening, consent, enrollment and end of study (PROTOCOL.md sections 1 and 2)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Left, Length
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.choices import YES_NO
from crf.models import CappedTextField, ClinicalRecord, audited
from crf.partial_dates import PartialDateField
from crf.schedule import Schedule, ScheduleFacts, build_schedule, study_day
from study import protocol


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class DmClassification(models.TextChoices):
    DM = "dm", _("Dermatomyositis (2017 EULAR/ACR criteria)")
    CADM = "cadm", _("Clinically amyopathic dermatomyositis")
    NEITHER = "neither", _("Neither")


class Mda5Assay(models.TextChoices):
    LINE_BLOT = "line_blot", _("Line immunoblot")
    ELISA = "elisa", _("ELISA")
    CLIA = "clia", _("Chemiluminescence (CLIA)")
    OTHER = "other", _("Other")


class Mda5Result(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")


class Mda5Titre(models.TextChoices):
    NEGATIVE = "neg", "-"
    PLUS1 = "1+", "+"
    PLUS2 = "2+", "++"
    PLUS3 = "3+", "+++"
    UNITS = "units", _("Quantitative (units)")


class PregnancyTest(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    NOT_DONE = "not_done", _("Not done")


class Failure(models.TextChoices):
    """Screen-failure reasons: one per inclusion or exclusion criterion (PROTOCOL.md section 2)."""

    AGE = "age", _("Age at consent outside the protocol range")
    NO_DM = "no_dm", _("No dermatomyositis or clinically amyopathic DM")
    MDA5_NEGATIVE = "mda5_negative", _("Anti-MDA5 not positive")
    NO_RPILD = "no_rpild", _("RP-ILD not confirmed by the investigator")
    PREGNANT = "pregnant", _("Pregnant or breastfeeding")
    PREGNANCY_TEST = "pregnancy_test", _("Positive pregnancy test")
    ALLERGY = "allergy", _("History of anaphylaxis or allergy to product components")
    INFECTION = "infection", _("Active pulmonary infection")
    EMBOLISM = "embolism", _("Pulmonary embolism")
    ECMO = "ecmo", _("On extracorporeal support")
    OTHER_UNSAFE = "other_unsafe", _("Other condition judged unsafe by the investigator")


def age_on(birth: dt.date, on: dt.date) -> int:
    """Return the age in whole years on a date."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@audited
class Screening(ClinicalRecord):
    """One screening of a person; a re-screen is a new record linked to the earlier one."""

    subject_path = "participant"

    screening_date = models.DateField(_("screening date"))
    previous_screening = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescreens",
        verbose_name=_("earlier screening"),
    )
    # Demographics
    date_of_birth = models.DateField(
        _("date of birth"), help_text=_("Age at consent is computed from it.")
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    # Inclusion 2: dermatomyositis, anti-MDA5
    dm_classification = models.CharField(
        _("dermatomyositis classification"), max_length=8, choices=DmClassification.choices
    )
    mda5_assay = models.CharField(_("anti-MDA5 assay"), max_length=12, choices=Mda5Assay.choices)
    mda5_test_date = models.DateField(_("anti-MDA5 test date"))
    mda5_result = models.CharField(_("anti-MDA5 result"), max_length=8, choices=Mda5Result.choices)
    mda5_titre = models.CharField(
        _("anti-MDA5 titre"), max_length=8, choices=Mda5Titre.choices, blank=True
    )
    mda5_value = models.DecimalField(
        _("anti-MDA5 value"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("When the titre is quantitative."),
    )
    mda5_unit = models.CharField(_("anti-MDA5 unit"), max_length=16, blank=True)
    # Inclusion 3: RP-ILD components
    symptom_onset_date = models.DateField(_("respiratory symptom onset"))
    ild_diagnosis_date = models.DateField(_("ILD diagnosis date"))
    hrct_progression = models.BooleanField(_("HRCT progression"), choices=YES_NO)
    hrct_first_date = models.DateField(_("first HRCT date"), null=True, blank=True)
    hrct_progression_date = models.DateField(
        _("HRCT showing progression, date"), null=True, blank=True
    )
    mmrc = models.PositiveSmallIntegerField(
        _("dyspnoea (mMRC)"),
        validators=[MaxValueValidator(4)],
        help_text=_("Modified Medical Research Council dyspnoea scale, 0-4."),
    )
    pf_ratio_first = models.PositiveSmallIntegerField(
        _("earlier PaO2/FiO2"),
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(700)],
        help_text=_("mmHg"),
    )
    pf_ratio_first_date = models.DateField(_("earlier PaO2/FiO2 date"), null=True, blank=True)
    pf_ratio_latest = models.PositiveSmallIntegerField(
        _("latest PaO2/FiO2"),
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(700)],
        help_text=_("mmHg"),
    )
    pf_ratio_latest_date = models.DateField(_("latest PaO2/FiO2 date"), null=True, blank=True)
    fvc_pct = models.PositiveSmallIntegerField(
        _("FVC % predicted"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(200)],
        help_text=_("Leave empty if not done."),
    )
    dlco_pct = models.PositiveSmallIntegerField(
        _("DLCO % predicted"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5), MaxValueValidator(200)],
        help_text=_("Leave empty if not done."),
    )
    rpild_confirmed = models.BooleanField(
        _("investigator confirms RP-ILD"),
        choices=YES_NO,
        help_text=_("The investigator's judgement; the computed hint is shown with it."),
    )
    # Exclusion criteria (all must be No)
    pregnant_or_breastfeeding = models.BooleanField(_("pregnant or breastfeeding"), choices=YES_NO)
    severe_allergy = models.BooleanField(
        _("history of anaphylaxis or allergy to product components"), choices=YES_NO
    )
    active_pulmonary_infection = models.BooleanField(
        _("active pulmonary infection"), choices=YES_NO
    )
    pulmonary_embolism = models.BooleanField(_("pulmonary embolism"), choices=YES_NO)
    extracorporeal_support = models.BooleanField(
        _("on extracorporeal support (ECMO etc.)"), choices=YES_NO
    )
    other_unsafe = models.BooleanField(
        _("other condition the investigator judges unsafe"), choices=YES_NO
    )
    other_unsafe_text = CappedTextField(_("other condition, details"), blank=True)
    # Pregnancy test (women of childbearing potential)
    childbearing_potential = models.BooleanField(
        _("woman of childbearing potential"), choices=YES_NO, null=True, blank=True
    )
    pregnancy_test_date = models.DateField(_("pregnancy test date"), null=True, blank=True)
    pregnancy_test_result = models.CharField(
        _("pregnancy test result"), max_length=8, choices=PregnancyTest.choices, blank=True
    )
    # Computed by the service from the answers; never typed.
    eligible = models.BooleanField(_("eligible"), default=False, editable=False)
    failure_reasons = ArrayField(
        models.CharField(max_length=16, choices=Failure.choices),
        default=list,
        blank=True,
        editable=False,
        verbose_name=_("screen-failure reasons"),
    )

    # The screening number is made from the id (SCR-0001).
    audit_subject_needs_pk = True

    class Meta:
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        ordering = ["-screening_date", "-pk"]
        constraints = [
            # An eligible screen has no failure reason; an ineligible one has at least one.
            models.CheckConstraint(
                condition=Q(eligible=True, failure_reasons=[])
                | (Q(eligible=False) & ~Q(failure_reasons=[])),
                name="screening_eligible_iff_no_failure",
            ),
            # "Other condition" = Yes needs its description (PROTOCOL.md section 2).
            models.CheckConstraint(
                condition=~Q(other_unsafe=True, other_unsafe_text=""),
                name="screening_other_unsafe_described",
            ),
            models.CheckConstraint(condition=Q(mmrc__lte=4), name="screening_mmrc_0_4"),
        ]

    def __str__(self) -> str:
        return self.screening_number

    @property
    def audit_subject(self) -> str:
        participant = getattr(self, "participant", None)
        return participant.participant_id if participant is not None else self.screening_number

    @property
    def screening_number(self) -> str:
        return f"SCR-{self.pk:04d}" if self.pk else "SCR-new"

    def get_absolute_url(self) -> str:
        return reverse("enrollment:screening_detail", kwargs={"pk": self.pk})

    def age_at(self, on: dt.date) -> int:
        return age_on(self.date_of_birth, on)

    @property
    def age_at_screening(self) -> int:
        return self.age_at(self.screening_date)

    @property
    def failure_labels(self) -> list[str]:
        labels = dict(Failure.choices)
        return [str(labels.get(code, code)) for code in self.failure_reasons]

    @property
    def rpild_hint(self) -> bool | None:
        """Radiological worsening within the protocol's window of symptom onset (a hint only)."""
        if not self.hrct_progression:
            return False
        if self.hrct_progression_date is None or self.symptom_onset_date is None:
            return None
        days = (self.hrct_progression_date - self.symptom_onset_date).days
        return 0 <= days <= protocol.RPILD_HINT_WINDOW_DAYS


@audited
class Consent(ClinicalRecord):
    """Written informed consent for one screening (inclusion 4)."""

    subject_path = "screening__participant"

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="consent", verbose_name=_("screening")
    )
    form_version = models.CharField(
        _("consent form version"), max_length=40, help_text=_("As printed on the form, e.g. 2.1.")
    )
    consented_at = models.DateTimeField(_("date and time of consent"))
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consent obtained by"),
    )

    class Meta:
        verbose_name = _("informed consent")
        verbose_name_plural = _("informed consents")

    def __str__(self) -> str:
        return f"{self.screening}: {self.form_version}"


@audited
class Identity(ClinicalRecord):
    """Identifying details, if the site keeps them here: visible to site staff only."""

    subject_path = "screening__participant"

    view_perm = "enter_data"
    identifying = True

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="identity", verbose_name=_("screening")
    )
    full_name = models.CharField(_("full name"), max_length=100)
    hospital_record_number = models.CharField(
        _("hospital record number"), max_length=40, blank=True
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")

    def __str__(self) -> str:
        return str(_("identity of %(screening)s") % {"screening": self.screening})


class StudyStatus(models.TextChoices):
    ON_STUDY = "on_study", _("On study")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LOST = "lost", _("Lost to follow-up")
    DIED = "died", _("Died")


@audited
class Participant(ClinicalRecord):
    """An enrolled participant; known everywhere by the participant ID only."""

    subject_path = ""

    has_casebook = True

    participant_id = models.CharField(_("participant ID"), max_length=20, unique=True)
    number = models.PositiveIntegerField(_("enrollment number"), unique=True)
    screening = models.OneToOneField(
        Screening,
        on_delete=models.PROTECT,
        related_name="participant",
        verbose_name=_("screening"),
    )
    enrollment_date = models.DateField(_("enrollment date"))
    planned_first_dose = models.DateField(_("planned first dose"))
    first_dose_date = models.DateField(
        _("actual first dose"),
        null=True,
        blank=True,
        help_text=_("Study day 1. Re-anchors every visit target."),
    )

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["number"]
        constraints = [
            # The first dose cannot precede enrollment (PROTOCOL.md section 4).
            models.CheckConstraint(
                condition=Q(planned_first_dose__gte=models.F("enrollment_date")),
                name="participant_planned_dose_after_enrollment",
            ),
            models.CheckConstraint(
                condition=Q(first_dose_date__isnull=True)
                | Q(first_dose_date__gte=models.F("enrollment_date")),
                name="participant_first_dose_after_enrollment",
            ),
        ]

    def __str__(self) -> str:
        return self.participant_id

    def get_absolute_url(self) -> str:
        return reverse("dashboards:casebook", kwargs={"participant_id": self.participant_id})

    @property
    def anchor(self) -> dt.date:
        """Study day 1: the actual first dose once given, else the planned one."""
        return self.first_dose_date or self.planned_first_dose

    @property
    def study_status(self) -> str:
        exit_record = getattr(self, "exit", None)
        if exit_record is not None and not exit_record.is_retired:
            return exit_record.kind
        return StudyStatus.ON_STUDY

    @property
    def study_status_label(self) -> str:
        return str(StudyStatus(self.study_status).label)

    @property
    def is_active(self) -> bool:
        return self.study_status == StudyStatus.ON_STUDY

    @property
    def expected_until(self) -> dt.date | None:
        """The last day data is expected, or None while the participant is followed."""
        exit_record = getattr(self, "exit", None)
        if exit_record is None or exit_record.is_retired:
            return None
        if exit_record.kind == StudyStatus.WITHDRAWN and exit_record.followup_permitted:
            return None
        return exit_record.exit_date

    def study_day_on(self, on: dt.date) -> int:
        return study_day(self.anchor, on)

    @property
    def exit_date(self) -> dt.date | None:
        """The day the participant left the study, whatever the way (no dose after it)."""
        exit_record = getattr(self, "exit", None)
        if exit_record is None or exit_record.is_retired:
            return None
        return exit_record.exit_date

    def schedule(self, *, today: dt.date, doses: Mapping, visits: Mapping) -> Schedule:
        """The schedule with every item's state: `doses` by study day and `visits` by code hold
        the DoseFact and VisitFact of every current record (outcomes.selectors.schedules)."""
        return build_schedule(
            ScheduleFacts(
                first_dose=self.anchor,
                doses=doses,
                visits=visits,
                exit_date=self.exit_date,
                visits_end=self.expected_until,
            ),
            today=today,
            dosing_days=protocol.DOSING_DAYS,
            visits=protocol.VISITS,
        )


@audited
class MedicalHistory(ClinicalRecord):
    """A condition the participant had before the first dose (CDASH MH); several per participant.

    A condition that begins on or after the first dose is an adverse event instead.
    """

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="medical_history",
        verbose_name=_("participant"),
    )
    term = models.CharField(
        _("condition"),
        max_length=200,
        help_text=_("As the source names it, e.g. type 2 diabetes mellitus."),
    )
    meddra_code = models.CharField(
        _("MedDRA code"),
        max_length=8,
        blank=True,
        validators=[RegexValidator(r"^\d{8}$", _("A MedDRA code has 8 digits."), code="meddra")],
        help_text=_("Lowest level term code, when coded; leave empty otherwise."),
    )
    start_date = PartialDateField(
        _("start date"),
        help_text=_("YYYY-MM-DD, or YYYY-MM or YYYY when the day or month is not known."),
    )
    ongoing = models.BooleanField(
        _("ongoing"), choices=YES_NO, help_text=_("Still present when the history was taken.")
    )
    end_date = PartialDateField(
        _("end date"),
        blank=True,
        help_text=_("When the condition resolved; YYYY-MM or YYYY if that is all that is known."),
    )

    class Meta:
        verbose_name = _("medical history")
        verbose_name_plural = _("medical history")
        ordering = ["participant", "start_date", "pk"]
        constraints = [
            # An ongoing condition has no end date; a resolved one has one (CDASH MHONGO, MHENDTC).
            models.CheckConstraint(
                condition=Q(ongoing=True, end_date="") | (Q(ongoing=False) & ~Q(end_date="")),
                name="medical_history_end_iff_resolved",
            ),
            # The end does not precede the start, compared at the end date's precision.
            models.CheckConstraint(
                condition=Q(end_date="") | Q(end_date__gte=Left("start_date", Length("end_date"))),
                name="medical_history_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id}: {self.term}"

    def get_absolute_url(self) -> str:
        return reverse(
            "enrollment:medical_history_edit",
            kwargs={"participant_id": self.participant.participant_id, "pk": self.pk},
        )


class ExitKind(models.TextChoices):
    COMPLETED = StudyStatus.COMPLETED.value, StudyStatus.COMPLETED.label
    WITHDRAWN = StudyStatus.WITHDRAWN.value, StudyStatus.WITHDRAWN.label
    LOST = StudyStatus.LOST.value, StudyStatus.LOST.label
    DIED = StudyStatus.DIED.value, StudyStatus.DIED.label


class WithdrawalDecider(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    INVESTIGATOR = "investigator", _("Investigator")
    SPONSOR = "sponsor", _("Sponsor")
    ETHICS = "ethics", _("Ethics committee")
    OTHER = "other", _("Other")


@audited
class StudyExit(ClinicalRecord):
    """How and when a participant left the study. All their data stays."""

    subject_path = "participant"

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="exit", verbose_name=_("participant")
    )
    kind = models.CharField(_("status"), max_length=12, choices=ExitKind.choices)
    exit_date = models.DateField(_("date of this status"))
    decided_by = models.CharField(
        _("withdrawal decided by"), max_length=12, choices=WithdrawalDecider.choices, blank=True
    )
    reason = CappedTextField(_("reason"), blank=True)
    followup_permitted = models.BooleanField(
        _("follow-up data may still be collected"), choices=YES_NO, null=True, blank=True
    )
    last_contact_date = models.DateField(_("last contact"), null=True, blank=True)
    death_cause = CappedTextField(_("cause of death"), blank=True)

    class Meta:
        verbose_name = _("study exit")
        verbose_name_plural = _("study exits")
        constraints = [
            # A withdrawal records who decided, why, and whether follow-up may continue.
            models.CheckConstraint(
                condition=~Q(kind="withdrawn")
                | (~Q(decided_by="") & ~Q(reason="") & Q(followup_permitted__isnull=False)),
                name="exit_withdrawal_complete",
            ),
            # A death records its cause.
            models.CheckConstraint(
                condition=~Q(kind="died") | ~Q(death_cause=""), name="exit_death_has_cause"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant}: {self.get_kind_display()}"


class DeviationCategory(models.TextChoices):
    VISIT_WINDOW = "visit_window", _("Visit out of window")
    DOSING = "dosing", _("Dosing")
    ELIGIBILITY = "eligibility", _("Eligibility")
    CONSENT = "consent", _("Informed consent")
    PROCEDURE = "procedure", _("Study procedure")
    OTHER = "other", _("Other")


class DeviationSeverity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")


@audited
class ProtocolDeviation(ClinicalRecord):
    """A protocol deviation: entered by staff, or recorded automatically (visit out of window)."""

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="deviations",
        verbose_name=_("participant"),
    )
    category = models.CharField(_("category"), max_length=16, choices=DeviationCategory.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=DeviationSeverity.choices)
    occurred_on = models.DateField(_("date"))
    description = CappedTextField(_("description"))
    action = CappedTextField(_("action taken"), blank=True)
    source_key = models.CharField(
        _("source record"),
        max_length=100,
        blank=True,
        help_text=_("For a deviation recorded automatically: the record that caused it."),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("protocol deviation")
        verbose_name_plural = _("protocol deviations")
        ordering = ["-occurred_on", "-pk"]
        constraints = [
            # An automatic deviation is recorded once per cause.
            models.UniqueConstraint(
                fields=["source_key"], condition=~Q(source_key=""), name="deviation_source_once"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.participant.participant_id}: {self.get_category_display()} {self.occurred_on}"
        )


class ScheduleEntry(models.Model):
    """One dosing day or visit of a participant's schedule, dated by crf.schedule.build_schedule.

    Derived data, not a clinical record: rebuilt (outcomes.schedule_table) in the transaction of
    every save that changes a schedule fact, never edited by hand, so it carries no audit trail.
    The state of an item is not stored: it depends on the day, and schedule_store.state_of()
    computes it in SQL from these dates exactly as crf.schedule.item_state does in Python.
    """

    participant = models.ForeignKey(
        # Derived rows follow their participant (who is never deleted anyway).
        Participant,
        on_delete=models.CASCADE,
        related_name="schedule_entries",
        verbose_name=_("participant"),
    )
    position = models.PositiveSmallIntegerField(_("order in the schedule"))
    kind = models.CharField(_("kind"), max_length=5)  # "dose" or "visit"
    code = models.CharField(_("code"), max_length=20)
    study_day = models.IntegerField(_("study day"))
    target = models.DateField(_("target"))
    earliest = models.DateField(_("window opens"))
    latest = models.DateField(_("window closes"))
    done_on = models.DateField(_("recorded on"), null=True)
    complete = models.BooleanField(_("every form recorded"), default=True)
    expected_until = models.DateField(_("expected until"), null=True)

    class Meta:
        verbose_name = _("schedule entry")
        verbose_name_plural = _("schedule entries")
        ordering = ["participant", "position"]
        constraints = [
            # One row per item of a participant's schedule: rebuilds upsert on it.
            models.UniqueConstraint(fields=["participant", "code"], name="schedule_entry_once"),
        ]
        indexes = [
            # The next item of a participant, in schedule order.
            models.Index(fields=["participant", "position"], name="schedule_entry_order"),
            # The worklist's buckets: open windows, windows about to open, windows closed.
            models.Index(
                fields=["earliest", "latest"],
                condition=Q(done_on__isnull=True),
                name="schedule_entry_pending",
            ),
            models.Index(fields=["latest"], name="schedule_entry_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.code} {self.target}"


class ScheduleBuild(models.Model):
    """When a participant's schedule entries were built and for which days they hold.

    Visits counted from the last dose use the planned last day until dosing has ended, then the
    last dose given (crf.schedule.dosing_end): the entries of a participant on study built before
    the last planned dosing day stop holding the day after it, and the other way round. Readers
    rebuild the few stale participants first (schedule_store.refresh).
    """

    participant = models.OneToOneField(
        Participant,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="schedule_build",
        verbose_name=_("participant"),
    )
    valid_from = models.DateField(_("holds from"), null=True)  # None: since always
    valid_until = models.DateField(_("holds before"), null=True)  # None: for ever
    visits_end = models.DateField(_("no visit expected from"), null=True)  # None: followed
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("schedule build")
        verbose_name_plural = _("schedule builds")

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.valid_from} to {self.valid_until}"
