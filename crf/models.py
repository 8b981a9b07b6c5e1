"""What every clinical record shares: status, version, authorship, retirement, audit trail."""

from __future__ import annotations

import functools
import operator

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Every free-text answer, comment, reason and query text stops here (form and database alike).
TEXT_MAX_LENGTH = 4000


class CappedTextField(models.TextField):
    """Free text of at most TEXT_MAX_LENGTH characters: the form refuses more at the field and
    model validation refuses it; `capped` adds the CHECK constraint that makes PostgreSQL refuse
    it too (a column-level db_check would be ignored when an existing column is altered)."""

    def __init__(self, *args, max_length: int = TEXT_MAX_LENGTH, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)

    @cached_property
    def validators(self):
        return [*super().validators, MaxLengthValidator(self.max_length)]


def capped(model_class):
    """Add a CHECK constraint on the length of every CappedTextField of the model.

    Use as a class decorator (`audited` applies it to every clinical model); the constraints
    join the model's own, so makemigrations writes them like any Meta constraint.
    """
    caps = [
        # Free text stays within its cap, even for code that writes past the form.
        models.CheckConstraint(
            condition=LessThanOrEqual(Length(field.name), field.max_length),
            name=f"{model_class._meta.model_name}_{field.name}_cap",
        )
        for field in model_class._meta.local_fields
        if isinstance(field, CappedTextField)
    ]
    model_class._meta.constraints = [*model_class._meta.constraints, *caps]
    return model_class


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


class RecordDeletionRefused(Exception):
    """Clinical records are retired with a reason, never deleted."""


# The relation naming a record's participant: its lock is the casebook's and covers every row
# added under the participant, also through a visit or an adverse event.
CASEBOOK_RELATION = "participant"

# What locking and unlocking may change besides the lock itself; any other column is clinical.
LOCK_BOOKKEEPING = ("locked_at", "locked_by", "version", "updated_at", "updated_by")


def lock_parents(model) -> list[models.ForeignKey]:
    """The foreign keys to the clinical records a row of `model` is added under (its parents).

    A parent is recognised by its lock column rather than its class, because migrations render
    the triggers from historical models, which do not inherit from ClinicalRecord.
    """
    return [
        field
        for field in model._meta.concrete_fields
        if field.is_relation
        and (field.many_to_one or field.one_to_one)
        and not field.remote_field.parent_link
        # Not a link to a record of the same kind (a rescreening's previous screening).
        and field.related_model._meta.label_lower != model._meta.label_lower
        and "locked_at" in {f.name for f in field.related_model._meta.concrete_fields}
    ]


def lock_lines(model) -> list[tuple[models.ForeignKey, ...]]:
    """The chains of foreign keys, from `model`, to each record whose lock refuses a new row:
    every parent, and the participant reached through a parent (the casebook lock)."""
    lines: list[tuple[models.ForeignKey, ...]] = []
    for parent in lock_parents(model):
        lines.append((parent,))
        if parent.name != CASEBOOK_RELATION:
            lines += [(parent, *rest) for rest in _casebook_lines(parent.related_model, depth=4)]
    return lines


def _casebook_lines(model, *, depth: int) -> list[tuple[models.ForeignKey, ...]]:
    if depth == 0:
        return []
    lines: list[tuple[models.ForeignKey, ...]] = []
    for parent in lock_parents(model):
        if parent.name == CASEBOOK_RELATION:
            lines.append((parent,))
        else:
            lines += [
                (parent, *rest) for rest in _casebook_lines(parent.related_model, depth=depth - 1)
            ]
    return lines


class _AllOf(pgtrigger.Condition):
    """Trigger conditions that must all hold (pgtrigger.Q and its change conditions mixed)."""

    def __init__(self, *conditions: pgtrigger.Condition):
        self.conditions = conditions

    def resolve(self, model) -> str:
        joined = " AND ".join(f"({condition.resolve(model)})" for condition in self.conditions)
        return f"({joined})"


def _refusal(*, name: str, operation, condition, message: str) -> pgtrigger.Trigger:
    """A trigger that refuses the statement with `message` (% is the table's name)."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=operation,
        condition=condition,
        func=f"RAISE EXCEPTION '{message}', TG_TABLE_NAME;",
    )


class ParentUnlocked(pgtrigger.Trigger):
    """Refuse a new row (or a row moved) under a locked parent or a locked participant.

    The SQL is derived from the model's foreign keys when the migration is made, so every
    clinical model, present or future, is covered without code of its own. FOR SHARE makes a
    concurrent lock of the parent wait for this transaction, or this insert see that lock.
    """

    when = pgtrigger.Before
    operation = pgtrigger.Insert | pgtrigger.Update
    declare = [("parent_locked_at", "timestamptz")]

    def get_func(self, model) -> str:
        checks = [self._check(line) for line in lock_lines(model)]
        return "\n".join([*checks, "RETURN NEW;"])

    @staticmethod
    def _check(line: tuple[models.ForeignKey, ...]) -> str:
        first = line[0]
        parent = line[-1].related_model._meta
        tables = [f'"{first.related_model._meta.db_table}" t0']
        for n, fk in enumerate(line[1:], start=1):
            tables.append(
                f'JOIN "{fk.related_model._meta.db_table}" t{n} '
                f'ON t{n}."{fk.target_field.column}" = t{n - 1}."{fk.column}"'
            )
        last = len(line) - 1
        # Table and column names come from the models, never from input.
        return f"""
IF TG_OP = 'INSERT' OR NEW."{first.column}" IS DISTINCT FROM OLD."{first.column}" THEN
    SELECT t{last}."locked_at" INTO parent_locked_at FROM {" ".join(tables)}
    WHERE t0."{first.target_field.column}" = NEW."{first.column}" FOR SHARE OF t{last};
    IF parent_locked_at IS NOT NULL THEN
        RAISE EXCEPTION 'clinical record: no new % row under a locked {parent.model_name}',
            TG_TABLE_NAME;
    END IF;
END IF;"""  # noqa: S608


def clinical_triggers() -> list[pgtrigger.Trigger]:
    """The database rules every clinical table carries."""
    statuses = RecordStatus.values  # in workflow order
    backwards = [
        pgtrigger.Q(old__status=later, new__status=earlier)
        for n, later in enumerate(statuses)
        for earlier in statuses[:n]
    ]
    return [
        # Clinical records are never deleted (DESIGN.md section 3): retire them instead.
        pgtrigger.Protect(name="no_delete", operation=pgtrigger.Delete),
        # Every change raises the version, also raw SQL, so optimistic locking cannot be
        # bypassed by code that forgets it.
        pgtrigger.Trigger(
            name="bump_version",
            when=pgtrigger.Before,
            operation=pgtrigger.Update,
            func="NEW.version := OLD.version + 1; RETURN NEW;",
        ),
        # A locked record refuses every change, raw SQL included; only unlocking (clearing
        # locked_at) passes, and it is audited like any change.
        pgtrigger.Protect(
            name="locked",
            operation=pgtrigger.Update,
            condition=pgtrigger.Q(old__locked_at__isnull=False, new__locked_at__isnull=False),
        ),
        # A lock covers new rows: no visit, dose or AE under a locked participant, no CRF or
        # lab result under a locked visit.
        ParentUnlocked(name="parent_unlocked"),
        # Unlocking is its own audited step: the statement that clears the lock changes
        # nothing clinical.
        _refusal(
            name="unlock_alone",
            operation=pgtrigger.Update,
            condition=_AllOf(
                pgtrigger.Q(old__locked_at__isnull=False, new__locked_at__isnull=True),
                pgtrigger.AnyChange(exclude=list(LOCK_BOOKKEEPING)),
            ),
            message="clinical record: unlock a % row on its own, then change it",
        ),
        # Statuses are the workflow's and move only forward (a submitted record stays so).
        _refusal(
            name="status_valid",
            operation=pgtrigger.Insert | pgtrigger.Update,
            condition=~pgtrigger.Q(new__status__in=statuses),
            message="clinical record: unknown status of a % row",
        ),
        _refusal(
            name="status_forward",
            operation=pgtrigger.Update,
            condition=functools.reduce(operator.or_, backwards),
            message="clinical record: the status of a % row cannot move back",
        ),
        # A record entered in error stays as it was retired: no un-retiring, no change (it may
        # still be locked or unlocked with the rest of its casebook).
        _refusal(
            name="retired_frozen",
            operation=pgtrigger.Update,
            condition=_AllOf(
                pgtrigger.Q(old__retired_at__isnull=False),
                pgtrigger.AnyChange(exclude=list(LOCK_BOOKKEEPING)),
            ),
            message="clinical record: a % row entered in error cannot be changed",
        ),
    ]


def audited(model_class):
    """Put a clinical model under the audit trail and the database rules of clinical records.

    Use as a class decorator on every concrete ClinicalRecord; the system check crf.E001 fails
    when one is missing. (Triggers in an abstract Meta would be lost by every model that declares
    its own Meta, so they are registered here.)
    """
    pgtrigger.register(*clinical_triggers())(model_class)
    capped(model_class)
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
    )(model_class)


class ClinicalRecord(models.Model):
    """Abstract base of every clinical record (CRF, log entry, participant)."""

    status = models.CharField(
        _("status"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.SUBMITTED
    )
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_(
            "Increased by one by the database on every change; an edit based on an older "
            "version is refused."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("updated by"),
    )
    soft_range_fields = ArrayField(
        models.CharField(max_length=64),
        default=list,
        blank=True,
        editable=False,
        verbose_name=_("unusual values confirmed"),
        help_text=_("Fields whose value lies outside the usual range, confirmed by the user."),
    )
    retired_at = models.DateTimeField(_("entered in error at"), null=True, blank=True)
    retired_reason = CappedTextField(_("reason entered in error"), blank=True)
    locked_at = models.DateTimeField(
        _("locked at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("A locked record refuses every change until it is unlocked with a reason."),
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("locked by"),
    )

    # The study permission needed to read this record and its history; identity data narrows it.
    view_perm = "view_data"
    # True for records of identifying details: every page view showing one is logged (AccessLog).
    identifying = False
    # Whether the record heads a casebook (every record of one participant) that is signed and
    # locked as a whole.
    has_casebook = False

    # How a record reaches its participant: the ORM lookup from the record to the Participant
    # ("visit__participant"), "" for the participant itself, None for a record of no participant.
    # The one declaration every reader uses: the audit subject here, the casebook, SDV, exports.
    subject_path: str | None = None

    # True when audit_subject is made from the record's own id (a screening number): the id is
    # then taken before the insert, so the creation event is filed under the right subject.
    audit_subject_needs_pk = False

    # Fields that describe the record's bookkeeping rather than clinical content; the history
    # page shows them as who/when, not as changed values.
    BOOKKEEPING_FIELDS = (
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "soft_range_fields",
        "locked_at",
        "locked_by",
    )

    class Meta:
        abstract = True
        constraints = []

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_editable(self) -> bool:
        return not self.is_retired and not self.is_locked

    @classmethod
    def subject_lookup(cls) -> str | None:
        """The ORM lookup of the participant ID from this model ("visit__participant__...")."""
        if cls.subject_path is None:
            return None
        return f"{cls.subject_path}__participant_id" if cls.subject_path else "participant_id"

    @property
    def audit_subject(self) -> str:
        """The participant (or screening) a record belongs to, for the audit review filter.

        Follows `subject_path`; where the path breaks off (a screening not yet enrolled), the
        last record reached names the subject.
        """
        if self.subject_path is None:
            return ""
        owner = self
        for relation in filter(None, self.subject_path.split("__")):
            try:
                parent = getattr(owner, relation)
            except ObjectDoesNotExist:
                parent = None
            if parent is None:
                return owner.audit_subject if owner is not self else ""
            owner = parent
        return owner.participant_id

    def signature_records(self) -> list[ClinicalRecord]:
        """The records a signature of this record covers (itself; a visit adds its CRFs)."""
        return [self]

    @property
    def requires_reason_for_change(self) -> bool:
        """Once submitted, every change needs a reason (OpenClinica's rule, Annex 11 section 9)."""
        return self.pk is not None and self.status != RecordStatus.DRAFT

    def history_url(self) -> str:
        return reverse("crf:history", kwargs={"label": self._meta.label_lower, "pk": self.pk})

    def delete(self, *args, **kwargs):
        raise RecordDeletionRefused(
            _("Clinical records cannot be deleted; mark the record as entered in error instead.")
        )


class Notification(models.Model):
    """An alert or reminder to one person: in the in-app inbox and, once, by email.

    `key` is unique: it names the event and the recipient (e.g. "sae:12:v3:user:5"), so a task
    that runs twice, or two workers, never notify twice.
    """

    key = models.CharField(_("key"), max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    email = models.EmailField(
        _("email"), blank=True, help_text=_("For contacts without an account.")
    )
    kind = models.CharField(_("kind"), max_length=40)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    # Set by the worker sending the e-mail; a claim older than NOTIFICATION_EMAIL_LEASE belongs to
    # a worker that died mid-send, and another may take it.
    email_claimed_at = models.DateTimeField(_("e-mail claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        constraints = [
            # Someone receives it: an account or an email address.
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(email=""),
                name="notification_has_recipient",
            )
        ]

    def __str__(self) -> str:
        return self.subject


def _generic(related_name: str):
    return models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        related_name=related_name,
        verbose_name=_("form"),
    )


class QueryState(models.TextChoices):
    OPEN = "open", pgettext_lazy("query state", "Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class DataQuery(models.Model):
    """A question on one field of one clinical record, from a monitor or an edit check."""

    content_type = _generic("+")
    object_id = models.PositiveBigIntegerField(_("record"))
    field_name = models.CharField(_("field"), max_length=64)
    subject = models.CharField(_("participant"), max_length=20, db_index=True)
    state = models.CharField(
        _("state"), max_length=10, choices=QueryState.choices, default=QueryState.OPEN
    )
    automatic = models.BooleanField(_("raised by an edit check"), default=False)
    key = models.CharField(_("key"), max_length=200, unique=True, null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("opened by"),
    )  # fmt: skip
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("data query")
        verbose_name_plural = _("data queries")
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="query_record")]

    def __str__(self) -> str:
        return f"{self.subject} {self.field_name} ({self.get_state_display()})"

    @property
    def record(self):
        return self.content_type.get_object_for_this_type(pk=self.object_id)

    @property
    def field_label(self) -> str:
        """The queried field's name as the forms show it (the code if the field is gone)."""
        try:
            return self.content_type.model_class()._meta.get_field(self.field_name).verbose_name
        except (AttributeError, FieldDoesNotExist):
            return self.field_name


class QueryAction(models.TextChoices):
    OPEN = "open", _("opened")
    ANSWER = "answer", _("answered")
    CLOSE = "close", _("closed")
    REOPEN = "reopen", _("re-opened")


@pghistory.track(pghistory.InsertEvent())
@capped
class QueryStep(models.Model):
    """One step of a query's conversation (append-only)."""

    query = models.ForeignKey(
        DataQuery, on_delete=models.PROTECT, related_name="steps", verbose_name=_("query")
    )
    action = models.CharField(_("action"), max_length=8, choices=QueryAction.choices)
    text = CappedTextField(_("message"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    data_changed = models.BooleanField(_("data changed"), default=False)

    class Meta:
        verbose_name = _("query step")
        verbose_name_plural = _("query steps")
        ordering = ["at", "pk"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Verification(models.Model):
    """Source data verification of one record at one version; a later version clears it."""

    content_type = _generic("+")
    object_id = models.PositiveBigIntegerField(_("record"))
    subject = models.CharField(_("participant"), max_length=20, db_index=True)
    record_version = models.PositiveIntegerField(_("version verified"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("verified by"),
    )
    verified_at = models.DateTimeField(_("verified at"), auto_now_add=True)

    class Meta:
        verbose_name = _("source data verification")
        verbose_name_plural = _("source data verifications")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id"], name="sdv_once_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"SDV {self.subject} v{self.record_version}"


class SignatureMeaning(models.TextChoices):
    REVIEWED = "reviewed_approved", _("Reviewed and approved")


@pghistory.track(pghistory.InsertEvent())
class Signature(models.Model):
    """An investigator's electronic signature (21 CFR 11.50, 11.70): append-only."""

    content_type = _generic("+")
    object_id = models.PositiveBigIntegerField(_("record"))
    subject = models.CharField(_("participant"), max_length=20, db_index=True)
    scope = models.CharField(
        _("signature scope"), max_length=20, help_text=_("form, visit or casebook")
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signer"),
    )
    printed_name = models.CharField(_("printed name"), max_length=150)
    meaning = models.CharField(_("meaning"), max_length=30, choices=SignatureMeaning.choices)
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    record_sha256 = models.CharField(_("SHA-256 of the signed records"), max_length=64)

    class Meta:
        verbose_name = _("electronic signature")
        verbose_name_plural = _("electronic signatures")
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="signature_record")]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return (
            f"{self.printed_name}, {self.get_meaning_display()}, {self.signed_at:%Y-%m-%d %H:%M %z}"
        )


class AuditLink(models.Model):
    """One audit event sealed into the hash chain (append-only; see crf/chain.py)."""

    event_table = models.CharField(_("event table"), max_length=63)
    event_id = models.BigIntegerField(_("event"))
    event_sha256 = models.CharField(_("SHA-256 of the event"), max_length=64)
    previous_sha256 = models.CharField(_("SHA-256 of the previous link"), max_length=64)
    sha256 = models.CharField(_("SHA-256 of this link"), max_length=64)
    sealed_at = models.DateTimeField(_("sealed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit chain link")
        verbose_name_plural = _("audit chain links")
        constraints = [
            # An event is sealed once.
            models.UniqueConstraint(fields=["event_table", "event_id"], name="audit_link_once")
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.event_table}:{self.event_id} {self.sha256[:12]}"


class AuditDigest(models.Model):
    """The head of the audit chain at the end of a day (append-only), also sent to admins."""

    day = models.DateField(_("day"), unique=True)
    last_link = models.ForeignKey(
        AuditLink, on_delete=models.PROTECT, null=True, related_name="+",
        verbose_name=_("last link"),
    )  # fmt: skip
    links = models.PositiveBigIntegerField(_("links in the chain"))
    sha256 = models.CharField(_("SHA-256 of the chain's head"), max_length=64)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("audit digest")
        verbose_name_plural = _("audit digests")
        ordering = ["-day"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.sha256[:12]}"


class AccessLog(models.Model):
    """One page view that showed a record's identifying details (append-only).

    Who looked, when, at which record, on which page; never the values that were shown.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150)
    role = models.CharField(_("role"), max_length=100, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    record_label = models.CharField(_("record type"), max_length=100)
    record_id = models.CharField(_("record"), max_length=40)
    subject = models.CharField(_("participant"), max_length=20, blank=True, db_index=True)
    page = models.CharField(_("page"), max_length=100)
    request_id = models.CharField(_("request ID"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("access to identifying details")
        verbose_name_plural = _("accesses to identifying details")
        ordering = ["at", "pk"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.record_label}#{self.record_id} {self.at:%Y-%m-%d %H:%M}"
