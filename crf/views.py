from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require
from accounts.roles import Perm
from crf import locking, selectors, services
from crf.forms import ClinicalRecordForm, RetireForm
from crf.models import ClinicalRecord, Notification
from crf.spreadsheet import SafeWriter


class _Echo:
    def write(self, value):
        return value


def csv_lines(rows: Iterable[list]):
    """The rows as CSV text, one line at a time, for a streamed download."""
    writer = SafeWriter(_Echo())
    for row in rows:
        yield writer.writerow(row)


def csv_download(rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment."""
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def record_history(request, label: str, pk: int):
    model = selectors.clinical_model(label)
    record = get_object_or_404(model, pk=pk)
    require(request, record.view_perm, record)
    if record.identifying and request.method == "GET":
        services.identity_view_record(request=request, record=record)
    return render(
        request,
        "crf/history.html",
        {
            "record": record,
            "model_name": model._meta.verbose_name,
            "entries": selectors.record_history(record),
        },
    )


def record_retire(request, label: str, pk: int):
    model = selectors.clinical_model(label)
    record = get_object_or_404(model, pk=pk)
    require(request, Perm.ENTER_DATA, record)
    form = RetireForm(request.POST or None, initial={"version": record.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.record_retire(
                record=record,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except services.StaleRecordError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("The record is marked as entered in error."))
            return redirect("crf:history", label=label, pk=pk)
    return render(request, "crf/retire.html", {"record": record, "form": form, "label": label})


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def stale_edit_message(exc: services.StaleRecordError) -> str:
    """The refusal of a stale edit: who changed the record, when, and how to go on."""
    return _(
        "%(error)s Your input is kept below: check the record's history, then save "
        "again to replace the newer version."
    ) % {"error": exc}


def edit_record(
    request,
    *,
    form: ClinicalRecordForm,
    template: str = "crf/record_form.html",
    success_url: str | Callable[[ClinicalRecord], str],
    save: Callable[..., ClinicalRecord] | None = None,
    context: dict | None = None,
):
    """Create or change a clinical record: the view every CRF page uses.

    `save(obj, actor=, expected_version=, reason=)` is the entity's service (the plain record
    service by default, which also offers "save as draft"). Bad input re-renders with the user's
    values kept; a stale edit is refused with who changed the record and when, the input kept and
    the newer version accepted on a deliberate resubmit.
    """
    record = form.instance
    lock = locking.lock_of(record)
    if request.method == "POST" and lock is not None:
        # Refuse before the service (and the database) would, keeping the input on the page.
        form.add_error(None, lock.message)
    elif request.method == "POST" and form.is_valid():
        obj = form.save(commit=False)
        common = {
            "actor": request.user,
            "expected_version": form.cleaned_data.get("version"),
            "reason": form.cleaned_data.get("reason_for_change", ""),
        }
        created = obj.pk is None
        try:
            if save is None:
                obj = services.record_save(
                    record=obj, submit="save_draft" not in request.POST, **common
                )
            else:
                obj = save(obj, **common)
        except services.StaleRecordError as exc:
            form.add_error(None, stale_edit_message(exc))
            form.accept_current_version(exc.current_version)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Saved.") if created else _("Changes saved."))
            return redirect(success_url(obj) if callable(success_url) else success_url)
    ctx = {"form": form, "record": record, "allow_draft": save is None, "lock": lock}
    ctx.update(context or {})
    return render(request, template, ctx)


def inbox(request):
    """The signed-in user's notifications, newest first."""
    notifications = Notification.objects.filter(recipient=request.user)[:200]
    return render(request, "crf/inbox.html", {"notifications": notifications})


def inbox_open(request, pk: int):
    """Mark a notification read and go to what it is about."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    if request.method == "POST":
        Notification.objects.filter(pk=pk, read_at__isnull=True).update(read_at=timezone.now())
        return redirect(notification.url or "crf:inbox")
    return redirect("crf:inbox")
