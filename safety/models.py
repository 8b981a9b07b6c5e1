"""Adverse events, follow-ups, regulatory reports and stopping-rule alerts (PROTOCOL.md §6)."""

from __future__ import annotations

import datetime as dt

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.choices import YES_NO
from crf.models import CappedTextField, ClinicalRecord, audited, capped
from enrollment.models import Participant
from safety.messages import render
from study import protocol


class CtcaeTerm(models.Model):
    """A CTCAE v5.0 term (reference data, loaded by a migration; see safety/data/README.md)."""

    meddra_code = models.PositiveIntegerField(_("MedDRA LLT code"), unique=True)
    soc = models.CharField(_("system organ class"), max_length=100, db_index=True)
    term = models.CharField(_("CTCAE term"), max_length=150, unique=True)
    grade1 = models.TextField(_("grade 1"), blank=True)
    grade2 = models.TextField(_("grade 2"), blank=True)
    grade3 = models.TextField(_("grade 3"), blank=True)
    grade4 = models.TextField(_("grade 4"), blank=True)
    grade5 = models.TextField(_("grade 5"), blank=True)
    definition = models.TextField(_("definition"), blank=True)

    class Meta:
        verbose_name = _("CTCAE term")
        verbose_name_plural = _("CTCAE terms")
        ordering = ["soc", "term"]

    def __str__(self) -> str:
        return self.term

    @property
    def is_other_specify(self) -> bool:
        return self.term.endswith("Other, specify")

    @property
    def grades(self) -> list[int]:
        """The grades this term defines."""
        return [grade for grade in range(1, 6) if getattr(self, f"grade{grade}")]

    def grade_text(self, grade: int) -> str:
        return getattr(self, f"grade{grade}", "") if 1 <= grade <= 5 else ""


class Relatedness(models.TextChoices):
    DEFINITELY = "definitely", _("Definitely related")
    PROBABLY = "probably", _("Probably related")
    POSSIBLY = "possibly", _("Possibly related")
    POSSIBLY_NOT = "possibly_not", _("Possibly not related")
    DEFINITELY_NOT = "definitely_not", _("Definitely not related")


RELATED = {Relatedness.DEFINITELY, Relatedness.PROBABLY, Relatedness.POSSIBLY}


class ActionTaken(models.TextChoices):
    NONE = "none", _("Dose not changed")
    INTERRUPTED = "interrupted", _("Drug interrupted")
    WITHDRAWN = "withdrawn", _("Drug withdrawn")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered/resolved")
    RECOVERING = "recovering", _("Recovering/resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered/not resolved")
    SEQUELAE = "sequelae", _("Recovered/resolved with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


SERIOUS_CRITERIA = (
    ("sae_death", _("results in death")),
    ("sae_life_threatening", _("is life-threatening")),
    ("sae_hospitalisation", _("requires or prolongs hospitalisation")),
    ("sae_disability", _("results in persistent disability or incapacity")),
    ("sae_congenital", _("is a congenital anomaly or birth defect")),
    ("sae_important", _("is an important medical event")),
)


def _criterion(label):
    return models.BooleanField(label, choices=YES_NO, default=False)


@audited
class AdverseEvent(ClinicalRecord):
    """One adverse event of one participant: the coordinator's report and the investigator's
    assessment. A later change of grade is a follow-up, never an overwrite."""

    subject_path = "participant"

    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="adverse_events",
        verbose_name=_("participant"),
    )
    number = models.PositiveSmallIntegerField(
        _("AE number"), help_text=_("Per participant (AESPID).")
    )
    verbatim_term = models.CharField(
        _("verbatim term"), max_length=200, help_text=_("As reported.")
    )
    term = models.ForeignKey(CtcaeTerm, on_delete=models.PROTECT, verbose_name=_("CTCAE term"))
    other_specify = models.CharField(
        _("other, specify"),
        max_length=200,
        blank=True,
        help_text=_("When the term is 'Other, specify'."),
    )
    onset_date = models.DateField(_("onset date"))
    onset_time = models.TimeField(_("onset time"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), choices=YES_NO, default=True)
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade at first report"), help_text=_("Only the grades the term defines.")
    )
    serious = models.BooleanField(_("serious"), choices=YES_NO)
    sae_death = _criterion(SERIOUS_CRITERIA[0][1])
    sae_life_threatening = _criterion(SERIOUS_CRITERIA[1][1])
    sae_hospitalisation = _criterion(SERIOUS_CRITERIA[2][1])
    sae_disability = _criterion(SERIOUS_CRITERIA[3][1])
    sae_congenital = _criterion(SERIOUS_CRITERIA[4][1])
    sae_important = _criterion(SERIOUS_CRITERIA[5][1])
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    action_taken = models.CharField(
        _("action with study drug"), max_length=16, choices=ActionTaken.choices
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    treatment = CappedTextField(_("treatment given"), blank=True)
    awareness_at = models.DateTimeField(
        _("site aware at"),
        help_text=_("When the site learned of the event; regulatory clocks start here."),
    )
    # The investigator's assessment (a separate step).
    rel_study_drug = models.CharField(
        _("relationship to MSC-exos"), max_length=16, choices=Relatedness.choices, blank=True
    )
    rel_background = models.CharField(
        _("relationship to background immunosuppressants"),
        max_length=16,
        choices=Relatedness.choices,
        blank=True,
    )
    expected = models.BooleanField(
        _("expected (investigator's brochure)"), choices=YES_NO, null=True, blank=True
    )
    ib_version = models.CharField(_("investigator's brochure version"), max_length=20, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assessed by"),
    )
    assessed_at = models.DateTimeField(_("assessed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["participant", "number"]
        indexes = [
            models.Index(fields=["serious", "onset_date"], name="ae_serious_onset"),
            models.Index(fields=["participant", "onset_date"], name="ae_participant_onset"),
        ]
        constraints = [
            # AESPID: one number per event of a participant.
            models.UniqueConstraint(
                fields=["participant", "number"], name="ae_number_per_participant"
            ),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=5), name="ae_grade_1_5"),
            # Serious exactly when at least one ICH E2A criterion is Yes (PROTOCOL.md section 6).
            models.CheckConstraint(
                condition=Q(serious=True)
                & (
                    Q(sae_death=True)
                    | Q(sae_life_threatening=True)
                    | Q(sae_hospitalisation=True)
                    | Q(sae_disability=True)
                    | Q(sae_congenital=True)
                    | Q(sae_important=True)
                )
                | Q(
                    serious=False,
                    sae_death=False,
                    sae_life_threatening=False,
                    sae_hospitalisation=False,
                    sae_disability=False,
                    sae_congenital=False,
                    sae_important=False,
                ),
                name="ae_serious_iff_criterion",
            ),
            # An event ends on or after its onset; an ongoing one has no end date.
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("onset_date")),
                name="ae_end_after_onset",
            ),
            models.CheckConstraint(
                condition=Q(ongoing=True, end_date__isnull=True)
                | Q(ongoing=False, end_date__isnull=False),
                name="ae_ongoing_iff_no_end",
            ),
            # A fatal outcome has its date of death.
            models.CheckConstraint(
                condition=~Q(outcome="fatal") | Q(death_date__isnull=False),
                name="ae_fatal_has_death_date",
            ),
            # An assessment is complete: both relationships, expectedness, who and when.
            models.CheckConstraint(
                condition=Q(assessed_at__isnull=True)
                | (
                    ~Q(rel_study_drug="")
                    & ~Q(rel_background="")
                    & Q(expected__isnull=False, assessed_by__isnull=False)
                ),
                name="ae_assessment_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.participant_id} AE {self.number}: {self.term.term}"

    def get_absolute_url(self) -> str:
        return reverse("safety:ae_detail", kwargs={"pk": self.pk})

    @property
    def related(self) -> bool | None:
        """Related to MSC-exos (definitely, probably or possibly); None until assessed."""
        if not self.rel_study_drug:
            return None
        return self.rel_study_drug in RELATED

    @property
    def susar(self) -> bool:
        """Suspected unexpected serious adverse reaction: serious, related and unexpected."""
        return bool(self.serious and self.related and self.expected is False)

    @property
    def is_assessed(self) -> bool:
        return self.assessed_at is not None

    @property
    def criteria_labels(self) -> list[str]:
        return [str(label) for name, label in SERIOUS_CRITERIA if getattr(self, name)]

    @property
    def term_label(self) -> str:
        if self.term.is_other_specify and self.other_specify:
            return f"{self.term.term}: {self.other_specify}"
        return self.term.term

    def grade_history(self) -> list[tuple[dt.date, int, str]]:
        """(date, grade, note) of the first report and every follow-up, oldest first."""
        history = [(self.onset_date, self.grade, str(_("first report")))]
        follow_ups = getattr(self, "_prefetched_objects_cache", {}).get("follow_ups")
        if follow_ups is None:
            follow_ups = self.follow_ups.filter(retired_at__isnull=True)
        history += [(f.on_date, f.grade, f.note) for f in follow_ups if not f.is_retired]
        return sorted(history, key=lambda entry: entry[0])

    @property
    def worst_grade(self) -> int:
        if "worst" in self.__dict__:  # read through safety.selectors.with_figures
            return self.__dict__["worst"]
        return max(grade for _on, grade, _note in self.grade_history())

    @staticmethod
    def worst_grade_expression() -> Greatest:
        """worst_grade in SQL: the first report's grade or a worse current follow-up's."""
        follow_ups = (
            AeFollowUp.objects.filter(adverse_event=OuterRef("pk"), retired_at__isnull=True)
            .order_by()
            .values("adverse_event")
            .annotate(worst=Max("grade"))
            .values("worst")
        )
        # GREATEST skips NULL: without a follow-up, the first grade.
        return Greatest("grade", Subquery(follow_ups), output_field=models.IntegerField())

    @property
    def current_grade(self) -> int:
        return self.grade_history()[-1][1]

    def susar_due_days(self) -> int:
        fatal_or_lt = self.outcome == Outcome.FATAL or self.sae_death or self.sae_life_threatening
        return protocol.SUSAR_FATAL_DAYS if fatal_or_lt else protocol.SUSAR_OTHER_DAYS


@audited
class AeFollowUp(ClinicalRecord):
    """A dated change of grade of an adverse event, linked to its first report."""

    subject_path = "adverse_event__participant"

    adverse_event = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name=_("adverse event"),
    )
    on_date = models.DateField(_("date"))
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"))
    note = CappedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("AE grade follow-up")
        verbose_name_plural = _("AE grade follow-ups")
        ordering = ["adverse_event", "on_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=5), name="ae_followup_grade_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.adverse_event} follow-up {self.on_date}: grade {self.grade}"


class ReportKind(models.TextChoices):
    INITIAL = "initial", _("Initial SAE report")
    FOLLOW_UP = "follow_up", _("Follow-up report")
    SUSAR = "susar", _("SUSAR expedited report")


@audited
class SafetyReport(ClinicalRecord):
    """A report of a serious event sent to the sponsor, the ethics committee or the regulator."""

    subject_path = "adverse_event__participant"

    adverse_event = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        related_name="reports",
        verbose_name=_("adverse event"),
    )
    kind = models.CharField(_("report"), max_length=12, choices=ReportKind.choices)
    sent_at = models.DateTimeField(_("sent at"))
    sent_to = models.CharField(
        _("sent to"), max_length=200, help_text=_("e.g. sponsor, ethics committee, NMPA")
    )
    follows = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_up_reports",
        verbose_name=_("follows report"),
    )
    notes = CappedTextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("safety report")
        verbose_name_plural = _("safety reports")
        ordering = ["adverse_event", "sent_at"]
        constraints = [
            # A follow-up report is linked to the report it follows.
            models.CheckConstraint(
                condition=~Q(kind="follow_up") | Q(follows__isnull=False),
                name="report_follow_up_linked",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sent_at:%Y-%m-%d %H:%M}"


# What was met, and when: facts that never change once an alert is recorded.
ALERT_FACTS = (
    "rule",
    "key",
    "message",
    "message_template",
    "message_params",
    "participant",
    "study_wide",
    "triggered_at",
)


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
@capped
class StoppingRuleAlert(models.Model):
    """A stopping rule that was met: shown on every page until an investigator acknowledges it.

    Audited, and append-only but for one forward step: the facts of what was met never change,
    and the acknowledgement (who, when, with what comment) is written once.
    """

    rule = models.CharField(_("rule"), max_length=40)
    key = models.CharField(_("key"), max_length=200, unique=True)
    message = models.TextField(_("message"), help_text=_("In English, as it was first shown."))
    message_template = models.TextField(_("message template"), blank=True)
    message_params = models.JSONField(_("message parameters"), default=dict, blank=True)
    participant = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("participant"),
    )
    study_wide = models.BooleanField(_("study-wide"), default=True)
    triggered_at = models.DateTimeField(_("triggered at"), auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    comment = CappedTextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("stopping-rule alert")
        verbose_name_plural = _("stopping-rule alerts")
        ordering = ["-triggered_at"]
        constraints = [
            # An acknowledgement records who, when and why.
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_by__isnull=False) & ~Q(comment="")),
                name="alert_ack_complete",
            )
        ]
        triggers = [
            # A safety decision stays on record: an alert is never deleted, also by raw SQL.
            pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete),
            # What was met, for whom and when is a fact, never rewritten.
            pgtrigger.Protect(
                name="facts_frozen",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(*ALERT_FACTS),
            ),
            # Acknowledging is a one-time forward step: an acknowledged alert is frozen, so its
            # acknowledgement can be neither withdrawn nor rewritten.
            pgtrigger.Protect(
                name="acknowledged_once",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__acknowledged_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """The message in the reader's language (the stored English one for older alerts)."""
        if not self.message_template:
            return self.message
        return render(self.message_template, self.message_params)
