"""Load benchmark: the portal's pages under concurrent users, against a bare Django floor app.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trialportal \
    REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/load.py --participants 1000 --users 20

It creates its own database on the server of DATABASE_URL (BENCH_DATABASE, default bench_load;
dropped at the end), fills a trial of N participants, creates U signed-in users and starts two
gunicorn servers with the same worker settings on the same PostgreSQL: the portal (production
settings, DEBUG off) and the floor (bench/floor: one view doing one SELECT and rendering a tiny
template, one doing one INSERT). Then:

1. rounds: each user requests every page (portal_pages(), and for the roles that enter data a
   follow-up CRF opened and saved) once per round, in its own shuffled order, the floor's read
   and write among them, until the round time is up;
2. save throughput: the users that enter data post CRF saves for a fixed time, then the same
   number of threads post the floor's INSERT for the same time.

It prints p50/p95/p99 per page, p95 ÷ the floor read's p95, and the saves per second beside the
floor's inserts per second, with the targets of docs/performance.md.

The driver is a thread per user with http.client (standard library), not locust: the script
also fills the database and creates the sessions through Django and psycopg2 in the same process,
which gevent's monkey-patching (locust's runner) would make cooperative only with extra patches
(psycogreen); threads wait on sockets without holding the GIL, so twenty of them suffice for
servers that take milliseconds to seconds per request.

Users are signed in by creating their sessions directly in the session store (Django's
Client.force_login; the sign-in signals run, so the two-factor check is recorded in the session
as after a real sign-in): investigators and monitors are enrolled in an authenticator app first,
as their roles require, but no sign-in form is posted.

Options also come from the environment: BENCH_PARTICIPANTS, BENCH_USERS, BENCH_SECONDS,
BENCH_SAVE_SECONDS, BENCH_WORKERS, BENCH_SEED.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _options(argv=None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=int(env("BENCH_PARTICIPANTS", "1000")))
    parser.add_argument("--users", type=int, default=int(env("BENCH_USERS", "20")))
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(env("BENCH_SECONDS", "90")),
        help="time for the rounds; every user finishes the round it is in (at least one round)",
    )
    parser.add_argument(
        "--save-seconds",
        type=float,
        default=float(env("BENCH_SAVE_SECONDS", "15")),
        help="time for each of the two throughput phases (CRF save, floor INSERT)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("BENCH_WORKERS", "3")),
        help="gunicorn sync workers, for the portal and the floor alike (the Dockerfile's 3)",
    )
    parser.add_argument("--seed", type=int, default=int(env("BENCH_SEED", "0")))
    return parser.parse_args(argv)


OPTIONS = _options()

# Production settings for the portal, in this process and in the gunicorn it starts.
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "trialportal.settings",
        "DEBUG": "0",
        "HTTPS": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
)
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="bench-static-"))
os.environ["STATIC_ROOT"] = str(STATIC_ROOT)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

DATABASE = os.environ.get("BENCH_DATABASE", "bench_load")
# A migrated database to copy instead of migrating afresh (CREATE DATABASE ... TEMPLATE); nothing
# may be connected to it. The smoke test passes its test database.
TEMPLATE = os.environ.get("BENCH_TEMPLATE", "")


def create_database():
    """Create the bench's database (migrated, or copied from TEMPLATE); return how to drop it."""
    if not TEMPLATE:
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = DATABASE
        old = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
        return lambda: teardown_databases(old, verbosity=0)
    quote = connection.ops.quote_name
    with connection._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(DATABASE)}")
        cursor.execute(f"CREATE DATABASE {quote(DATABASE)} TEMPLATE {quote(TEMPLATE)}")
    connection.close()
    connection.settings_dict["NAME"] = DATABASE

    def drop():
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(DATABASE)}")

    return drop


# --- Filling the trial ---------------------------------------------------------------------------


def fill(count: int, seed: int) -> None:
    """A trial of `count` participants in bulk (tests/bulk.py): screening to follow-up, doses,
    visits with CRFs and labs, adverse events, queries, verifications, signatures."""
    from tests.bulk import fill_trial

    fill_trial(count, seed=seed)


def follow_up_crfs(count: int) -> list:
    """`count` vital-signs CRFs of follow-up visits, created if missing (Day 28, then Month 3, 6
    and 12 for the participants whose visit date has passed), each with an open query."""
    from django.contrib.auth import get_user_model

    from crf.monitoring import query_open
    from crf.schedule import date_of_study_day
    from enrollment.models import Participant
    from outcomes.models import Visit, VitalSigns
    from study import protocol
    from tests.factories import complete_visit, make_visit

    crfs = list(
        VitalSigns.objects.filter(retired_at__isnull=True, locked_at__isnull=True)
        .exclude(visit__code="baseline")
        .select_related("visit__participant")
        .order_by("visit__participant__number", "visit__visit_date")[:count]
    )
    actor, _ = get_user_model().objects.get_or_create(username="bench-filler")
    today = timezone.localdate()
    offsets = {visit.code: visit.offset for visit in protocol.VISITS}
    participants = list(
        Participant.objects.filter(first_dose_date__isnull=False).order_by("number")
    )
    for code in ("day28", "month3", "month6", "month12"):
        for participant in participants:
            if len(crfs) >= count:
                return crfs
            if date_of_study_day(participant.anchor, offsets[code]) >= today:
                continue
            if Visit.objects.filter(participant=participant, code=code).exists():
                continue
            visit = make_visit(participant, actor, code)
            complete_visit(visit, actor)
            vitals = VitalSigns.objects.select_related("visit__participant").get(visit=visit)
            query_open(record=vitals, field_name="heart_rate", text="Please confirm.")
            crfs.append(vitals)
    if len(crfs) < count:
        raise SystemExit(f"only {len(crfs)} follow-up CRFs can be made; fill more participants")
    return crfs


# --- Users and sessions --------------------------------------------------------------------------

ROLES = ("coordinator", "investigator", "monitor")


@dataclass
class VirtualUser:
    username: str
    role: str
    cookies: dict[str, str]
    crf_url: str | None  # the follow-up CRF this user edits (None: the role enters no data)


def sign_in_users(count: int, crfs: list) -> list[VirtualUser]:
    """Users of the three roles in turn, each with a session created in the session store."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from accounts.mfa import mfa_required

    users = []
    writers = iter(crfs)
    for n in range(count):
        role = ROLES[n % len(ROLES)]
        user = get_user_model().objects.create_user(
            username=f"bench-{role}-{n}", password=secrets.token_urlsafe(16)
        )
        user.groups.add(Group.objects.get(name=role))
        if mfa_required(user):
            TOTP.activate(user, generate_totp_secret())
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        crf_url = None
        if role != "monitor":
            vitals = next(writers)
            visit = vitals.visit
            crf_url = f"/participants/{visit.participant.participant_id}/visits/{visit.pk}/vitals/"
        users.append(
            VirtualUser(user.username, role, {settings.SESSION_COOKIE_NAME: cookie}, crf_url)
        )
    return users


# --- Servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            str(Path(sys.executable).parent / "gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "300",
            "--no-control-socket",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
        ],
        env=env,
        cwd=ROOT,
    )


def wait_until_serving(port: int, path: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn on port {port} exited with {process.returncode}")
        try:
            status, _ = request(port, "GET", path)
        except OSError:
            time.sleep(0.2)
            continue
        if status < 500:
            return
        raise SystemExit(f"port {port}: {path} answered {status}")
    raise SystemExit(f"port {port}: no answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- HTTP ----------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Host": "127.0.0.1", "Connection": "close"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and cookies is not None:
                name, _, rest = value.partition("=")
                # Flash messages are dropped: no page shows them between two saves, and the
                # cookie would grow with every save until it spilled into the session.
                if name.strip() != "messages":
                    cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text
    finally:
        connection.close()


class FormFields(HTMLParser):
    """The values a browser would submit from each form with method POST on the page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {} if (a.get("method") or "").lower() == "post" else None
            if self._form is not None:
                self.forms.append(self._form)
        fields = self._form
        if fields is None:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in {"submit", "button"}:
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                return
            fields[name] = a.get("value") or ("on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            fields[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def refusal(html: str) -> str:
    """The first error message a re-rendered form shows, to say why a save was refused."""
    import re

    match = re.search(
        r'class="[^"]*(?:invalid-feedback|alert-danger|errorlist)[^"]*"[^>]*>(.*?)</', html, re.S
    )
    return f": {' '.join(re.sub('<[^>]+>', ' ', match.group(1)).split())}" if match else ""


def form_fields(html: str) -> dict[str, str]:
    """The record's form: the POST form with the version field (the page has others: sign-out,
    language)."""
    parser = FormFields()
    parser.feed(html)
    return next((form for form in parser.forms if "version" in form), {})


# --- The load ------------------------------------------------------------------------------------

FLOOR_READ, FLOOR_WRITE = "floor read (SELECT + template)", "floor write (INSERT)"
CRF_GET, CRF_SAVE = "follow-up CRF (GET)", "CRF save (POST)"


@dataclass
class Results:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            if error:
                self.errors.setdefault(page, []).append(error)
            else:
                self.timings.setdefault(page, []).append(seconds)


class Session:
    """One virtual user: its cookies, and the version of the CRF it edits."""

    def __init__(self, user: VirtualUser, portal: int, floor: int, results: Results) -> None:
        self.user, self.portal, self.floor, self.results = user, portal, floor, results
        self.cookies = dict(user.cookies)
        self.fields: dict[str, str] | None = None
        self.saves = 0

    def timed(self, page, port, method, path, expect, *, form=None, cookies=True) -> str | None:
        started = time.perf_counter()
        try:
            status, body = request(
                port, method, path, cookies=self.cookies if cookies else None, form=form
            )
        except OSError as exc:
            self.results.add(page, 0.0, f"{type(exc).__name__}: {exc}")
            return None
        seconds = time.perf_counter() - started
        if status != expect:
            self.results.add(page, seconds, f"HTTP {status}{refusal(body)}")
            return body if status == 200 else None
        self.results.add(page, seconds)
        return body

    def get(self, page: str, path: str) -> None:
        self.timed(page, self.portal, "GET", path, 200)

    def crf_get(self) -> None:
        body = self.timed(CRF_GET, self.portal, "GET", self.user.crf_url, 200)
        if body is not None:
            self.fields = form_fields(body) or None

    def crf_save(self) -> bool:
        """Change the heart rate with a reason, at the version the form showed; True if saved."""
        if self.fields is None:
            self.crf_get()
            if self.fields is None:
                return False
        self.saves += 1
        form = dict(self.fields)
        form["heart_rate"] = str(70 + self.saves % 40)
        form["reason_for_change"] = "Transcription corrected (load benchmark)."
        body = self.timed(CRF_SAVE, self.portal, "POST", self.user.crf_url, 302, form=form)
        if body is None:
            self.fields = None
            return False
        if body:  # refused: the page again, with the version it now accepts
            self.fields = form_fields(body) or None
            return False
        self.fields["version"] = str(int(self.fields["version"] or 0) + 1)
        return True

    def floor_read(self) -> None:
        self.timed(FLOOR_READ, self.floor, "GET", "/read/", 200, cookies=False)

    def floor_write(self) -> bool:
        form = {"note": self.user.username}
        body = self.timed(FLOOR_WRITE, self.floor, "POST", "/write/", 200, form=form, cookies=False)
        return body is not None


def portal_pages(casebook: str) -> list[tuple[str, str]]:
    return [
        ("coordinator home", "/"),
        ("participant list", "/participants/"),
        ("dosing today", "/dosing/today/"),
        ("safety dashboard", "/safety/"),
        ("queries list", "/queries/"),
        ("casebook", casebook),
    ]


def rounds(sessions: list[Session], pages, seconds: float, seed: int) -> int:
    """Every user requests every page once per round, in its own order, until time is up."""
    deadline = time.monotonic() + seconds
    done = [0] * len(sessions)

    def run(index: int, session: Session) -> None:
        rng = random.Random(seed * 1000 + index)  # noqa: S311 (an order, not a secret)
        while True:
            steps = [lambda p=p, u=u: session.get(p, u) for p, u in pages]
            steps += [session.floor_read, session.floor_write]
            if session.user.crf_url:
                # The edit is opened, then saved: one step, so the form's version is current.
                steps.append(lambda: (session.crf_get(), session.crf_save()))
            rng.shuffle(steps)
            for step in steps:
                step()
            done[index] += 1
            if time.monotonic() >= deadline:
                return

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return min(done)


def throughput(sessions: list[Session], action, seconds: float) -> tuple[int, float]:
    """Successful `action(session)` calls per second, one thread per session, for `seconds`."""
    counts = [0] * len(sessions)
    barrier = threading.Barrier(len(sessions) + 1)

    def run(index: int, session: Session) -> None:
        barrier.wait()
        while time.monotonic() < deadline:
            if action(session):
                counts[index] += 1

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(counts), sum(counts) / elapsed


# --- Report --------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def report(results: Results, order: list[str]) -> float:
    floor_p95 = percentiles(results.timings[FLOOR_READ])[1]
    print(
        f"{'page':<34} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} "
        f"{'p95/floor':>10} {'errors':>6}"
    )
    for page in order:
        values = results.timings.get(page, [])
        errors = len(results.errors.get(page, []))
        if not values:
            print(f"{page:<34} {0:>5} {'-':>9} {'-':>9} {'-':>9} {'-':>10} {errors:>6}")
            continue
        p50, p95, p99 = percentiles(values)
        ratio = p95 / floor_p95
        mark = "" if page in {FLOOR_READ, FLOOR_WRITE} or ratio <= 2 else " > 2x"
        print(
            f"{page:<34} {len(values):>5} {p50 * 1000:>9.0f} {p95 * 1000:>9.0f} "
            f"{p99 * 1000:>9.0f} {ratio:>9.1f}x {errors:>6}{mark}"
        )
    for page, errors in sorted(results.errors.items()):
        print(f"errors on {page}: {', '.join(sorted(set(errors)))}")
    return floor_p95


def main() -> None:
    options = OPTIONS
    if options.users < 1 or options.participants < 1:
        raise SystemExit("--users and --participants must be at least 1")
    writers_needed = sum(1 for n in range(options.users) if ROLES[n % len(ROLES)] != "monitor")
    print(
        f"machine: {os.cpu_count()} cores; {options.participants} participants, "
        f"{options.users} users, gunicorn {options.workers} sync workers each for portal and "
        "floor",
        flush=True,
    )
    started = time.perf_counter()
    drop_database = create_database()
    print(
        f"database {DATABASE}: {time.perf_counter() - started:.1f} s"
        + (f" (a copy of {TEMPLATE})" if TEMPLATE else " (migrations)"),
        flush=True,
    )
    servers: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        fill(options.participants, options.seed)
        crfs = follow_up_crfs(writers_needed)
        users = sign_in_users(options.users, crfs)
        casebook = f"/participants/{crfs[0].visit.participant.participant_id}/"
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_floor_write "
                "(id bigserial PRIMARY KEY, note text NOT NULL, written_at timestamptz NOT NULL)"
            )
            cursor.execute("ANALYZE")
        print(f"fill: {time.perf_counter() - started:.1f} s", flush=True)

        from django.core.management import call_command

        # The manifest that {% static %} reads in production; the compressed copies whitenoise
        # would serve are skipped, as the bench requests no static file.
        settings.STORAGES["staticfiles"]["BACKEND"] = (
            "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        )
        call_command("collectstatic", interactive=False, verbosity=0)
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(settings.DATABASES["default"]),
            "PYTHONPATH": str(ROOT),
        }
        connection.close()
        portal_port, floor_port = free_port(), free_port()
        servers.append(
            start_gunicorn("trialportal.wsgi:application", portal_port, env, options.workers)
        )
        servers.append(
            start_gunicorn(
                "bench.floor.wsgi:application",
                floor_port,
                {**env, "DJANGO_SETTINGS_MODULE": "bench.floor.settings"},
                options.workers,
            )
        )
        wait_until_serving(portal_port, "/accounts/login/", servers[0])
        wait_until_serving(floor_port, "/read/", servers[1])

        results = Results()
        sessions = [Session(user, portal_port, floor_port, results) for user in users]
        pages = portal_pages(casebook)
        # Warm-up, not counted: every worker imports and connects on its first requests.
        warm = Results()
        warm_session = Session(users[0], portal_port, floor_port, warm)
        for page, path in pages:
            warm_session.get(page, path)
        for _ in range(options.workers * 2):
            warm_session.floor_read()
        if warm.errors:
            raise SystemExit(f"the warm-up failed: {warm.errors}")

        started = time.perf_counter()
        complete = rounds(sessions, pages, options.seconds, options.seed)
        print(
            f"rounds: {complete}+ per user in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        order = [page for page, _ in pages] + [CRF_GET, CRF_SAVE, FLOOR_READ, FLOOR_WRITE]
        report(results, order)

        writers = [session for session in sessions if session.user.crf_url]
        phase = Results()
        for session in writers:
            session.results = phase
        saves, save_rate = throughput(writers, Session.crf_save, options.save_seconds)
        inserts, insert_rate = throughput(writers, Session.floor_write, options.save_seconds)
        for page, errors in sorted(phase.errors.items()):
            print(f"errors on {page} (throughput): {', '.join(sorted(set(errors)))}")
        share = save_rate / insert_rate if insert_rate else 0.0
        print(
            f"save throughput with {len(writers)} writers: CRF save {save_rate:.1f}/s "
            f"({saves} in {options.save_seconds:.0f} s), floor INSERT {insert_rate:.1f}/s "
            f"({inserts}); CRF save = {share:.0%} of the floor"
            + ("" if share >= 0.5 else " (target 50 %)"),
            flush=True,
        )
    finally:
        for server in servers:
            stop(server)
        connection.close()
        drop_database()
        shutil.rmtree(STATIC_ROOT, ignore_errors=True)


def _database_url(config: dict) -> str:
    user = urllib.parse.quote(config.get("USER") or "")
    password = config.get("PASSWORD") or ""
    credentials = f"{user}:{urllib.parse.quote(password)}@" if password else f"{user}@"
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{credentials if user else ''}{host}:{port}/{config['NAME']}"


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
