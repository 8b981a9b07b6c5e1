"""Benchmark: single-request time of the list pages at several trial sizes (no tracemalloc).

It creates and drops its own test database on the server named by DATABASE_URL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trialportal \\
        .venv/bin/python bench/pages.py

Sizes come from BENCH_SIZES (default 10,1000,10000); each page is requested BENCH_ROUNDS times
(default 7) after one warm-up request, through Django's test client as a signed-in coordinator,
and the median and best times are printed with the number of queries.
"""

from __future__ import annotations

import datetime as dt
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

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_databases,
    setup_test_environment,
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

PAGES = [
    "/",
    "/participants/",
    "/participants/?sort=next",
    "/dosing/today/",
    "/worklist/?bucket=overdue",
]


def populate(count: int, user, start: int = 0) -> None:
    """Add participants spread over 400 days of first doses, each with the doses and visits due
    by today (one dose in ten missed, four visits in five recorded, without their forms)."""
    from crf.schedule import date_of_study_day
    from dosing.models import DoseRecord
    from enrollment.models import Participant, Screening
    from outcomes.models import Visit
    from study import protocol
    from tests.factories import screening_answers

    today = timezone.localdate()
    screenings = Screening.objects.bulk_create(
        [
            Screening(**screening_answers(), eligible=True, created_by=user, updated_by=user)
            for _ in range(count)
        ],
        batch_size=2000,
    )
    participants = Participant.objects.bulk_create(
        [
            Participant(
                participant_id=f"B-{start + n:06d}",
                number=start + n + 1,
                screening=s,
                enrollment_date=today - dt.timedelta(days=n % 400 + 3),
                planned_first_dose=today - dt.timedelta(days=n % 400),
                first_dose_date=today - dt.timedelta(days=n % 400),
                created_by=user,
                updated_by=user,
            )
            for n, s in enumerate(screenings)
        ],
        batch_size=2000,
    )
    doses, visits = [], []
    for n, p in enumerate(participants):
        for day in range(1, protocol.DOSING_DAYS + 1):
            on = date_of_study_day(p.first_dose_date, day)
            if on < today and (n + day) % 10:
                doses.append(
                    DoseRecord(
                        participant=p,
                        study_day=day,
                        dose_date=on,
                        given="yes",
                        dose_particles=200_000_000,
                        created_by=user,
                        updated_by=user,
                    )
                )
        for visit in protocol.VISITS:
            on = date_of_study_day(p.first_dose_date, visit.offset)
            if on < today and (n + visit.offset) % 5:
                visits.append(
                    Visit(
                        participant=p,
                        code=visit.code,
                        visit_date=on,
                        created_by=user,
                        updated_by=user,
                    )
                )
    DoseRecord.objects.bulk_create(doses, batch_size=5000)
    Visit.objects.bulk_create(visits, batch_size=5000)
    _analyze()
    try:
        from outcomes.schedule_table import schedule_rebuild
    except ImportError:  # the portal before the stored schedule
        return
    started = time.perf_counter()
    schedule_rebuild(participant_ids=[p.pk for p in participants])
    _analyze()
    print(f"[{count}] schedule table built: {time.perf_counter() - started:.1f} s", flush=True)


def _analyze() -> None:
    """Refresh the planner's statistics after the bulk inserts, as autovacuum would: with the
    estimates of empty tables PostgreSQL may JIT-compile a small query for seconds."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def time_page(client: Client, url: str, rounds: int) -> tuple[float, float, int] | None:
    if client.get(url).status_code == 404:  # warm-up; a page this version does not have
        return None
    seconds = []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(seconds), min(seconds), len(queries)


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "10,1000,10000").split(",")]
    rounds = int(os.environ.get("BENCH_ROUNDS", "7"))
    print(f"machine: {os.cpu_count()} cores; sizes {sizes}; {rounds} rounds", flush=True)
    setup_test_environment()
    # One database; each size adds participants to the previous ones.
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        from django.contrib.auth.models import Group

        from accounts.roles import Role

        user = get_user_model().objects.create_user(username="bench", password="x")
        user.groups.add(Group.objects.get(name=Role.COORDINATOR))
        client = Client()
        client.force_login(user)
        filled = 0
        for size in sorted(sizes):
            started = time.perf_counter()
            populate(size - filled, user, start=filled)
            filled = size
            print(f"[{size}] populate: {time.perf_counter() - started:.1f} s", flush=True)
            for url in PAGES:
                timed = time_page(client, url, rounds)
                if timed is None:
                    print(f"[{size}] {url}: no such page", flush=True)
                    continue
                median, best, queries = timed
                print(
                    f"[{size}] {url}: median {median * 1000:.0f} ms, best {best * 1000:.0f} ms,"
                    f" {queries} queries",
                    flush=True,
                )
    finally:
        teardown_databases(old, verbosity=0)


main()
