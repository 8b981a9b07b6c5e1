from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import can, require
from accounts.roles import Perm
from crf.forms import DateTimeInput
from crf.views import csv_lines
from reports import exports as exporting
from reports import services
from reports.models import ExportLog, Report, ReportDownload, ReportLanguage, ReportState
from reports.odm import odm_stream

# The downloads of the exports page, by the name in their URL.
EXPORT_KINDS = ("csv", "odm", "odm-audit", "dictionary", "dictionary-html")


class ReportRequestForm(forms.Form):
    cutoff = forms.DateTimeField(
        label=gettext_lazy("Data cut-off"),
        widget=DateTimeInput(),
        help_text=gettext_lazy("The report counts the data entered up to this moment."),
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Report language"),
        choices=ReportLanguage.choices,
        required=False,
        help_text=gettext_lazy("Text typed into the forms stays as it was entered."),
    )

    def clean_cutoff(self):
        cutoff = self.cleaned_data["cutoff"]
        if cutoff > timezone.now():
            raise forms.ValidationError(_("The cut-off cannot be in the future."), code="future")
        return cutoff

    def clean_language(self):
        return self.cleaned_data["language"] or current_report_language()


def current_report_language() -> str:
    """The report language matching the page's language (English for any other)."""
    language = translation.get_language() or ""
    return ReportLanguage.ZH_HANS if language.lower().startswith("zh") else ReportLanguage.EN


def report_list(request):
    """Request a report, follow its build, download the ready ones."""
    require(request, Perm.DOWNLOAD_REPORTS)
    can_request = can(request.user, Perm.REQUEST_REPORTS)
    form = ReportRequestForm(
        request.POST or None,
        initial={
            "cutoff": timezone.localtime().replace(second=0, microsecond=0),
            "language": current_report_language(),
        },
    )
    if request.method == "POST":
        require(request, Perm.REQUEST_REPORTS)
        if form.is_valid():
            services.report_request(
                cutoff=form.cleaned_data["cutoff"],
                actor=request.user,
                language=form.cleaned_data["language"],
            )
            messages.success(request, _("Report requested; it is being built."))
            return redirect("reports:list")
    downloads = ReportDownload.objects.select_related("user")
    reports = Report.objects.select_related("requested_by").prefetch_related(
        Prefetch("downloads", queryset=downloads)
    )[:100]
    context = {
        "reports": reports,
        "form": form if can_request else None,
        "building": any(r.state in (ReportState.REQUESTED, ReportState.BUILDING) for r in reports),
        "can_export": can(request.user, Perm.EXPORT_DATA),
    }
    template = "reports/partials/report_table.html" if request.htmx else "reports/list.html"
    return render(request, template, context)


def report_download(request, pk: int):
    require(request, Perm.DOWNLOAD_REPORTS)
    report = get_object_or_404(Report, pk=pk, state=ReportState.READY)
    if not report.file:
        raise Http404
    # Streamed from the reports storage (a local folder or a private bucket), never redirected to
    # it, so this check and the download log are the only way to the file.
    pdf = report.file.open("rb")
    services.report_download_record(
        report=report, user=request.user, ip=request.META.get("REMOTE_ADDR")
    )
    response = FileResponse(pdf, as_attachment=True, filename=f"dsmb-report-{report.pk}.pdf")
    response["Cache-Control"] = "no-store"
    return response


def report_retry(request, pk: int):
    require(request, Perm.REQUEST_REPORTS)
    report = get_object_or_404(Report, pk=pk)
    if request.method == "POST" and services.report_retry(report=report):
        messages.success(request, _("The build is queued again."))
    return redirect("reports:list")


def exports(request):
    """The exports page: CSV per form in a zip, and the data dictionary."""
    require(request, Perm.EXPORT_DATA)
    return render(
        request,
        "reports/exports.html",
        {
            "log": ExportLog.objects.select_related("user")[:20],
            "forms": [
                model._meta.verbose_name for model in exporting.exportable_models(request.user)
            ],
        },
    )


def export_download(request, kind: str):
    require(request, Perm.EXPORT_DATA)
    if kind not in EXPORT_KINDS:
        raise Http404
    stamp = exporting.export_stamp()
    if kind == "csv":
        response = StreamingHttpResponse(
            exporting.csv_zip_stream(request.user), content_type="application/zip"
        )
        filename = f"trialportal-export-{stamp}.zip"
    elif kind in ("odm", "odm-audit"):
        response = StreamingHttpResponse(
            (part.encode() for part in odm_stream(audit=kind == "odm-audit", user=request.user)),
            content_type="application/xml; charset=utf-8",
        )
        suffix = "-audit" if kind == "odm-audit" else ""
        filename = f"trialportal-odm{suffix}-{stamp}.xml"
    elif kind == "dictionary":
        response = StreamingHttpResponse(
            csv_lines(exporting.dictionary_rows(request.user)),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"data-dictionary-{stamp}.csv"
    elif kind == "dictionary-html":
        rows = list(exporting.dictionary_rows(request.user))
        ExportLog.objects.create(user=request.user, kind=kind, ip=request.META.get("REMOTE_ADDR"))
        return render(request, "reports/dictionary.html", {"header": rows[0], "rows": rows[1:]})
    else:
        raise Http404
    ExportLog.objects.create(user=request.user, kind=kind, ip=request.META.get("REMOTE_ADDR"))
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
