from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import can, require
from accounts.roles import Perm
from crf import monitoring
from crf.models import DataQuery, QueryState
from crf.schedule import ITEM_STATE_LABELS
from dashboards import selectors
from dosing import selectors as dosing_selectors
from enrollment import schedule_store
from enrollment import selectors as enrollment_selectors
from enrollment.models import Identity, StudyStatus
from outcomes import selectors as outcomes_selectors
from safety import selectors as safety_selectors

PAGE_SIZE = 50


def home(request):
    """The landing page: what is due today, this week and overdue, for roles that see the data."""
    user = request.user
    abilities = [perm.label for perm in Perm if can(user, perm)]
    context = {"abilities": abilities}
    if can(user, Perm.VIEW_DATA):
        context["work"] = selectors.work_counts(timezone.localdate(), timezone.now())
    # Queries waiting for this user's role: an answer (site staff) or a review (monitors).
    waiting = (
        QueryState.OPEN
        if can(user, Perm.ANSWER_QUERIES)
        else QueryState.ANSWERED
        if can(user, Perm.MANAGE_QUERIES)
        else None
    )
    if waiting is not None:
        queries = DataQuery.objects.filter(state=waiting).select_related("content_type")
        context["queries"] = {
            "state": waiting,
            "count": queries.count(),
            "oldest": list(queries.order_by("opened_at")[:5]),
        }
    return render(request, "dashboards/home.html", context)


def _choice(request, name: str, allowed, default: str = "") -> str:
    value = request.GET.get(name, default)
    return value if value in allowed else default


def participant_list(request):
    require(request, Perm.VIEW_DATA)
    today = timezone.localdate()
    sort = _choice(request, "sort", selectors.PARTICIPANT_SORTS, "participant")
    status = _choice(request, "status", StudyStatus.values)
    state = _choice(request, "state", selectors.NEXT_STATES)
    participants = selectors.participant_list(today, sort=sort, status=status, state=state)
    page = Paginator(participants, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboards/participant_list.html",
        {
            "rows": selectors.participant_rows(today, list(page.object_list)),
            "page_obj": page,
            "today": today,
            "sort": sort,
            "status": status,
            "state": state,
            "sorts": [
                ("participant", _("participant")),
                ("next", _("next due")),
                ("state", _("state")),
            ],
            "statuses": StudyStatus.choices,
            "states": [(value, ITEM_STATE_LABELS[value]) for value in selectors.NEXT_STATES[:-1]]
            + [("none", _("nothing more due"))],
            "can_enter": can(request.user, Perm.ENTER_DATA),
        },
    )


def worklist(request):
    """Every item of one list of the home page (overdue, today, this week), one page at a time."""
    require(request, Perm.VIEW_DATA)
    today, now = timezone.localdate(), timezone.now()
    bucket = _choice(request, "bucket", selectors.BUCKETS, "today")
    kind = _choice(request, "kind", selectors.WORK_KINDS)
    sort = _choice(request, "sort", ("due", "participant"), "due")
    schedule_store.refresh(today)
    reports = [] if kind in ("visit", "dose") else selectors.report_work(now)[bucket]
    entries = selectors.work_entries(today).filter(bucket=bucket)
    if kind == "report":
        entries = entries.none()
    elif kind:
        entries = entries.filter(kind=kind)
    if sort == "participant":
        entries = entries.order_by("participant__number", "position")
        reports.sort(key=lambda work: (work.participant_id, work.due))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboards/worklist.html",
        {
            "bucket": bucket,
            "kind": kind,
            "sort": sort,
            "buckets": [
                ("overdue", _("Overdue")),
                ("today", _("Due today")),
                ("week", _("Due this week")),
            ],
            "kinds": [("visit", _("visits")), ("dose", _("doses")), ("report", _("SAE reports"))],
            "reports": reports,
            "items": [selectors.work_item(entry) for entry in page.object_list],
            "page_obj": page,
            "today": today,
            "can_enter": can(request.user, Perm.ENTER_DATA),
        },
    )


def casebook(request, participant_id: str):
    require(request, Perm.VIEW_DATA)
    participant = get_object_or_404(
        enrollment_selectors.participants(), participant_id=participant_id
    )
    today = timezone.localdate()
    can_enter = can(request.user, Perm.ENTER_DATA)
    screening = participant.screening
    doses = dosing_selectors.doses_by_participant([participant.pk]).get(participant.pk, {})
    visits = outcomes_selectors.visits_by_participant([participant.pk]).get(participant.pk, [])
    schedule = outcomes_selectors.schedule_of(participant, today, doses, visits)
    by_code = {visit.code: visit for visit in visits}
    visit_rows = [(item, by_code.get(item.code)) for item in schedule.visits]
    endpoint_rows = outcomes_selectors.change_from_baseline(participant, visits)
    signature = monitoring.latest_signature(participant)
    study_exit = getattr(participant, "exit", None)
    return render(
        request,
        "dashboards/casebook.html",
        {
            "participant": participant,
            "screening": screening,
            "consent": getattr(screening, "consent", None),
            "identity": Identity.objects.filter(screening=screening).first() if can_enter else None,
            "study_exit": study_exit,
            "visit_rows": [
                (item, visit, item.state, item.state_label) for item, visit in visit_rows
            ],
            "unscheduled": [visit for visit in visits if visit.code == "unscheduled"],
            "endpoint_rows": endpoint_rows,
            "signature": signature,
            "signature_valid": monitoring.signature_valid(signature, participant)
            if signature
            else None,
            "open_queries": DataQuery.objects.filter(subject=participant.participant_id)
            .exclude(state="closed")
            .count(),
            "can_sign": can(request.user, Perm.SIGN_RECORDS),
            "endpoints": outcomes_selectors.ENDPOINTS,
            "plotted": [
                (code, label)
                for code, label, _unit in outcomes_selectors.ENDPOINTS
                if outcomes_selectors.endpoint_series(endpoint_rows, code)
            ],
            "dose_grid": dosing_selectors.dose_grid(schedule, doses),
            "schedule": schedule,
            "compliance": dosing_selectors.compliance_for(participant, doses, today),
            "medical_history": list(enrollment_selectors.medical_history(participant)),
            "adverse_events": list(
                safety_selectors.adverse_events().filter(participant=participant)
            ),
            "study_day": participant.study_day_on(today),
            "today": today,
            "can_enter": can_enter,
            # A locked casebook takes no new visit, dose, AE or status (the database refuses).
            "can_add": can_enter and not participant.is_locked,
        },
    )


def consort(request):
    require(request, Perm.VIEW_DATA)
    today = timezone.localdate()
    return render(
        request, "dashboards/consort.html", {"flow": selectors.consort(today), "today": today}
    )
