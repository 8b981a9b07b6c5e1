"""Benchmark: DSMB report build time and memory, export throughput beside PostgreSQL's COPY.

It creates and drops its own database on the server named by DATABASE_URL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trialportal \
        .venv/bin/python bench/reports_and_exports.py

Sizes come from BENCH_SIZES (default 10,1000,10000). Prints one line per measurement.

Two passes per step. The timing pass runs the step in this process with nothing watching it.
The memory pass runs the step again in a fresh child process (`--child STEP`) and reports that
process's peak resident set size (VmHWM), its resident size before the step, and the peak of
Python allocations (tracemalloc, which slows Python several times, hence only in this pass).
Rates count the rows of every table the exports read (every exported form), and `COPY` reads the
same tables and the same rows: `COPY (SELECT * FROM table ORDER BY id) TO STDOUT WITH CSV` for
each of them, written to a sink that only counts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


class _Null:
    """A sink that counts lines and bytes and keeps nothing."""

    def __init__(self):
        self.lines = 0
        self.size = 0

    def write(self, data):
        self.size += len(data)
        self.lines += data.count("\n") if isinstance(data, str) else data.count(b"\n")


def exported_tables() -> list[str]:
    from reports.exports import exportable_models

    return [model._meta.db_table for model in exportable_models()]


def exported_rows() -> int:
    from reports.exports import exportable_models

    return sum(model.objects.count() for model in exportable_models())


# --- Steps: each returns what it produced (a dict of figures) ------------------------------------


def step_dsmb() -> dict:
    from reports.dsmb_data import dsmb_data
    from reports.dsmb_pdf import DsmbReport

    report = DsmbReport(dsmb_data(timezone.now()), version="bench", requested_by="bench")
    pdf, pages = report.build()
    return {"pages": pages, "bytes": len(pdf)}


def step_csv() -> dict:
    from reports.exports import csv_zip_stream

    return {"bytes": sum(len(chunk) for chunk in csv_zip_stream())}


def _odm(audit: bool) -> dict:
    from reports.odm import odm_stream

    return {"bytes": sum(len(part.encode()) for part in odm_stream(audit=audit))}


def step_odm() -> dict:
    return _odm(False)


def step_odm_audit() -> dict:
    return _odm(True)


def step_copy() -> dict:
    sink = _Null()
    with connection.cursor() as cursor:
        for table in exported_tables():
            cursor.copy_expert(
                f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT WITH CSV",  # noqa: S608
                sink,
            )
    return {"bytes": sink.size, "lines": sink.lines}


STEPS = {
    "DSMB report": step_dsmb,
    "CSV zip export": step_csv,
    "ODM export": step_odm,
    "ODM export with audit records": step_odm_audit,
    "PostgreSQL COPY of the same tables": step_copy,
}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(name: str) -> None:
    """The memory pass of one step, in this fresh process: prints one JSON line."""
    before = _status_kib("VmRSS")
    tracemalloc.start()
    STEPS[name]()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        json.dumps(
            {"rss_before_kib": before, "peak_rss_kib": _status_kib("VmHWM"), "python_peak": peak}
        ),
        flush=True,
    )


def memory_pass(name: str) -> dict:
    url = urlsplit(os.environ.get("DATABASE_URL", "postgres://127.0.0.1:5432/trialportal"))
    test_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    output = subprocess.run(  # noqa: S603 (this script, by its own path)
        [sys.executable, __file__, "--child", name],
        env={**os.environ, "DATABASE_URL": test_url},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "10,1000,10000").split(",")]
    print(f"machine: {os.cpu_count()} cores; sizes {sizes}", flush=True)
    for size in sizes:
        old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        try:
            started = time.perf_counter()
            populate(size)
            print(f"[{size}] populate: {time.perf_counter() - started:.1f} s", flush=True)
            rows = exported_rows()
            print(f"[{size}] rows in the {len(exported_tables())} exported tables: {rows}")
            rates = {}
            for name, step in STEPS.items():
                connection.close()  # each step opens its own connection, as a request would
                started = time.perf_counter()
                result = step()
                seconds = time.perf_counter() - started
                memory = memory_pass(name)
                rates[name] = rows / seconds if seconds else 0.0
                extra = ", ".join(
                    f"{result['pages']} pages" if key == "pages" else f"{value / 2**20:.1f} MiB out"
                    for key, value in result.items()
                    if key in ("pages", "bytes")
                )
                rate = "" if name == "DSMB report" else f", {rates[name]:,.0f} rows/s"
                print(
                    f"[{size}] {name}: {seconds:.2f} s{rate}; {extra}; "
                    f"peak RSS {memory['peak_rss_kib'] / 1024:.0f} MiB "
                    f"(before the step {memory['rss_before_kib'] / 1024:.0f} MiB), "
                    f"peak Python allocations {memory['python_peak'] / 2**20:.1f} MiB",
                    flush=True,
                )
            copy = rates["PostgreSQL COPY of the same tables"]
            for name in ("CSV zip export", "ODM export", "ODM export with audit records"):
                print(f"[{size}] {name} / COPY: {100 * rates[name] / copy:.1f} %", flush=True)
        finally:
            connection.close()
            teardown_databases(old, verbosity=0)


if len(sys.argv) == 3 and sys.argv[1] == "--child":
    child(sys.argv[2])
else:
    main()
