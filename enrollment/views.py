from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can, require
from accounts.roles import Perm
from crf.selectors import record_answers
from crf.services import identity_view_record, record_save
from crf.views import edit_record
from enrollment import selectors, services
from enrollment.forms import (
    ConsentForm,
    DeviationForm,
    EnrollForm,
    IdentityForm,
    MedicalHistoryForm,
    ParticipantForm,
    ScreeningForm,
    StudyExitForm,
)
from enrollment.models import (
    Consent,
    Identity,
    MedicalHistory,
    ProtocolDeviation,
    Screening,
    StudyExit,
)

# Answers a re-screen starts from; the dates and results of tests are asked afresh.
RESCREEN_COPIED = (
    "date_of_birth",
    "sex",
    "dm_classification",
    "symptom_onset_date",
    "ild_diagnosis_date",
)


def _screening(request, pk: int, perm: Perm) -> Screening:
    """Return the screening or 404, after the role check (the app's access helper)."""
    screening = get_object_or_404(selectors.screening_log(), pk=pk)
    require(request, perm, screening if perm == Perm.ENTER_DATA else None)
    return screening


def _participant(request, participant_id: str, perm: Perm):
    participant = get_object_or_404(selectors.participants(), participant_id=participant_id)
    require(request, perm, participant if perm == Perm.ENTER_DATA else None)
    return participant


def screening_list(request):
    require(request, Perm.VIEW_DATA)
    shown = request.GET.get("show", "all")
    screenings = selectors.screening_log()
    if shown == "eligible":
        screenings = screenings.filter(eligible=True)
    elif shown == "failed":
        screenings = screenings.filter(eligible=False)
    return render(
        request,
        "enrollment/screening_list.html",
        {"screenings": screenings, "shown": shown, "can_enter": can(request.user, Perm.ENTER_DATA)},
    )


def screening_create(request):
    require(request, Perm.ENTER_DATA)
    form = ScreeningForm(request.POST or None, instance=Screening())
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.screening_save(screening=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("New screening"),
            "back_url": "/screening/",
            "back_label": _("Screening log"),
        },
    )


def screening_rescreen(request, pk: int):
    previous = _screening(request, pk, Perm.ENTER_DATA)
    if hasattr(previous, "participant"):
        messages.error(request, _("An enrolled screening cannot be repeated."))
        return redirect(previous)
    initial = {name: getattr(previous, name) for name in RESCREEN_COPIED}
    form = ScreeningForm(
        request.POST or None, instance=Screening(previous_screening=previous), initial=initial
    )
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.screening_save(screening=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("Re-screen of %(number)s") % {"number": previous.screening_number},
            "back_url": previous.get_absolute_url(),
        },
    )


def screening_edit(request, pk: int):
    screening = _screening(request, pk, Perm.ENTER_DATA)
    form = ScreeningForm(request.POST or None, instance=screening, rpild_hint=screening.rpild_hint)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.screening_save(screening=obj, **kw),
        success_url=lambda obj: obj.get_absolute_url(),
        context={
            "title": _("Screening %(number)s") % {"number": screening.screening_number},
            "back_url": screening.get_absolute_url(),
        },
    )


def screening_detail(request, pk: int):
    screening = _screening(request, pk, Perm.VIEW_DATA)
    can_enter = can(request.user, Perm.ENTER_DATA)
    identity = Identity.objects.filter(screening=screening).first() if can_enter else None
    if identity is not None and request.method == "GET":
        identity_view_record(request=request, record=identity)
    refusal = services.enrollment_refusal(screening)
    consent = getattr(screening, "consent", None)
    return render(
        request,
        "enrollment/screening_detail.html",
        {
            "screening": screening,
            "consent": consent,
            "age_at_consent": (
                screening.age_at(timezone.localdate(consent.consented_at)) if consent else None
            ),
            "participant": getattr(screening, "participant", None),
            "identity": identity,
            "can_enter": can_enter,
            "refusal": refusal,
            "answers": record_answers(screening, ScreeningForm._meta.fields),
            "enroll_form": EnrollForm(screening=screening) if not refusal and can_enter else None,
            "rescreens": list(screening.rescreens.all()),
        },
    )


def consent_edit(request, pk: int):
    screening = _screening(request, pk, Perm.ENTER_DATA)
    consent = getattr(screening, "consent", None) or Consent(
        screening=screening, obtained_by=request.user
    )
    form = ConsentForm(request.POST or None, instance=consent, screening=screening)
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.consent_save(consent=obj, **kw),
        success_url=screening.get_absolute_url(),
        context={
            "title": _("Informed consent for %(number)s") % {"number": screening.screening_number},
            "back_url": screening.get_absolute_url(),
        },
    )


def identity_edit(request, pk: int):
    screening = _screening(request, pk, Perm.ENTER_DATA)
    identity = Identity.objects.filter(screening=screening).first() or Identity(screening=screening)
    if identity.pk is not None and request.method == "GET":
        identity_view_record(request=request, record=identity)
    return edit_record(
        request,
        form=IdentityForm(request.POST or None, instance=identity),
        save=lambda obj, **kw: record_save(record=obj, **kw),
        success_url=screening.get_absolute_url(),
        context={
            "title": _("Identifying details for %(number)s")
            % {"number": screening.screening_number},
            "intro": _("Visible to site staff only; never shown in lists, exports or reports."),
            "back_url": screening.get_absolute_url(),
        },
    )


def enroll(request, pk: int):
    screening = _screening(request, pk, Perm.ENTER_DATA)
    refusal = services.enrollment_refusal(screening)
    # Bound on every POST, even an empty one: the refusal is added to the form's errors.
    form = EnrollForm(request.POST if request.method == "POST" else None, screening=screening)
    if refusal and request.method == "POST":
        form.add_error(None, refusal)
    elif request.method == "POST" and form.is_valid():
        try:
            participant = services.participant_enroll(
                screening=screening,
                enrollment_date=form.cleaned_data["enrollment_date"],
                planned_first_dose=form.cleaned_data["planned_first_dose"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Enrolled as %(pid)s.") % {"pid": participant.participant_id}
            )
            return redirect(participant)
    return render(
        request,
        "enrollment/enroll.html",
        {"screening": screening, "form": form, "refusal": refusal},
    )


def participant_edit(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    return edit_record(
        request,
        form=ParticipantForm(request.POST or None, instance=participant),
        save=lambda obj, **kw: services.participant_update(participant=obj, **kw),
        success_url=participant.get_absolute_url(),
        context={
            "title": _("First dose of %(pid)s") % {"pid": participant.participant_id},
            "intro": _("Every visit target follows the actual first dose once it is recorded."),
            "back_url": participant.get_absolute_url(),
        },
    )


def study_exit_edit(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    study_exit = StudyExit.objects.filter(participant=participant).first() or StudyExit(
        participant=participant
    )
    return edit_record(
        request,
        form=StudyExitForm(request.POST or None, instance=study_exit, participant=participant),
        save=lambda obj, **kw: services.study_exit_save(study_exit=obj, **kw),
        success_url=participant.get_absolute_url(),
        context={
            "title": _("Study status of %(pid)s") % {"pid": participant.participant_id},
            "intro": _(
                "Withdrawal, loss to follow-up, death or completion. All data stays; "
                "reminders stop."
            ),
            "back_url": participant.get_absolute_url(),
        },
    )


def deviation_list(request):
    require(request, Perm.VIEW_DATA)
    deviations = ProtocolDeviation.objects.filter(retired_at__isnull=True).select_related(
        "participant", "reviewed_by"
    )
    participant = request.GET.get("participant", "")
    if participant:
        deviations = deviations.filter(participant__participant_id=participant)
    return render(
        request,
        "enrollment/deviations.html",
        {
            "deviations": deviations,
            "participants": selectors.participants(),
            "participant": participant,
            "can_enter": can(request.user, Perm.ENTER_DATA),
            "can_review": can(request.user, Perm.SIGN_RECORDS),
        },
    )


def deviation_edit(request, participant_id: str, pk: int | None = None):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    deviation = (
        get_object_or_404(ProtocolDeviation, pk=pk, participant=participant)
        if pk
        else ProtocolDeviation(participant=participant)
    )
    return edit_record(
        request,
        form=DeviationForm(request.POST or None, instance=deviation),
        save=lambda obj, **kw: record_save(record=obj, **kw),
        success_url="/deviations/",
        context={
            "title": _("Protocol deviation of %(pid)s") % {"pid": participant.participant_id},
            "back_url": "/deviations/",
        },
    )


def deviation_review(request, pk: int):
    """The investigator reviews a deviation (recorded with who and when)."""
    require(request, Perm.SIGN_RECORDS)
    deviation = get_object_or_404(ProtocolDeviation, pk=pk)
    if request.method == "POST" and deviation.reviewed_at is None:
        services.deviation_review(deviation=deviation, actor=request.user)
        messages.success(request, _("Deviation reviewed."))
    return redirect("enrollment:deviations")


def medical_history_list(request, participant_id: str):
    participant = _participant(request, participant_id, Perm.VIEW_DATA)
    return render(
        request,
        "enrollment/medical_history.html",
        {
            "participant": participant,
            "conditions": selectors.medical_history(participant),
            "retired": selectors.medical_history(participant, retired=True),
            "can_enter": can(request.user, Perm.ENTER_DATA),
        },
    )


def medical_history_edit(request, participant_id: str, pk: int | None = None):
    participant = _participant(request, participant_id, Perm.ENTER_DATA)
    history = (
        get_object_or_404(MedicalHistory, pk=pk, participant=participant)
        if pk
        else MedicalHistory(participant=participant)
    )
    back = reverse("enrollment:medical_history", kwargs={"participant_id": participant_id})
    form = MedicalHistoryForm(request.POST or None, instance=history)
    if request.method != "POST" and history.pk is None:
        # Opened from an adverse event whose onset precedes the first dose: start from it.
        form.initial.update(
            {
                "term": request.GET.get("term", "")[:200],
                "start_date": request.GET.get("start", "")[:12],
            }
        )
    return edit_record(
        request,
        form=form,
        save=lambda obj, **kw: services.medical_history_save(history=obj, **kw),
        success_url=back,
        context={
            "title": _("Medical history of %(pid)s") % {"pid": participant.participant_id},
            "intro": _(
                "A condition the participant had before the first dose (%(date)s). One that "
                "began on or after it is an adverse event."
            )
            % {"date": participant.anchor.isoformat()},
            "back_url": back,
            "back_label": _("Medical history"),
            "retire_url": reverse(
                "crf:retire", kwargs={"label": "enrollment.medicalhistory", "pk": history.pk}
            )
            if history.pk and history.is_editable
            else "",
        },
    )
