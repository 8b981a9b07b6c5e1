"""Data queries, source data verification, e-signatures and locking of clinical records."""

from __future__ import annotations

import hashlib
import json

from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.middleware import SESSION_LOGIN_AT
from crf.audit import actor_context, audit_context
from crf.models import (
    ClinicalRecord,
    DataQuery,
    Notification,
    QueryAction,
    QueryState,
    QueryStep,
    Signature,
    SignatureMeaning,
    Verification,
)
from crf.notifications import notify
from crf.selectors import clinical_models
from ops.outbox import outbox_enqueue

# --- Data queries ---------------------------------------------------------------------------------


def _ref(record: ClinicalRecord) -> dict:
    return {"content_type": ContentType.objects.get_for_model(record), "object_id": record.pk}


@transaction.atomic
def query_open(
    *,
    record: ClinicalRecord,
    field_name: str,
    text: str,
    actor=None,
    automatic: bool = False,
    key: str | None = None,
) -> DataQuery:
    """Raise a query on a field (by a monitor, or by an edit check with a unique key)."""
    if not text.strip():
        raise ValidationError({"text": _("Write the question.")}, code="required")
    if field_name not in {f.name for f in record._meta.fields}:
        raise ValidationError({"field_name": _("Unknown field.")}, code="unknown_field")
    if key and (existing := DataQuery.objects.filter(key=key).first()):
        return existing
    try:
        with transaction.atomic():
            query = DataQuery.objects.create(
                **_ref(record),
                field_name=field_name,
                subject=record.audit_subject,
                automatic=automatic,
                key=key,
                opened_by=actor,
            )
    except IntegrityError:
        return DataQuery.objects.get(key=key)
    QueryStep.objects.create(query=query, action=QueryAction.OPEN, text=text.strip(), by=actor)
    return query


def _transition(
    query: DataQuery,
    *,
    allowed: set[str],
    to: str,
    action: str,
    text: str,
    actor,
    data_changed=False,
):
    if not text.strip():
        raise ValidationError({"text": _("Write a message.")}, code="required")
    # Race-safe: only a query still in an allowed state moves.
    changes = {"state": to, "closed_at": timezone.now() if to == QueryState.CLOSED else None}
    moved = DataQuery.objects.filter(pk=query.pk, state__in=allowed).update(**changes)
    if moved != 1:
        raise ValidationError(_("The query changed meanwhile; reload the page."), code="conflict")
    QueryStep.objects.create(
        query=query, action=action, text=text.strip(), by=actor, data_changed=data_changed
    )
    query.refresh_from_db()
    return query


@transaction.atomic
def query_answer(*, query: DataQuery, actor, text: str, data_changed: bool = False) -> DataQuery:
    return _transition(
        query,
        allowed={QueryState.OPEN},
        to=QueryState.ANSWERED,
        action=QueryAction.ANSWER,
        text=text,
        actor=actor,
        data_changed=data_changed,
    )


@transaction.atomic
def query_close(*, query: DataQuery, actor, text: str) -> DataQuery:
    return _transition(
        query,
        allowed={QueryState.OPEN, QueryState.ANSWERED},
        to=QueryState.CLOSED,
        action=QueryAction.CLOSE,
        text=text,
        actor=actor,
    )


@transaction.atomic
def query_reopen(*, query: DataQuery, actor, text: str) -> DataQuery:
    return _transition(
        query,
        allowed={QueryState.ANSWERED, QueryState.CLOSED},
        to=QueryState.OPEN,
        action=QueryAction.REOPEN,
        text=text,
        actor=actor,
    )


def open_query_count(records: list[ClinicalRecord]) -> int:
    """Queries not closed on any of these records (one query)."""
    from django.db.models import Q

    condition = Q(pk__in=[])
    for record in records:
        condition |= Q(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)
    return DataQuery.objects.filter(condition).exclude(state=QueryState.CLOSED).count()


def soft_range_queries(record: ClinicalRecord) -> None:
    """Open a query for each confirmed unusual value (once per record and field)."""
    for field_name in record.soft_range_fields:
        field = record._meta.get_field(field_name)
        query_open(
            record=record,
            field_name=field_name,
            text=_(
                "%(field)s = %(value)s is outside the usual range; confirmed at entry. Please "
                "check it against the source."
            )
            % {"field": field.verbose_name, "value": getattr(record, field_name)},
            automatic=True,
            key=f"soft:{record._meta.label_lower}:{record.pk}:{field_name}",
        )


# --- Source data verification ---------------------------------------------------------------------


@transaction.atomic
def record_verify(*, record: ClinicalRecord, actor) -> Verification:
    """Mark the record, at its current version, as verified against the source."""
    verification, _created = Verification.objects.update_or_create(
        **_ref(record),
        defaults={
            "record_version": record.version,
            "verified_by": actor,
            "subject": record.audit_subject,
            "verified_at": timezone.now(),
        },
    )
    return verification


def is_verified(record: ClinicalRecord, verification: Verification | None) -> bool:
    return verification is not None and verification.record_version == record.version


# --- Signatures -----------------------------------------------------------------------------------


def records_sha256(records: list[ClinicalRecord]) -> str:
    """A hash of the clinical content of the records (what a signature vouches for)."""
    content = []
    for record in sorted(records, key=lambda r: (r._meta.label_lower, r.pk)):
        values = {
            field.attname: field.value_to_string(record)
            for field in record._meta.concrete_fields
            if field.name not in ClinicalRecord.BOOKKEEPING_FIELDS
        }
        content.append([record._meta.label_lower, record.pk, values])
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def casebook_records(participant) -> list[ClinicalRecord]:
    """Every current clinical record of a participant, whatever app it lives in (one query per
    model that reaches a participant)."""
    records: list[ClinicalRecord] = [participant]
    for model in clinical_models():
        if not model.subject_path:  # no participant, or the participant itself
            continue
        records += list(
            model.objects.filter(**{model.subject_path: participant}, retired_at__isnull=True)
        )
    return records


def scope_records(record: ClinicalRecord, scope: str) -> list[ClinicalRecord]:
    """The records a signature or lock of this scope covers; only a participant has a casebook."""
    if scope == "casebook":
        if not record.has_casebook:
            raise Http404
        return casebook_records(record)
    if scope == "visit":
        return record.signature_records()
    return [record]


# The session remembers its first signature (with the sign-in time it belongs to): 21 CFR
# 11.200(a)(1)(i) asks for every component (user ID and password) at the first signing of a
# continuous session, and at least one (the password) at the later ones.
SESSION_SIGNED_AT_LOGIN = "trialportal_signed"


def signature_needs_user_id(request) -> bool:
    """Whether the next signature of this session must give the user ID as well as the password."""
    session = request.session
    signed = session.get(SESSION_SIGNED_AT_LOGIN)
    return signed is None or signed != session.get(SESSION_LOGIN_AT)


def signature_sign(
    *,
    record: ClinicalRecord,
    scope: str,
    actor,
    password: str,
    request,
    user_id: str | None = None,
) -> Signature:
    """Sign after re-entering the password (and, first in a session, the user ID); a wrong one
    counts towards the lockout.

    Not atomic on purpose: the lockout ledger's record of a failed attempt must survive the
    refusal.
    """
    if signature_needs_user_id(request) and user_id != actor.get_username():
        # The user ID as stored, letter case included; the attempt counts as a failed one.
        user_login_failed.send(
            sender=__name__, credentials={"username": actor.get_username()}, request=request
        )
        raise ValidationError(
            {
                "user_id": _(
                    "This is not the user ID you are signed in with. Type it exactly as it was "
                    "given to you, with the same capital and small letters."
                )
            },
            code="wrong_user_id",
        )
    user = authenticate(request, username=actor.get_username(), password=password)
    if user is None or user.pk != actor.pk:
        raise ValidationError(
            {"password": _("The password is not correct.")}, code="wrong_password"
        )
    records = scope_records(record, scope)
    signature = Signature.objects.create(
        **_ref(record),
        subject=record.audit_subject,
        scope=scope,
        signer=actor,
        printed_name=actor.printed_name,
        meaning=SignatureMeaning.REVIEWED,
        record_sha256=records_sha256(records),
    )
    request.session[SESSION_SIGNED_AT_LOGIN] = request.session.get(SESSION_LOGIN_AT)
    return signature


def signature_valid(signature: Signature, record: ClinicalRecord | None = None) -> bool:
    """Whether the signed records are unchanged since the signature."""
    record = record or signature.content_type.get_object_for_this_type(pk=signature.object_id)
    return records_sha256(scope_records(record, signature.scope)) == signature.record_sha256


def latest_signature(record: ClinicalRecord) -> Signature | None:
    return (
        Signature.objects.filter(**_ref(record))
        .select_related("signer")
        .order_by("-signed_at")
        .first()
    )


# --- After a change -------------------------------------------------------------------------------


def _signatures_to_recheck(record: ClinicalRecord) -> list[Signature]:
    """The signatures a change to the record may break and whose signer was not yet told: each
    signer's latest signature of each visit or casebook of the participant, and of this form."""
    signatures = list(
        Signature.objects.filter(subject=record.audit_subject)
        .filter(~Q(scope="form") | Q(**_ref(record)))
        .order_by("content_type", "object_id", "scope", "signer", "-signed_at")
        .distinct("content_type", "object_id", "scope", "signer")
        .select_related("signer")
    )
    keys = {s.pk: f"signature-invalid:{s.pk}:user:{s.signer_id}" for s in signatures}  # notify()'s
    told = set(Notification.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    return [s for s in signatures if keys[s.pk] not in told]


def on_record_changed(record: ClinicalRecord) -> None:
    """Tell the monitor when a change clears their verification, and owe a re-check of the
    signatures the change may break (re-hashing a casebook is a worker's job, not the request's).

    The marks themselves are recomputed from versions and hashes when a page shows them.
    """
    verification = Verification.objects.filter(**_ref(record)).select_related("verified_by").first()
    if verification is not None and verification.record_version != record.version:
        notify(
            recipients=[verification.verified_by],
            key=f"sdv-cleared:{record._meta.label_lower}:{record.pk}:v{record.version}",
            kind="sdv_cleared",
            subject=_("Verification cleared: %(record)s changed") % {"record": record},
            body=_(
                "The record changed after you verified it (version %(old)s to %(new)s). Verify "
                "it again."
            )
            % {"old": verification.record_version, "new": record.version},
            url=record.history_url(),
        )
    if Signature.objects.filter(subject=record.audit_subject).exists():
        label = record._meta.label_lower
        outbox_enqueue(
            task="crf.tasks.signatures_recheck",
            args=[label, record.pk],
            key=f"signature-recheck:{label}:{record.pk}:v{record.version}",
        )


def signatures_recheck(*, label: str, pk: int) -> int:
    """Tell each signer whose signature no longer matches after a change to the record."""
    record = apps.get_model(label).objects.get(pk=pk)
    told = 0
    for signature in _signatures_to_recheck(record):
        if not signature_valid(signature):
            told += 1
            notify(
                recipients=[signature.signer],
                key=f"signature-invalid:{signature.pk}",
                kind="signature_invalid",
                subject=_("Your signature no longer matches: %(subject)s")
                % {"subject": signature.subject},
                body=_("A record you signed on %(at)s changed; review and sign again.")
                % {"at": timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M")},
                url=record.history_url(),
            )
    return told


# --- Locking --------------------------------------------------------------------------------------


@transaction.atomic
def records_lock(*, records: list[ClinicalRecord], actor) -> int:
    """Lock the records; the database then refuses any change until they are unlocked."""
    now, locked = timezone.now(), 0
    with audit_context(reason=_("Locked after signature."), **actor_context(actor)):
        for record in records:
            locked += (
                type(record)
                .objects.filter(pk=record.pk, locked_at__isnull=True)
                .update(locked_at=now, locked_by=actor)
            )
    return locked


@transaction.atomic
def records_unlock(*, records: list[ClinicalRecord], actor, reason: str) -> int:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the records are unlocked.")}, code="required")
    unlocked = 0
    with audit_context(reason=reason, **actor_context(actor)):
        for record in records:
            unlocked += (
                type(record)
                .objects.filter(pk=record.pk, locked_at__isnull=False)
                .update(locked_at=None, locked_by=None)
            )
    return unlocked
