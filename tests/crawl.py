"""Requesting every page of the URLconf, with path parameters taken from the demo trial.

`fills(route, user)` maps each path parameter to real objects of the right kind: `label` + `pk`
come from every clinical model there is, a `pk` after a literal segment from the model that
segment names (PK_MODELS), `participant_id` from the object or from the first and the last
participant. A route it cannot fill yields None, and the crawl test lists it: a new page with a
new kind of parameter needs a line here before it is covered; a new clinical model needs a record
in the demo trial (or in build_trial).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import QuerySet
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from accounts.mfa import mfa_satisfied
from crf import monitoring
from crf.models import ClinicalRecord, DataQuery, Notification
from crf.monitoring_views import SCOPES
from crf.notifications import notification_create
from crf.selectors import clinical_models
from crf.services import record_create, record_save
from demo.accounts import DEMO_ACCOUNTS, demo_accounts_load
from demo.trial import demo_trial_load
from dosing.models import DoseRecord
from enrollment.models import (
    Identity,
    MedicalHistory,
    Participant,
    ProtocolDeviation,
    Screening,
)
from outcomes.models import ConMed, Visit, VitalSigns
from outcomes.selectors import ENDPOINTS
from outcomes.views import CRFS
from reports.models import Report
from reports.services import report_build, report_request
from reports.views import EXPORT_KINDS
from safety.models import AdverseEvent, StoppingRuleAlert
from tests.conftest import enrol_totp
from tests.crftest.models import Observation
from tests.routes import Route, routes

# The personas of the crawl: the demo account of each role, an account with no role, nobody.
ROLE_USERNAMES = {
    "coordinator": "coordinator",
    "investigator": "investigator",
    "monitor": "monitor",
    "dsmb_member": "dsmb",
    "admin": "admin",
    "outsider": "outsider",
    "anonymous": None,
}
PASSWORDS = {account.username: account.password for account in DEMO_ACCOUNTS} | {
    "outsider": "outsider-2026"
}
# Roles that are not site staff: identifying details never reach them.
NON_SITE_ROLES = ("monitor", "dsmb_member", "admin", "outsider", "anonymous")

# Identifying details set on every identity record of the trial: unusual enough that finding one
# anywhere can only mean it leaked.
IDENTITY_MARKERS = ("Qzvandt", "HRN-QX", "139-7775")

# The model a `pk` after each literal path segment names (e.g. visits/<pk>/ is a visit).
PK_MODELS: dict[str, Callable[[object], QuerySet]] = {
    "inbox": lambda user: (
        Notification.objects.filter(recipient=user) if user else Notification.objects.all()
    ),
    "queries": lambda user: DataQuery.objects.all(),
    "deviations": lambda user: ProtocolDeviation.objects.all(),
    "screening": lambda user: Screening.objects.all(),
    "visits": lambda user: Visit.objects.all(),
    "conmeds": lambda user: ConMed.objects.all(),
    "reports": lambda user: Report.objects.all(),
    "ae": lambda user: AdverseEvent.objects.all(),
    "alerts": lambda user: StoppingRuleAlert.objects.all(),
    "observations": lambda user: Observation.objects.all(),
    "medical-history": lambda user: MedicalHistory.objects.all(),
}

# Parameters whose value is a token or a name of the framework's own pages, not a trial object.
FIXED_VALUES: dict[str, list[str]] = {
    "key": ["no-such-key"],  # e-mail confirmation and password reset keys
    "uidb36": ["1"],
    "url": ["no-such-page"],  # the admin site's catch-all
    "app_label": ["accounts"],  # the one app of the account-management site
    "scope": sorted(SCOPES),
    "form_code": sorted(CRFS),
    "endpoint": [code for code, _label, _unit in ENDPOINTS],
    "kind": list(EXPORT_KINDS),
}


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def media_in_tmp(settings, media_root):
    """The report files built with the trial stay readable for every test of the module."""
    settings.MEDIA_ROOT = media_root


@pytest.fixture(scope="module")
def trial(django_db_setup, django_db_blocker, media_root):
    """The demo trial, built once for the module and rolled back after it."""
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root),
        transaction.atomic(),
    ):
        build_trial()
        yield
        transaction.set_rollback(True)


def requests_of(user):
    """(route, url) of every page, with every set of parameter values the demo trial offers."""
    for route in routes():
        for values in fills(route, user) or []:
            yield route, route.url(values)


def spread(objects: list, count: int = 2) -> list:
    """The first and the last objects: the oldest and the newest, without requesting them all."""
    if len(objects) <= count:
        return objects
    step = (len(objects) - 1) / (count - 1)
    return [objects[round(i * step)] for i in range(count)]


def subject_of(obj) -> str | None:
    """The participant ID an object belongs to, if any."""
    if isinstance(obj, Participant):
        return obj.participant_id
    participant = getattr(obj, "participant", None)
    if isinstance(participant, Participant):
        return participant.participant_id
    if isinstance(obj, ClinicalRecord):
        subject = obj.audit_subject
        return subject if subject and not subject.startswith("SCR-") else None
    return None


def _anchors(route: Route, user) -> list[dict] | None:
    """The values of the parameters that name one object (and those that follow from it)."""
    params = set(route.params)
    if {"label", "pk"} <= params:
        anchors = []
        for model in clinical_models():
            record = model.objects.order_by("pk").first()
            if record is not None:  # models_without_records() names the others
                anchors.append({"label": model._meta.label_lower, "pk": record.pk})
        return anchors
    if "pk" in params:
        segment = route.segment_before("pk")
        if segment not in PK_MODELS:
            return None
        anchors = []
        for obj in spread(list(PK_MODELS[segment](user).order_by("pk"))):
            values = {"pk": obj.pk}
            if "participant_id" in params:
                values["participant_id"] = subject_of(obj)
                if values["participant_id"] is None:
                    continue
            anchors.append(values)
        return anchors or None
    if "day" in params:
        doses = spread(list(DoseRecord.objects.select_related("participant").order_by("pk")))
        return [
            {"participant_id": d.participant.participant_id, "day": d.study_day} for d in doses
        ] or None
    if params & {"participant_id", "subject"}:
        name = "participant_id" if "participant_id" in params else "subject"
        ids = Participant.objects.order_by("pk").values_list("participant_id", flat=True)
        return [{name: pid} for pid in spread(list(ids))] or None
    if params & {"id", "object_id", "user_id"}:  # the account-management site: a user account
        return [
            {"id": user_pk, "object_id": user_pk, "user_id": user_pk} for user_pk in _some_user_pk()
        ]
    return [{}]


def models_without_records() -> list[str]:
    """Clinical models the trial has no record of: their record pages would go unrequested."""
    return [m._meta.label for m in clinical_models() if not m.objects.exists()]


def _some_user_pk() -> list[int]:
    return list(
        get_user_model().objects.filter(username="coordinator").values_list("pk", flat=True)
    )


def fills(route: Route, user) -> list[dict] | None:
    """Every set of parameter values to request the route with, or None when one cannot be had."""
    anchors = _anchors(route, user)
    if anchors is None:
        return None
    rest = [p for p in route.params if p not in anchors[0]]
    choices = []
    for param in rest:
        if param == "content_type_id":
            choices.append([ContentType.objects.get_for_model(get_user_model()).pk])
        elif param in FIXED_VALUES:
            choices.append(FIXED_VALUES[param])
        else:
            return None
    return [
        {**anchor, **dict(zip(rest, combo, strict=True))}
        for anchor in anchors
        for combo in itertools.product(*choices)
    ]


@dataclass
class Answer:
    method: str
    url: str
    status: int
    body: bytes
    error: str = ""
    content_type: str = ""
    templates: tuple[str, ...] = ()
    headers: dict = field(default_factory=dict)


def fetch(client: Client, method: str, url: str) -> Answer:
    """Request the URL, reading a streamed body too; what the request changed is rolled back.

    The client's cookies are restored after each request, so signing out (or switching the
    language) on one page does not change how the next is requested.
    """
    cookies = copy.deepcopy(client.cookies)
    try:
        with transaction.atomic():
            response = getattr(client, method)(url)
            streamed = response.streaming
            body = b"".join(response.streaming_content) if streamed else response.content
            transaction.set_rollback(True)
    except Exception as exc:  # an unhandled exception is the 500 a user would see
        return Answer(method, url, 500, b"", f"{type(exc).__name__}: {exc}")
    finally:
        client.cookies = cookies
    templates = tuple(t.name for t in getattr(response, "templates", []) if t.name)
    content_type = response.get("Content-Type", "")
    return Answer(
        method, url, response.status_code, body, "", content_type, templates, dict(response.headers)
    )


def client_for_role(role: str) -> tuple[Client, object]:
    """A client signed in with the role's username and password (through every auth backend)."""
    username = ROLE_USERNAMES[role]
    client = Client()
    if username is None:
        return client, None
    signed_in = client.login(
        request=RequestFactory().get("/"), username=username, password=PASSWORDS[username]
    )
    assert signed_in, f"{username} could not sign in"
    user = get_user_model().objects.get(username=username)
    if not mfa_satisfied(user):
        # The role must use an authenticator app: enrolled, the user reaches every page (a
        # signed-in user without one reaches only the enrolment page).
        enrol_totp(user)
    return client, user


def set_identity_markers(actor) -> None:
    """Give every screening an identity record carrying the markers, changed once (audited)."""
    for screening in Screening.objects.order_by("pk"):
        n = screening.pk
        identity = Identity.objects.filter(screening=screening).first()
        if identity is None:
            identity = record_create(
                record=Identity(screening=screening, full_name=f"Qzvandt Oldname {n}"),
                actor=actor,
            )
        identity.full_name = f"Qzvandt Yrsolme {n}"
        identity.hospital_record_number = f"HRN-QX-{n:04d}"
        identity.phone = f"+86 139-7775-{n:04d}"
        record_save(
            record=identity,
            actor=actor,
            expected_version=identity.version,
            reason="Identity checked against the hospital record.",
        )


def build_trial() -> None:
    """The demo trial, plus an outsider and the objects the demo has none of."""
    demo_accounts_load()
    demo_trial_load()
    users = get_user_model().objects
    users.create_user(username="outsider", password=PASSWORDS["outsider"], email="o@x.org")
    coordinator = users.get(username="coordinator")
    monitor = users.get(username="monitor")
    set_identity_markers(coordinator)
    record_create(
        record=Observation(measured_on=dt.date(2026, 3, 1), value=None, note="crawl"),
        actor=coordinator,
    )
    participant = Participant.objects.order_by("pk").first()
    record_create(
        record=ProtocolDeviation(
            participant=participant,
            category="dosing",
            severity="minor",
            occurred_on=participant.first_dose_date,
            description="Dose given 40 minutes late.",
        ),
        actor=coordinator,
    )
    vitals = VitalSigns.objects.order_by("pk").first()
    monitoring.query_open(record=vitals, field_name="sbp", text="Source says 128?", actor=monitor)
    for user in users.all():
        notification_create(
            key=f"crawl:{user.pk}",
            kind="reminder",
            subject="A reminder",
            body="Something is due.",
            url="/",
            recipient=user,
        )
    investigator = users.get(username="investigator")
    # A requested report never built (the list shows it building) and a built one to download.
    report_request(cutoff=timezone.now(), actor=investigator)
    report = report_request(cutoff=timezone.now(), actor=investigator)
    report_build(report.pk)
