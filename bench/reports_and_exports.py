"""Benchmark: DSMB report build time and memory, export throughput beside PostgreSQL's COPY.

It creates and drops its own database on the server named by DATABASE_URL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trialportal \
        .venv/bin/python bench/reports_and_exports.py

Sizes come from BENCH_SIZES (default 10,1000,10000). Prints one line per measurement.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialportal.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402


def populate(count: int) -> None:
    """Synthetic participants with 14 doses and 2 adverse events each (bulk inserts)."""
    from dosing.models import DoseRecord
    from enrollment.models import Participant, Screening
    from safety.models import AdverseEvent, CtcaeTerm
    from tests.factories import screening_answers

    user, _ = get_user_model().objects.get_or_create(username="bench")
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
                participant_id=f"B-{n:06d}",
                number=n + 1,
                screening=s,
                enrollment_date=today - dt.timedelta(days=60),
                planned_first_dose=today - dt.timedelta(days=50),
                first_dose_date=today - dt.timedelta(days=50),
                created_by=user,
                updated_by=user,
            )
            for n, s in enumerate(screenings)
        ],
        batch_size=2000,
    )
    DoseRecord.objects.bulk_create(
        [
            DoseRecord(
                participant=p,
                study_day=day,
                dose_date=p.first_dose_date + dt.timedelta(days=day - 1),
                given="yes",
                dose_particles=200_000_000,
                pre_spo2=94,
                post_spo2=93,
                created_by=user,
                updated_by=user,
            )
            for p in participants
            for day in range(1, 15)
        ],
        batch_size=5000,
    )
    cough, fever = CtcaeTerm.objects.get(term="Cough"), CtcaeTerm.objects.get(term="Fever")
    AdverseEvent.objects.bulk_create(
        [
            AdverseEvent(
                participant=p,
                number=n,
                verbatim_term=term.term,
                term=term,
                onset_date=p.first_dose_date + dt.timedelta(days=n),
                grade=1,
                serious=False,
                action_taken="none",
                outcome="recovered",
                ongoing=False,
                end_date=p.first_dose_date + dt.timedelta(days=n + 2),
                awareness_at=timezone.now(),
                created_by=user,
                updated_by=user,
            )
            for p in participants
            for n, term in ((1, cough), (2, fever))
        ],
        batch_size=5000,
    )


def measure(label: str, func) -> object:
    tracemalloc.start()
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label}: {seconds:.2f} s, peak Python memory {peak / 2**20:.1f} MiB", flush=True)
    return result


def copy_rows_per_second(table: str) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        sink = _Null()
        cursor.copy_expert(f"COPY {table} TO STDOUT WITH CSV", sink)
    seconds = time.perf_counter() - started
    return sink.lines / seconds if seconds else 0.0


class _Null:
    lines = 0

    def write(self, data):
        self.lines += data.count("\n") if isinstance(data, str) else data.count(b"\n")


def main() -> None:
    from reports.dsmb_data import dsmb_data
    from reports.dsmb_pdf import DsmbReport
    from reports.exports import csv_zip_stream
    from reports.odm import odm_stream

    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "10,1000,10000").split(",")]
    print(f"machine: {os.cpu_count()} cores; sizes {sizes}", flush=True)
    for size in sizes:
        old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            started = time.perf_counter()
            populate(size)
            print(f"[{size}] populate: {time.perf_counter() - started:.1f} s", flush=True)

            def build():
                pdf, pages = DsmbReport(
                    dsmb_data(timezone.now()), version="bench", requested_by="bench"
                ).build()
                return pages, len(pdf)

            pages, length = measure(f"[{size}] DSMB report", build)
            print(f"[{size}] DSMB report: {pages} pages, {length / 1024:.0f} KiB", flush=True)
            rows = 0

            def export():
                total = 0
                for chunk in csv_zip_stream():
                    total += len(chunk)
                return total

            started = time.perf_counter()
            zipped = measure(f"[{size}] CSV zip export", export)
            seconds = time.perf_counter() - started
            with connection.cursor() as cursor:
                for table in (
                    "dosing_doserecord",
                    "safety_adverseevent",
                    "enrollment_participant",
                    "enrollment_screening",
                ):
                    cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed table names)
                    rows += cursor.fetchone()[0]
            rate = rows / seconds
            print(
                f"[{size}] CSV zip export: {rows} rows, {rate:,.0f} rows/s, {zipped / 1024:.0f} KiB"
            )
            for audit in (False, True):
                label = "ODM export with audit records" if audit else "ODM export"

                def odm(audit=audit):
                    return sum(len(part.encode()) for part in odm_stream(audit=audit))

                started = time.perf_counter()
                written = measure(f"[{size}] {label}", odm)
                seconds = time.perf_counter() - started
                print(
                    f"[{size}] {label}: {rows / seconds:,.0f} rows/s, {written / 2**20:.1f} MiB",
                    flush=True,
                )
            copy_rate = copy_rows_per_second("dosing_doserecord")
            print(
                f"[{size}] PostgreSQL COPY of dosing_doserecord: {copy_rate:,.0f} rows/s",
                flush=True,
            )
        finally:
            teardown_databases(old, verbosity=0)


main()
