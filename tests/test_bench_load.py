"""bench/load.py runs end to end at a tiny size and prints a row for every page.

The figures themselves are not checked (speed is the bench's business, not the suite's): only that
the portal and the floor served every page, the CRF saves went through, and the report is whole.
The bench copies the migrated test database instead of migrating its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PAGES = [
    "coordinator home",
    "participant list",
    "dosing today",
    "safety dashboard",
    "queries list",
    "casebook",
    "follow-up CRF (GET)",
    "CRF save (POST)",
    "floor read (SELECT + template)",
    "floor write (INSERT)",
]


# Transactional: no transaction holds a connection to the test database while it is copied (and
# the serialized rollback keeps the migrations' data for the tests after this one).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_load_bench_prints_a_row_per_page():
    from django.db import connections

    template = connections["default"].settings_dict["NAME"]
    # CREATE DATABASE ... TEMPLATE needs the template free of connections.
    connections.close_all()
    env = {
        **os.environ,
        "BENCH_TEMPLATE": template,
        "BENCH_DATABASE": f"{template}_load",
        "BENCH_PARTICIPANTS": "5",
        "BENCH_USERS": "2",
        "BENCH_SECONDS": "1",
        "BENCH_SAVE_SECONDS": "1",
        "BENCH_WORKERS": "1",
    }
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for page in PAGES:
        row = next((line for line in lines if line.startswith(page + " ")), None)
        assert row is not None, f"no row for {page}:\n{run.stdout}"
        n, p50, p95, p99 = row[len(page) :].split()[:4]
        assert int(n) >= 1 and float(p50) <= float(p95) <= float(p99), row
    assert not [line for line in lines if line.startswith("errors on")], run.stdout
    assert any(line.startswith("save throughput") for line in lines), run.stdout
