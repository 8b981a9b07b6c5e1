from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can, require
from accounts.roles import Perm
from crf import locking, monitoring
from crf.schedule import ITEM_STATE_LABELS, ItemState
from crf.services import record_save
from crf.views import edit_record, stale_edit_message
from enrollment import selectors as enrollment_selectors
from outcomes import plots, selectors, services
from outcomes.forms import (
    ConMedForm,
    HrctScoreForm,
    LabPanelForm,
    OxygenationForm,
    PulmonaryFunctionForm,
    SixMinuteWalkForm,
    SurvivalForm,
    VisitForm,
    VitalSignsForm,
)
from outcomes.models import (
    BERLIN_LABELS,
    ConMed,
    HrctScore,
    LabResult,
    Oxygenation,
    PulmonaryFunction,
    SixMinuteWalk,
    Survival,
    Visit,
    VitalSigns,
)

# Visit CRFs: form code -> (model, form, relation on Visit).
CRFS = {
    "vitals": (VitalSigns, VitalSignsForm, "vitals"),
    "oxygenation": (Oxygenation, OxygenationForm, "oxygenation"),
    "pft": (PulmonaryFunction, PulmonaryFunctionForm, "pft"),
    "6mwt": (SixMinuteWalk, SixMinuteWalkForm, "six_mwt"),
    "hrct": (HrctScore, HrctScoreForm, "hrct"),
    "survival": (Survival, SurvivalForm, "survival"),
}


def _participant(request, participant_id: str, perm: Perm):
    """Return the participant or 404, after the role check (the app's access helper)."""
    require(request, perm)
    return get_object_or_404(enrollment_selectors.participants(), participant_id=participant_id)


def _visit(participant, pk: int) -> Visit:
    visits = selectors.visits_by_participant([participant.pk]).get(participant.pk, [])
    visit = next((v for v in visits if v.pk == pk), None)
    if visit is None:
        raise Http404
    return visit


def visit_new(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    form = VisitForm(
        request.POST or None, instance=Visit(participant=participant), participant=participant
    )
    if request.method != "POST" and request.GET.get("code"):
        form.initial["code"] = request.GET["code"]
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.visit_save(visit=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("New visit for %(pid)s") % {"pid": participant.participant_id},
            "back_url": participant.get_absolute_url(),
            "back_label": participant.participant_id,
        },
    )


def visit_edit(request, participant_id: str, pk: int):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    visit = _visit(participant, pk)
    return edit_record(
        request,
        form=VisitForm(request.POST or None, instance=visit, participant=participant),
        save=lambda obj, **kw: services.visit_save(visit=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={"title": str(visit), "back_url": visit.get_absolute_url()},
    )


def visit_detail(request, participant_id: str, pk: int):
    participant = _participant(request, participant_id, Perm.VIEW_DATA)
    visit = _visit(participant, pk)
    today = timezone.localdate()
    item = selectors.schedules([participant], today)[participant.pk].get(visit.code)
    status = item.state if item else "done"
    forms = [
        (code, selectors.FORM_LABELS.get(code, code), selectors.form_state(visit, code))
        for code in visit.required_forms
    ]
    extra = [code for code in [*CRFS, "labs"] if code not in visit.required_forms]
    oxygenation = getattr(visit, "oxygenation", None)
    records = visit.signature_records()
    signature = monitoring.latest_signature(visit)
    return render(
        request,
        "outcomes/visit.html",
        {
            "participant": participant,
            "visit": visit,
            "item": item,
            "status": status,
            "status_label": item.state_label if item else ITEM_STATE_LABELS[ItemState.DONE],
            "forms": forms,
            "extra_forms": [(code, selectors.FORM_LABELS[code]) for code in extra],
            "oxygenation": oxygenation,
            "berlin": BERLIN_LABELS.get(oxygenation.berlin_band) if oxygenation else None,
            "pft": getattr(visit, "pft", None),
            "hrct": getattr(visit, "hrct", None),
            "labs": list(visit.labs.all()),
            "can_enter": can(request.user, Perm.ENTER_DATA),
            "can_sign": can(request.user, Perm.SIGN_RECORDS),
            "crf_records": [
                (r, r._meta.label_lower, r._meta.verbose_name)
                for r in records[1:]
                if not hasattr(r, "analyte")
            ],
            "signature": signature,
            "signature_valid": monitoring.signature_valid(signature, visit) if signature else None,
            "open_queries": monitoring.open_query_count(records),
            "locked": visit.is_locked,
            # Nothing is added under a locked visit or casebook: no links to missing forms.
            "can_add": can(request.user, Perm.ENTER_DATA)
            and not visit.is_locked
            and not participant.is_locked,
        },
    )


def visit_crf(request, participant_id: str, pk: int, form_code: str):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    visit = _visit(participant, pk)
    if form_code not in CRFS:
        raise Http404
    model, form_class, relation = CRFS[form_code]
    record = getattr(visit, relation, None) or model(visit=visit)
    return edit_record(
        request,
        form=form_class(request.POST or None, instance=record),
        save=lambda obj, **kw: record_save(record=obj, **kw),
        success_url=visit.get_absolute_url(),
        context={
            "title": f"{visit.label} · {selectors.FORM_LABELS[form_code]}",
            "back_url": visit.get_absolute_url(),
            "back_label": str(visit),
            "form_code": form_code,
        },
    )


def visit_labs(request, participant_id: str, pk: int):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    visit = _visit(participant, pk)
    panel = LabPanelForm(
        request.POST or None,
        existing={result.analyte: result for result in visit.labs.all()},
        visit=visit,
    )
    # A lab result is added under the visit: its lock (or the casebook's) hides Save; a POST
    # is refused by the service with its message.
    lock = locking.lock_over(LabResult(visit=visit))
    if request.method == "POST" and panel.is_valid():
        changed = panel.changed_rows
        if not changed:
            messages.info(request, _("Nothing changed."))
            return redirect(visit)
        created = not any(row.existing for row in changed)
        try:
            services.lab_results_save(
                visit=visit,
                changes=[(row.instance, row.cleaned_data.get("version")) for row in changed],
                actor=request.user,
                reason=panel.cleaned_data["reason_for_change"],
            )
        except services.LabResultsStale as exc:
            for analyte, error in exc.errors.items():
                row = panel.row(analyte)
                row.add_error(None, stale_edit_message(error))
                row.accept_current_version(error.current_version)
        except ValidationError as exc:
            panel.add_service_error(exc)
        else:
            messages.success(request, _("Saved.") if created else _("Changes saved."))
            return redirect(visit)
    return render(
        request,
        "outcomes/labs.html",
        # `record` answers is_locked like a single CRF's record, for the shared lock notice.
        {"form": panel, "record": panel, "visit": visit, "participant": participant, "lock": lock},
    )


def conmed_list(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.VIEW_DATA)
    conmeds = ConMed.objects.filter(participant=participant, retired_at__isnull=True).order_by(
        "start_date"
    )
    return render(
        request,
        "outcomes/conmeds.html",
        {
            "participant": participant,
            "conmeds": conmeds,
            "can_enter": can(request.user, Perm.ENTER_DATA),
        },
    )


def conmed_edit(request, participant_id: str, pk: int | None = None):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    conmed = (
        get_object_or_404(ConMed, pk=pk, participant=participant)
        if pk
        else ConMed(participant=participant)
    )
    back = f"/participants/{participant.participant_id}/conmeds/"
    return edit_record(
        request,
        form=ConMedForm(request.POST or None, instance=conmed),
        save=lambda obj, **kw: record_save(record=obj, **kw),
        success_url=back,
        context={
            "title": _("Concomitant medication of %(pid)s") % {"pid": participant.participant_id},
            "back_url": back,
        },
    )


def endpoint_plot(request, participant_id: str, endpoint: str):
    """An endpoint over time as SVG (the same drawing code as the PDF reports)."""
    participant = _participant(request, participant_id, Perm.VIEW_DATA)
    labels = {code: (label, unit) for code, label, unit in selectors.ENDPOINTS}
    if endpoint not in labels:
        raise Http404
    visits = selectors.visits_by_participant([participant.pk]).get(participant.pk, [])
    rows = selectors.change_from_baseline(participant, visits)
    label, unit = labels[endpoint]
    svg = plots.endpoint_svg(selectors.endpoint_series(rows, endpoint), title=str(label), unit=unit)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=60"
    return response
