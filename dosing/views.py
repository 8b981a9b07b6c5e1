from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can, require
from accounts.roles import Perm
from crf.views import edit_record
from dosing import selectors, services
from dosing.forms import DoseForm
from dosing.models import DoseRecord
from enrollment import selectors as enrollment_selectors
from study import protocol

# Carried over from the participant's previous dose so a daily entry types only what changed.
CARRIED_OVER = ("nebulizer_type", "device_id", "product_lot", "administered_by", "volume_ml")


def _participant(request, participant_id: str, perm: Perm):
    """Return the participant or 404, after the role check (the app's access helper)."""
    require(request, perm)
    return get_object_or_404(enrollment_selectors.participants(), participant_id=participant_id)


PAGE_SIZE = 50


def today(request):
    require(request, Perm.VIEW_DATA)
    day = timezone.localdate()
    page = Paginator(selectors.today_participants(day), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dosing/today.html",
        {
            "rows": selectors.today_rows(day, list(page.object_list)),
            "page_obj": page,
            "today": day,
            "can_enter": can(request.user, Perm.ENTER_DATA),
        },
    )


def _ae_links(dose: DoseRecord) -> list[tuple[str, str]]:
    """For each inhalation event, a link that opens an adverse event prefilled from it."""
    base = reverse("safety:ae_new", kwargs={"participant_id": dose.participant.participant_id})
    return [
        (label, f"{base}?" + urlencode({"term": term, "onset": dose.dose_date, "verbatim": label}))
        for label, term in dose.inhalation_events
    ]


def _after_save(request, dose: DoseRecord):
    events = dose.inhalation_events
    if events:
        messages.warning(
            request,
            _("Inhalation event on day %(day)s: %(events)s. Report it as an adverse event.")
            % {"day": dose.study_day, "events": ", ".join(label for label, _term in events)},
        )
    return dose.get_absolute_url() if events else dose.participant.get_absolute_url()


def dose_new(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    recorded = selectors.doses_by_participant([participant.pk]).get(participant.pk, {})
    try:
        day = int(request.GET.get("day", ""))
    except ValueError:
        day = next((d for d in range(1, protocol.DOSING_DAYS + 1) if d not in recorded), 1)
    if day in recorded:
        return redirect(recorded[day])
    previous = recorded.get(max(recorded)) if recorded else None
    dose = DoseRecord(participant=participant)
    form = DoseForm(request.POST or None, instance=dose, participant=participant)
    if request.method != "POST":
        initial = {
            "study_day": day,
            "dose_date": form.expected_date(day) if 1 <= day <= protocol.DOSING_DAYS else None,
            "dose_particles": protocol.DOSE_PARTICLES_DEFAULT,
            "volume_ml": protocol.DOSE_VOLUME_ML_DEFAULT,
        }
        if previous is not None:
            initial.update({name: getattr(previous, name) for name in CARRIED_OVER})
        form.initial.update(initial)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.dose_record(dose=obj, **kw),
        success_url=lambda obj: _after_save(request, obj),
        context={
            "title": _("%(pid)s: dosing day %(day)s")
            % {"pid": participant.participant_id, "day": day},
            "back_url": participant.get_absolute_url(),
            "back_label": participant.participant_id,
        },
    )


def dose_edit(request, participant_id: str, day: int):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    dose = get_object_or_404(
        DoseRecord, participant=participant, study_day=day, retired_at__isnull=True
    )
    form = DoseForm(request.POST or None, instance=dose, participant=participant)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.dose_record(dose=obj, **kw),
        success_url=lambda obj: _after_save(request, obj),
        context={
            "title": _("%(pid)s: dosing day %(day)s")
            % {"pid": participant.participant_id, "day": day},
            "back_url": participant.get_absolute_url(),
            "back_label": participant.participant_id,
            "ae_links": _ae_links(dose),
        },
    )
