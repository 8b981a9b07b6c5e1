"""Pages of monitoring: a record's queries, verification and signature; the query list; SDV
progress; signing and locking a form, a visit or a casebook; the study-wide audit review."""

from __future__ import annotations

from collections import Counter

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.fields import BLANK_CHOICE_DASH
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.access import can, require
from accounts.roles import Perm
from crf import monitoring, selectors, services
from crf.models import DataQuery, QueryState, Signature, Verification
from crf.views import csv_download

SCOPES = {"form", "visit", "casebook"}
# The query list's default: the queries someone still has to act on (open or answered).
NOT_CLOSED = "not_closed"
QUERY_PAGE_SIZE = 50


class MessageForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Message"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class RaiseQueryForm(MessageForm):
    field_name = forms.ChoiceField(label=gettext_lazy("Field"))

    field_order = ["field_name", "text"]


class SignForm(forms.Form):
    """The signature's components: the user ID (first signature of a session) and the password."""

    user_id = forms.CharField(
        label=gettext_lazy("Your user ID"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
        help_text=gettext_lazy(
            "The username you sign in with. Asked at the first signature of a session; later "
            "signatures in the same session ask for the password only."
        ),
    )
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("Signing means: reviewed and approved (21 CFR 11.50)."),
    )

    def __init__(self, *args, ask_user_id: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_user_id:
            del self.fields["user_id"]


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for unlocking"), widget=forms.Textarea(attrs={"rows": 2})
    )


def _record(label: str, pk: int):
    model = selectors.clinical_model(label)
    return get_object_or_404(model, pk=pk)


def _record_page(record) -> tuple[str, str]:
    """The page showing the record in its context (a visit's CRF: the visit), and its name: the
    record's own page, else the first record on its way to the participant that has one."""
    owner = record
    relations = (record.subject_path or "").split("__")
    for relation in [None, *filter(None, relations)]:
        if relation is not None:
            try:
                owner = getattr(owner, relation)
            except ObjectDoesNotExist:
                owner = None
            if owner is None:
                break
        if hasattr(owner, "get_absolute_url"):
            return owner.get_absolute_url(), str(owner)
    return record.history_url(), str(record)


def _fields(record) -> list:
    names = [
        f.name for f in record._meta.concrete_fields if f.name not in record.BOOKKEEPING_FIELDS
    ]
    return [n for n in names if n not in ("id", "status", "retired_at", "retired_reason")]


def record_monitor(request, label: str, pk: int):
    """A record with its values, open queries per field, verification, signature and lock."""
    record = _record(label, pk)
    require(request, record.view_perm)
    ref = {"content_type": ContentType.objects.get_for_model(record), "object_id": record.pk}
    queries = list(DataQuery.objects.filter(**ref).prefetch_related("steps__by"))
    open_by_field = Counter(q.field_name for q in queries if q.state != QueryState.CLOSED)
    verification = Verification.objects.filter(**ref).select_related("verified_by").first()
    signature = monitoring.latest_signature(record)
    field_names = _fields(record)
    raise_form = RaiseQueryForm(request.POST or None)
    raise_form.fields["field_name"].choices = [
        *BLANK_CHOICE_DASH,
        *((n, record._meta.get_field(n).verbose_name) for n in field_names),
    ]
    if request.method == "POST":
        require(request, Perm.MANAGE_QUERIES)
        if raise_form.is_valid():
            monitoring.query_open(
                record=record,
                field_name=raise_form.cleaned_data["field_name"],
                text=raise_form.cleaned_data["text"],
                actor=request.user,
            )
            messages.success(request, _("Query raised."))
            return redirect(request.path)
    answers = dict(selectors.record_answers(record, field_names))
    rows = [
        (
            n,
            record._meta.get_field(n).verbose_name,
            answers.get(str(record._meta.get_field(n).verbose_name)),
            open_by_field.get(n, 0),
        )
        for n in field_names
    ]
    if record.identifying and request.method == "GET":
        services.identity_view_record(request=request, record=record)
    page_url, page_label = _record_page(record)
    return render(
        request,
        "crf/monitor.html",
        {
            "record": record,
            "label": label,
            "page_url": page_url,
            "page_label": page_label,
            "rows": rows,
            "queries": queries,
            "verification": verification,
            "verified": monitoring.is_verified(record, verification),
            "signature": signature,
            "signature_valid": monitoring.signature_valid(signature, record) if signature else None,
            "raise_form": raise_form,
            "can_manage": can(request.user, Perm.MANAGE_QUERIES),
            "can_sign": can(request.user, Perm.SIGN_RECORDS),
        },
    )


def record_verify(request, label: str, pk: int):
    require(request, Perm.MANAGE_QUERIES)
    record = _record(label, pk)
    require(request, record.view_perm)
    if request.method == "POST":
        monitoring.record_verify(record=record, actor=request.user)
        messages.success(request, _("Marked as verified against the source."))
    return redirect("crf:monitor", label=label, pk=pk)


def sign(request, label: str, pk: int, scope: str):
    """Sign a form, a visit or a casebook after re-entering the password."""
    require(request, Perm.SIGN_RECORDS)
    if scope not in SCOPES:
        raise Http404
    record = _record(label, pk)
    form = SignForm(request.POST or None, ask_user_id=monitoring.signature_needs_user_id(request))
    if request.method == "POST" and form.is_valid():
        try:
            monitoring.signature_sign(
                record=record,
                scope=scope,
                actor=request.user,
                password=form.cleaned_data["password"],
                user_id=form.cleaned_data.get("user_id"),
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Signed: reviewed and approved."))
            return redirect(_back(record, label))
    records = monitoring.scope_records(record, scope)
    return render(
        request,
        "crf/sign.html",
        {
            "record": record,
            "scope": scope,
            "form": form,
            "count": len(records),
            "back": _back(record, label),
        },
    )


def _back(record, label: str) -> str:
    if hasattr(record, "get_absolute_url"):
        return record.get_absolute_url()
    return reverse("crf:monitor", kwargs={"label": label, "pk": record.pk})


def lock(request, label: str, pk: int, scope: str):
    """Lock a signed form, visit or casebook; unlocking needs a reason."""
    require(request, Perm.SIGN_RECORDS)
    if scope not in SCOPES or request.method != "POST":
        raise Http404
    record = _record(label, pk)
    signature = (
        Signature.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk, scope=scope
        )
        .order_by("-signed_at")
        .first()
    )
    if signature is None or not monitoring.signature_valid(signature, record):
        messages.error(
            request, _("Only a record with a valid signature can be locked: sign it first.")
        )
    else:
        count = monitoring.records_lock(
            records=monitoring.scope_records(record, scope), actor=request.user
        )
        messages.success(
            request,
            ngettext("%(count)s record locked.", "%(count)s records locked.", count)
            % {"count": count},
        )
    return redirect(_back(record, label))


def unlock(request, label: str, pk: int, scope: str):
    require(request, Perm.SIGN_RECORDS)
    if scope not in SCOPES:
        raise Http404
    record = _record(label, pk)
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        count = monitoring.records_unlock(
            records=monitoring.scope_records(record, scope),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
        messages.success(
            request,
            ngettext("%(count)s record unlocked.", "%(count)s records unlocked.", count)
            % {"count": count},
        )
        return redirect(_back(record, label))
    return render(
        request, "crf/unlock.html", {"record": record, "form": form, "back": _back(record, label)}
    )


def query_list(request):
    require(request, Perm.VIEW_DATA)
    state = request.GET.get("state", NOT_CLOSED)
    readable = ContentType.objects.get_for_models(*selectors.readable_models(request.user))
    queries = (
        DataQuery.objects.filter(content_type__in=readable.values())
        .select_related("content_type", "opened_by")
        .order_by("opened_at")
    )
    if state in QueryState.values:
        queries = queries.filter(state=state)
    elif state == NOT_CLOSED:
        queries = queries.exclude(state=QueryState.CLOSED)
    subject = request.GET.get("participant", "")
    if subject:
        queries = queries.filter(subject=subject)
    now = timezone.now()
    page = Paginator(queries, QUERY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(q, (now - q.opened_at).days) for q in page]
    return render(
        request,
        "crf/queries.html",
        {
            "rows": rows,
            "page_obj": page,
            "state": state,
            "subject": subject,
            "states": [(NOT_CLOSED, _("not closed")), *QueryState.choices],
        },
    )


def query_detail(request, pk: int):
    require(request, Perm.VIEW_DATA)
    query = get_object_or_404(DataQuery.objects.select_related("content_type"), pk=pk)
    record = query.record
    require(request, record.view_perm)  # a query shows the value it is about
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        needed = Perm.ANSWER_QUERIES if action == "answer" else Perm.MANAGE_QUERIES
        require(request, needed)
        service = {
            "answer": monitoring.query_answer,
            "close": monitoring.query_close,
            "reopen": monitoring.query_reopen,
        }.get(action)
        if service is None:
            raise Http404
        kwargs = (
            {"data_changed": request.POST.get("data_changed") == "on"} if action == "answer" else {}
        )
        try:
            service(query=query, actor=request.user, text=form.cleaned_data["text"], **kwargs)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("crf:query", pk=pk)
    if record.identifying and request.method == "GET":
        services.identity_view_record(request=request, record=record)
    page_url, page_label = _record_page(record)
    return render(
        request,
        "crf/query.html",
        {
            "query": query,
            "record": record,
            "label": record._meta.label_lower,
            "page_url": page_url,
            "page_label": page_label,
            "field_label": query.field_label,
            "value": getattr(record, query.field_name),
            "steps": list(query.steps.select_related("by")),
            "form": form,
            "can_answer": can(request.user, Perm.ANSWER_QUERIES) and query.state == QueryState.OPEN,
            "can_manage": can(request.user, Perm.MANAGE_QUERIES),
        },
    )


def _sdv_records(model, content_type, subject: str | None = None):
    """The current records of a model that belong to a participant, annotated with their
    participant ID (`sdv_subject`) and verified version."""
    lookup = model.subject_lookup()
    verification = Verification.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
    records = (
        model.objects.filter(retired_at__isnull=True, **{f"{lookup}__isnull": False})
        .annotate(
            sdv_subject=F(lookup),
            sdv_version=Subquery(verification.values("record_version")[:1]),
        )
        .order_by()
    )
    if subject is not None:
        records = records.filter(**{lookup: subject})
    return records, verification


def _sdv_models() -> dict:
    """The clinical models a monitor may see whose records belong to a participant, with their
    content types (one query at most)."""
    return ContentType.objects.get_for_models(
        *(
            model
            for model in selectors.clinical_models()
            if model.view_perm == Perm.VIEW_DATA and model.subject_path is not None
        )
    )


def sdv_progress(request):
    """Source data verification per participant and study-wide (one query per form)."""
    require(request, Perm.VIEW_DATA)
    totals: Counter[str] = Counter()
    verified: Counter[str] = Counter()
    for model, content_type in _sdv_models().items():
        records, _verification = _sdv_records(model, content_type)
        for row in records.values("sdv_subject").annotate(
            total=Count("pk"), verified=Count("pk", filter=Q(version=F("sdv_version")))
        ):
            totals[row["sdv_subject"]] += row["total"]
            verified[row["sdv_subject"]] += row["verified"]
    open_queries = Counter(
        dict(
            DataQuery.objects.exclude(state=QueryState.CLOSED)
            .values("subject")
            .annotate(n=Count("pk"))
            .values_list("subject", "n")
        )
    )
    rows = sorted((s, verified[s], totals[s], open_queries[s]) for s in totals)
    return render(
        request,
        "crf/sdv.html",
        {
            "rows": rows,
            "verified": sum(verified.values()),
            "total": sum(totals.values()),
            "open_queries": sum(open_queries.values()),
        },
    )


def sdv_participant(request, subject: str):
    """Every record of one participant with its verification, open queries and monitoring page
    (one query per form)."""
    require(request, Perm.VIEW_DATA)
    rows = []
    users = {}
    for model, content_type in _sdv_models().items():
        records, verification = _sdv_records(model, content_type, subject)
        open_queries = (
            DataQuery.objects.filter(content_type=content_type, object_id=OuterRef("pk"))
            .exclude(state=QueryState.CLOSED)
            .order_by()
            .values("object_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        records = records.annotate(
            sdv_by=Subquery(verification.values("verified_by")[:1]),
            sdv_at=Subquery(verification.values("verified_at")[:1]),
            sdv_queries=Coalesce(Subquery(open_queries), 0),
        )
        for record in records:
            if record.sdv_version is None:
                state = "none"
            else:
                state = "verified" if record.sdv_version == record.version else "cleared"
            users[record.sdv_by] = None
            rows.append(
                {
                    "record": record,
                    "form": model._meta.verbose_name,
                    "label": model._meta.label_lower,
                    "state": state,
                    "verification": {"verified_by": record.sdv_by, "verified_at": record.sdv_at},
                    "open_queries": record.sdv_queries,
                }
            )
    if not rows:
        raise Http404
    verifiers = get_user_model().objects.in_bulk([pk for pk in users if pk is not None])
    for row in rows:
        row["verification"]["verified_by"] = verifiers.get(row["verification"]["verified_by"])
    rows.sort(key=lambda row: (str(row["form"]).casefold(), row["record"].pk))
    return render(
        request,
        "crf/sdv_participant.html",
        {
            "subject": subject,
            "rows": rows,
            "verified": sum(row["state"] == "verified" for row in rows),
        },
    )


def audit_review(request):
    """Every change of clinical data, filtered and paginated in the database (the last 30 days
    unless told otherwise); the CSV download streams every filtered row."""
    require(request, Perm.VIEW_DATA)
    filters = {
        "participant": request.GET.get("participant", "").strip(),
        "user": request.GET.get("user", "").strip(),
        "form": request.GET.get("form", "").strip(),
        "from": request.GET.get("from", "").strip(),
        "to": request.GET.get("to", "").strip(),
    }
    if "from" not in request.GET and "to" not in request.GET:
        filters["from"] = selectors.audit_default_from()
    rows = selectors.audit_rows(filters, user=request.user)
    if request.GET.get("format") == "csv":
        # The download will show identity changes: who downloaded them is logged now, before
        # the rows stream (a streamed body is read after the view has returned).
        if request.method == "GET" and (identifying := rows.identifying_records()):
            services.identity_views_record(request=request, records=identifying)
        return _audit_csv(rows)
    page = Paginator(rows, selectors.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    # Changes of identity records show identifying values: who saw them is logged.
    if request.method == "GET" and (identifying := selectors.identifying_records(page)):
        services.identity_views_record(request=request, records=identifying)
    query = request.GET.copy()
    query.pop("page", None)
    query.update({"from": filters["from"]} if "from" not in query else {})
    return render(
        request,
        "crf/audit.html",
        {
            "rows": page,
            "page": page,
            "total": page.paginator.count,
            "filters": filters,
            "forms": selectors.audit_form_choices(request.user),
            "query": query.urlencode(),
        },
    )


def _audit_csv(rows):
    def lines():
        yield [
            "when",
            "participant",
            "form",
            "record",
            "action",
            "field",
            "old",
            "new",
            "user",
            "role",
            "reason",
            "request_id",
        ]
        for row in rows:
            yield from _csv_lines(row)

    return csv_download(lines(), f"audit-trail-{timezone.localtime():%Y%m%d-%H%M}.csv")


def _csv_lines(row):
    for change in row.changes or [None]:
        yield [
            timezone.localtime(row.at).isoformat(),
            row.subject,
            row.form,
            row.record_id,
            row.action,
            change.label if change else "",
            "" if change is None or change.old is None else change.old,
            "" if change is None or change.new is None else change.new,
            row.username or row.task or "",
            row.role or "",
            row.reason or "",
            row.request_id or "",
        ]
