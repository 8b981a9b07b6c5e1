"""Benchmark: single-request times of the safety dashboard and the query list.

It creates and drops its own database on the server named by DATABASE_URL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trialportal \\
        .venv/bin/python bench/safety_pages.py

Sizes come from BENCH_SIZES (default 10,1000). Each participant has a mild event, every third
a serious related one (a SUSAR) with a follow-up and, every other one, its report, eight dose
records and two data queries. Each page is requested once to warm up, then REPEAT times
(default 5); the median wall time and the query count are printed. No tracemalloc.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialportal.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)

PAGES = (
    "/safety/",
    "/safety/?view=participants",
    "/safety/?view=clocks",
    "/safety/?view=participants&grade=3&sort=-grade",
    "/queries/?state=all",
)


def populate(count: int):
    from accounts.roles import Role
    from crf.models import DataQuery
    from enrollment.models import Participant
    from tests.conftest import enrol_totp
    from tests.factories import bulk_adverse_events, bulk_participants

    user = get_user_model().objects.create_user(username="bench-pi", password="x")
    user.groups.add(Group.objects.get(name=Role.INVESTIGATOR))
    enrol_totp(user)
    bulk_participants(user, count)
    participants = list(Participant.objects.all())
    bulk_adverse_events(user, participants)
    kind = ContentType.objects.get_for_model(Participant)
    DataQuery.objects.bulk_create(
        [
            DataQuery(
                content_type=kind, object_id=p.pk, field_name="enrollment_date",
                subject=p.participant_id, state=state, opened_by=user,
            )
            for p in participants
            for state in ("open", "closed")
        ]
    )  # fmt: skip
    return user


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "10,1000").split(",")]
    repeat = int(os.environ.get("REPEAT", "5"))
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"machine: {os.cpu_count()} cores; sizes {sizes}; median of {repeat}", flush=True)
    for size in sizes:
        old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            client = Client()
            client.force_login(populate(size))
            for url in PAGES:
                assert client.get(url).status_code == 200, url
                times = []
                for _ in range(repeat):
                    with CaptureQueriesContext(connection) as queries:
                        started = time.perf_counter()
                        client.get(url)
                        times.append(time.perf_counter() - started)
                median = statistics.median(times) * 1000
                print(f"[{size}] {url}: {median:.0f} ms, {len(queries)} queries", flush=True)
        finally:
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
