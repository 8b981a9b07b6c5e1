from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.access import can, require
from accounts.roles import Perm
from crf.views import csv_download, edit_record
from enrollment import selectors as enrollment_selectors
from safety import selectors, services
from safety.clocks import clocks
from safety.forms import (
    AcknowledgeForm,
    AdverseEventForm,
    AssessmentForm,
    FollowUpForm,
    SafetyReportForm,
    grade_choices,
    term_choices,
)
from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport, StoppingRuleAlert
from study import protocol


def _ae(request, pk: int, perm: Perm) -> AdverseEvent:
    """Return the adverse event or 404, after the role check (the app's access helper)."""
    require(request, perm)
    return get_object_or_404(selectors.adverse_events(), pk=pk)


PAGE_SIZE = 50
VIEWS = ("events", "participants", "clocks")


def dashboard(request):
    """The investigators' safety dashboard: the figures on top, then one paginated table (the
    events, the participants by worst grade, or the report clocks), all computed by the database:
    a fixed number of queries however many participants and events the trial has."""
    require(request, Perm.VIEW_DATA)
    filters = selectors.Filters.from_query(request.GET)
    now = timezone.now()
    view = request.GET.get("view", "")
    view = view if view in VIEWS else "events"
    sort_key = request.GET.get("sort", "")
    context = {}
    if view == "events":
        rows, sort = selectors.sort(
            selectors.events(filters, now), sort_key, selectors.EVENT_SORTS, "participant"
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    elif view == "participants":
        rows, sort = selectors.sort(
            selectors.participants(filters, now, timezone.localdate()),
            sort_key,
            selectors.PARTICIPANT_SORTS,
            "participant",
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context["rows"] = selectors.participant_rows(list(page), filters, now)
        context["timeline"] = _timeline_geometry()
        context["days"] = range(selectors.TIMELINE_FIRST_DAY, selectors.TIMELINE_LAST_DAY + 1)
    else:
        rows, sort = selectors.sort(
            selectors.clocks(filters, now), sort_key, selectors.CLOCK_SORTS, "urgency"
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        context["rows"] = selectors.clock_rows(page)
    return render(
        request,
        "safety/dashboard.html",
        {
            **context,
            "view": view,
            "page_obj": page,
            "sort": sort,
            "summary": selectors.summary(selectors.events(filters, now)),
            "filters": filters,
            "query": request.GET.urlencode(),
            "grades": range(1, 6),
            "clock_states": selectors.CLOCK_STATES,
            "window_days": protocol.AE_WINDOW_DAYS_AFTER_LAST_DOSE,
            "alerts": StoppingRuleAlert.objects.select_related("acknowledged_by", "participant")[
                :50
            ],
            "can_assess": can(request.user, Perm.ASSESS_AE),
        },
    )


def _timeline_geometry() -> dict:
    first, last = selectors.TIMELINE_FIRST_DAY, selectors.TIMELINE_LAST_DAY
    width, left = 640, 10
    step = (width - 2 * left) / (last - first)
    return {
        "width": width,
        "x": {day: round(left + (day - first) * step, 1) for day in range(first, last + 1)},
        "step": round(step, 1),
        "dose_x": round(left + (1 - first) * step, 1),
        "dose_width": round(protocol.DOSING_DAYS * step, 1),
        "last_day": last,
    }


def export_csv(request):
    """The filtered adverse events as CSV, one row per event, with coded values and labels."""
    require(request, Perm.VIEW_DATA)
    events = selectors.events(selectors.Filters.from_query(request.GET), timezone.now())

    header = [
        "USUBJID", "AESPID", "AETERM", "AEDECOD", "AEBODSYS", "AELLTCD", "AESTDTC", "AEENDTC",
        "AETOXGR", "AETOXGR_WORST", "AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG",
        "AESMIE", "AEREL", "AERELNST", "AEEXPECTED", "SUSAR", "AEACN", "AEOUT", "ASSESSED_BY",
        "ASSESSED_AT",
    ]  # fmt: skip

    def yn(value):
        return {True: "Y", False: "N"}.get(value, "")

    def rows():
        yield header
        for ae in events:
            yield [
                f"{protocol.STUDY_ID}-{ae.participant.participant_id}",
                ae.number,
                ae.verbatim_term,
                ae.term_label,
                ae.term.soc,
                ae.term.meddra_code,
                ae.onset_date.isoformat(),
                ae.end_date.isoformat() if ae.end_date else "",
                ae.grade,
                ae.worst_grade,
                yn(ae.serious),
                yn(ae.sae_death),
                yn(ae.sae_life_threatening),
                yn(ae.sae_hospitalisation),
                yn(ae.sae_disability),
                yn(ae.sae_congenital),
                yn(ae.sae_important),
                ae.rel_study_drug,
                ae.rel_background,
                yn(ae.expected),
                yn(ae.susar),
                ae.action_taken,
                ae.outcome,
                ae.assessed_by.username if ae.assessed_by else "",
                timezone.localtime(ae.assessed_at).isoformat() if ae.assessed_at else "",
            ]

    return csv_download(rows(), f"adverse-events-{timezone.localtime():%Y%m%d-%H%M}.csv")


def _medical_history_hint(form, participant) -> dict:
    """A link to the medical-history form, shown when the onset falls before the first dose.

    The link carries the term and onset typed here, so the condition need not be typed again.
    """
    url = reverse(
        "enrollment:medical_history_new", kwargs={"participant_id": participant.participant_id}
    )

    def prefilled() -> str:
        typed = {
            "term": form.data.get(form.add_prefix("verbatim_term"), ""),
            "start": form.data.get(form.add_prefix("onset_date"), ""),
        }
        return f"{url}?{urlencode({k: v for k, v in typed.items() if v})}"

    # Both are called by the template after validation, so they see the form's errors and data.
    return {
        "onset_is_medical_history": lambda: form.has_error("onset_date", "before_first_dose"),
        "medical_history_url": prefilled,
    }


def ae_new(request, participant_id: str):
    require(request, Perm.ENTER_DATA)
    participant = get_object_or_404(
        enrollment_selectors.participants(), participant_id=participant_id
    )
    ae = AdverseEvent(participant=participant)
    form = AdverseEventForm(request.POST or None, instance=ae, participant=participant)
    if request.method != "POST":
        # Opened from an inhalation event of the dosing log: prefill what is known.
        term = CtcaeTerm.objects.filter(term=request.GET.get("term", "")).first()
        onset = request.GET.get("onset")
        form.initial.update(
            {
                "verbatim_term": request.GET.get("verbatim", ""),
                "term": term.pk if term else None,
                "onset_date": onset or None,
            }
        )
        if term:
            form.fields["grade"].choices = grade_choices(term)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.adverse_event_report(ae=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("Report an adverse event for %(pid)s") % {"pid": participant.participant_id},
            "back_url": participant.get_absolute_url(),
            "back_label": participant.participant_id,
            **_medical_history_hint(form, participant),
        },
    )


def ae_edit(request, pk: int):
    ae = _ae(request, pk, Perm.ENTER_DATA)
    form = AdverseEventForm(request.POST or None, instance=ae, participant=ae.participant)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.adverse_event_report(ae=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": str(ae),
            "back_url": ae.get_absolute_url(),
            **_medical_history_hint(form, ae.participant),
        },
    )


def ae_detail(request, pk: int):
    ae = _ae(request, pk, Perm.VIEW_DATA)
    return render(
        request,
        "safety/ae_detail.html",
        {
            "ae": ae,
            "history": ae.grade_history(),
            "clocks": [
                (clock, clock.state(timezone.now())) for clock in clocks(ae, list(ae.reports.all()))
            ],
            "reports": list(ae.reports.all()),
            "follow_ups": list(ae.follow_ups.all()),
            "can_enter": can(request.user, Perm.ENTER_DATA),
            "can_assess": can(request.user, Perm.ASSESS_AE),
        },
    )


def ae_assess(request, pk: int):
    ae = _ae(request, pk, Perm.ASSESS_AE)
    form = AssessmentForm(request.POST or None, instance=ae)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.adverse_event_assess(ae=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("Assess %(ae)s") % {"ae": ae},
            "intro": _(
                "Grade %(grade)s (%(text)s). Related means definitely, probably or possibly "
                "related."
            )
            % {"grade": ae.grade, "text": ae.term.grade_text(ae.grade)},
            "back_url": ae.get_absolute_url(),
        },
    )


def ae_follow_up(request, pk: int):
    ae = _ae(request, pk, Perm.ENTER_DATA)
    form = FollowUpForm(
        request.POST or None, instance=AeFollowUp(adverse_event=ae), adverse_event=ae
    )
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.ae_follow_up_add(follow_up=obj, actor=kw["actor"]),
        success_url=ae.get_absolute_url(),
        context={
            "title": _("Change of grade: %(ae)s") % {"ae": ae},
            "intro": _(
                "The first report stays as it was; this follow-up is added to its grade history."
            ),
            "back_url": ae.get_absolute_url(),
        },
    )


def report_add(request, pk: int):
    ae = _ae(request, pk, Perm.ENTER_DATA)
    form = SafetyReportForm(
        request.POST or None, instance=SafetyReport(adverse_event=ae), adverse_event=ae
    )
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.safety_report_add(report=obj, actor=kw["actor"]),
        success_url=ae.get_absolute_url(),
        context={"title": _("Report sent: %(ae)s") % {"ae": ae}, "back_url": ae.get_absolute_url()},
    )


def alert_acknowledge(request, pk: int):
    require(request, Perm.ASSESS_AE)
    alert = get_object_or_404(StoppingRuleAlert, pk=pk)
    form = AcknowledgeForm(request.POST or None, instance=alert)
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_acknowledge(
                alert=alert, actor=request.user, comment=form.cleaned_data["comment"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Alert acknowledged."))
            return redirect("safety:dashboard")
    return render(request, "safety/acknowledge.html", {"alert": alert, "form": form})


def term_search(request):
    """Options of the CTCAE term select matching the search (htmx)."""
    require(request, Perm.ENTER_DATA)
    # PostgreSQL refuses NUL in text; no term is longer than 200 characters.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:200]
    terms = CtcaeTerm.objects.only("pk", "soc", "term")
    if query:
        terms = terms.filter(term__icontains=query) | terms.filter(soc__icontains=query)
    return render(
        request,
        "safety/partials/term_options.html",
        {"choices": term_choices(terms.order_by("soc", "term"))},
    )


def term_grades(request):
    """The grade choices of the chosen term, with their CTCAE text (htmx)."""
    require(request, Perm.ENTER_DATA)
    term_id = request.GET.get("term", "")
    known = term_id.isascii() and term_id.isdigit()
    term = CtcaeTerm.objects.filter(pk=int(term_id)).first() if known else None
    form = AdverseEventForm(
        participant=None, instance=AdverseEvent(term=term) if term else AdverseEvent()
    )
    return render(request, "safety/partials/grade_field.html", {"form": form})
