"""Hostile input on every form of the portal: never a 5xx, input kept on error, nothing invalid stored.

The form pages come from the URLconf (tests/routes.py) with parameters from the demo trial
(tests/crawl.py): each page is requested as each role that enters data, and a page whose answer
carries a bound-able `form` in its context is fuzzed as the first role that reached it. Each
example posts generated hostile values (huge strings, NUL bytes, unicode, markup and SQL
snippets, numbers out of range, NaN, implausible or garbage dates, non-integer ids) for a random
subset of the form's fields; what it changed is rolled back (`fetch`-like savepoint), so the
examples do not accumulate.
"""

from __future__ import annotations

import copy
import datetime as dt
import time

import pytest
from django import forms
from django.apps import apps
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crf.models import TEXT_MAX_LENGTH, ClinicalRecord
from tests.crawl import (  # noqa: F401  (fixtures)
    client_for_role,
    media_in_tmp,
    media_root,
    requests_of,
    trial,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("trial", "media_in_tmp")]

EXAMPLES_PER_FORM = 200
# No clinical date of this trial (births included) falls outside these years.
PLAUSIBLE_YEARS = (1900, dt.date.today().year + 2)
# The roles that fill forms in, in the order a page is attributed to them.
ROLES = ("coordinator", "investigator", "monitor", "admin", "dsmb_member")
# Pages that are not data entry: signing in or out, passwords and authenticators change the
# session the fuzzing runs in; the admin site is Django's own.
SKIPPED_PREFIXES = ("/accounts/", "/admin/", "/mfa/", "/i18n/", "/logout", "/login")

HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "cough\x00",
        "x" * (TEXT_MAX_LENGTH + 1),
        "y" * 1_000_000,
        "<script>alert(1)</script>",
        "'; DROP TABLE safety_adverseevent; --",
        "%' OR 1=1 --",
        "\u202e\u200b\ufeff",
        "\U0001f9ea\U0001f4a5",
        "\ud7ff\ue000",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e309",
        "-1",
        "0",
        "2147483648",
        "99999999999999999999",
        "1.5",
        "abc",
        "1800-01-01",
        "9999-12-31",
        "0000-00-00",
        "2026-02-30",
        "1800-01-01T00:00",
        "9999-12-31T23:59",
        "25:61",
        "True",
        "on",
        "None",
        "[]",
        "{}",
    ]
)
VALUES = st.one_of(
    HOSTILE_TEXT,
    st.text(max_size=50),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def discover() -> list[tuple[str, str, str, list[str], dict]]:
    """(role, route name, url, field names, initial data) of one page of each form class.

    Pages sharing a form class are fuzzed once, on the first page found, to keep the suite
    within a few minutes; a record's create page and its edit page count apart, since an edit
    adds the version and the reason for change.
    """
    found: dict[str, tuple] = {}
    kinds: set[tuple[type, bool]] = set()
    for role in ROLES:
        client, user = client_for_role(role)
        for route, url in requests_of(user):
            if route.name in found or url.startswith(SKIPPED_PREFIXES):
                continue
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            context = getattr(response, "context", None)
            form = (
                context.get("form") if context is not None and response.status_code == 200 else None
            )
            if not isinstance(form, forms.BaseForm) or not form.fields:
                continue
            instance = getattr(form, "instance", None)
            kind = (type(form), instance is not None and instance.pk is not None)
            if kind in kinds:
                continue
            kinds.add(kind)
            initial = {}
            for name, field in form.fields.items():
                value = form[name].value()
                if value is not None and not isinstance(value, list | tuple):
                    initial[form.add_prefix(name)] = str(field.prepare_value(value))
            names = [form.add_prefix(name) for name in form.fields]
            found[route.name] = (role, route.name, url, names, initial)
    return sorted(found.values(), key=lambda page: page[1] or "")


def changed_rows_problems(since) -> list[str]:
    """Clinical rows written since `since` that do not validate, or hold text past the cap."""
    problems = []
    for model in apps.get_models():
        if not issubclass(model, ClinicalRecord):
            continue
        for row in model.objects.filter(updated_at__gte=since):
            try:
                row.full_clean(validate_unique=False, validate_constraints=False)
            except Exception as error:  # any refusal is the finding
                problems.append(f"{model._meta.label} {row.pk}: {error}")
            for field in model._meta.concrete_fields:
                value = getattr(row, field.attname)
                if isinstance(value, str) and (len(value) > TEXT_MAX_LENGTH or "\x00" in value):
                    problems.append(f"{model._meta.label}.{field.name} {row.pk}: {len(value)}")
                if (
                    isinstance(value, dt.date)
                    and model._meta.app_label != "crftest"  # the test app checks no dates
                    and not PLAUSIBLE_YEARS[0] <= value.year <= PLAUSIBLE_YEARS[1]
                ):
                    problems.append(f"{model._meta.label}.{field.name} {row.pk}: {value}")
    return problems


def post_once(client, url: str, data: dict) -> tuple[int, str, object]:
    """POST in a savepoint rolled back afterwards: (status, problem, form of the answer)."""
    cookies = copy.deepcopy(client.cookies)
    since = timezone.now()
    problem = ""
    try:
        with transaction.atomic():
            response = client.post(url, data)
            status = response.status_code
            if status in (301, 302, 303) and (rows := changed_rows_problems(since)):
                problem = "invalid values stored: " + "; ".join(rows)[:2000]
            transaction.set_rollback(True)
    except Exception as error:  # a 500 for the user
        return 500, f"{type(error).__name__}: {str(error)[:300]}", None
    finally:
        client.cookies = cookies
    context = getattr(response, "context", None)
    form = context.get("form") if context is not None else None
    return status, problem, form


def input_kept(form, data: dict) -> list[str]:
    """Posted text values that the re-rendered form does not show again."""
    lost = []
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        if key not in data or field.disabled:
            continue
        widget = field.widget
        if not isinstance(widget, forms.Textarea | forms.TextInput | forms.NumberInput):
            continue
        shown = form[name].value()
        if str(shown if shown is not None else "") != data[key]:
            lost.append(name)
    return lost


def fuzzer(client, role, name, url, fields, initial, failures, statuses):
    """A hypothesis test posting hostile values to one form page, recording what goes wrong."""

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.fixed_dictionaries({}, optional={field: VALUES for field in fields}))
    def fuzz(hostile):
        data = {**initial, **hostile}
        status, problem, form = post_once(client, url, data)
        where = f"{name} {url} as {role}"
        if status >= 500:
            failures.append(f"{where}: {status} {problem} {sorted(hostile)}")
        elif problem:
            failures.append(f"{where}: {problem}")
        elif (
            status == 200
            and isinstance(form, forms.BaseForm)
            and form.is_bound
            and form.errors
            and (lost := input_kept(form, data))
        ):
            failures.append(f"{where}: input not kept in {lost}")
        statuses[status] = statuses.get(status, 0) + 1

    return fuzz


def test_no_form_answers_hostile_input_with_a_server_error_or_stores_it():
    pages = discover()
    assert len(pages) >= 15, [page[1] for page in pages]  # the discovery found the forms
    failures: list[str] = []
    clients = {}
    started = time.monotonic()
    for role, name, url, fields, initial in pages:
        if role not in clients:
            clients[role] = client_for_role(role)[0]
        client = clients[role]

        statuses: dict[int, int] = {}
        fuzzer(client, role, name, url, fields, initial, failures, statuses)()
        print(f"{name} as {role}: {sorted(statuses.items())}")
    elapsed = time.monotonic() - started
    print(f"fuzzed {len(pages)} forms x {EXAMPLES_PER_FORM} examples in {elapsed:.0f}s")
    unique = sorted(set(failures))
    assert not unique, f"{len(unique)} findings:\n" + "\n".join(unique[:60])
