"""Static checks of the production deployment files (docker-compose.yml, Dockerfile).

These tests only parse files; they need neither a database nor Django settings.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

SERVICES = {"postgres", "redis", "migrate", "web", "worker", "beat"}
DJANGO_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    # yaml.safe_load resolves the `<<: *django` merge keys.
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command_words(service: dict) -> list[str]:
    """The service's command as a flat list of words, unwrapping `sh -c "..."`."""
    command = service.get("command")
    assert command, "service has no command"
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    if len(words) >= 3 and words[0] in ("sh", "/bin/sh", "bash") and words[1] == "-c":
        words = words[:2] + shlex.split(words[2])
    return words


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def volume_targets(service: dict) -> dict[str, str]:
    """Map container path -> source for each volume entry of a service."""
    targets = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, str):
            source, target = entry.split(":")[:2]
        else:
            source, target = entry.get("source"), entry["target"]
        targets[target] = source
    return targets


def test_compose_file_defines_the_services(services):
    assert set(services) >= SERVICES, f"missing: {SERVICES - set(services)}"


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_celery_services_use_the_same_image_as_web(services, name):
    web, other = services["web"], services[name]
    assert web.get("build") or web.get("image"), "web has neither build nor image"
    assert other.get("build") == web.get("build")
    assert other.get("image") == web.get("image")


def test_web_is_built_from_the_project_dockerfile(services):
    build = services["web"]["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (ROOT / context / "Dockerfile").resolve() == DOCKERFILE.resolve()


def test_worker_starts_a_celery_worker_for_trialportal(services):
    words = command_words(services["worker"])
    assert words[0] == "celery"
    assert words[words.index("-A") + 1] == "trialportal"
    assert "worker" in words
    assert "beat" not in words


def test_beat_starts_celery_beat_for_trialportal(services):
    words = command_words(services["beat"])
    assert words[0] == "celery"
    assert words[words.index("-A") + 1] == "trialportal"
    assert "beat" in words
    assert "worker" not in words


def test_exactly_one_beat_runs(services):
    beat_services = [
        name
        for name, service in services.items()
        if service.get("command") and "beat" in command_words(service)
    ]
    assert beat_services == ["beat"]
    replicas = (services["beat"].get("deploy") or {}).get("replicas", 1)
    assert int(replicas) <= 1
    assert "--beat" not in command_words(services["worker"]), "worker must not embed beat (-B)"
    assert "-B" not in command_words(services["worker"])


def test_migrations_run_as_the_owner_then_the_portal_role_is_granted(services):
    words = command_words(services["migrate"])
    assert words.index("migrate") < words.index("db_app_role")
    env = environment(services["migrate"])
    assert env["DATABASE_URL"].startswith("postgres://trialportal:${POSTGRES_PASSWORD")
    assert env["APP_DB_USER"] == "trialportal_app"
    assert services["migrate"]["restart"] == "no"


def test_web_starts_gunicorn_after_the_migrations(services):
    words = command_words(services["web"])
    assert words[0] == "gunicorn" and "migrate" not in words
    assert "trialportal.wsgi:application" in words
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_the_portal_connects_as_its_own_role_not_the_owner(services, name):
    env = environment(services[name])
    assert env["DATABASE_URL"].startswith("postgres://trialportal_app:${APP_DB_PASSWORD:?")
    assert "POSTGRES_PASSWORD" not in env["DATABASE_URL"]


def test_web_publishes_port_8000(services):
    ports = [str(p) for p in services["web"].get("ports", [])]
    assert any(p.endswith("8000:8000") for p in ports), ports


@pytest.mark.parametrize("name", ["web", "worker"])
def test_web_and_worker_mount_the_media_volume(services, name):
    assert volume_targets(services[name]).get("/app/media") == "media"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_run_with_debug_off(services, name):
    env = environment(services[name])
    assert env, f"{name} has no environment"
    assert env.get("DEBUG") == "0"


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_share_the_production_environment(services, name):
    env = environment(services[name])
    assert env["MEDIA_ROOT"] == "/app/media"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["DATABASE_URL"].endswith("@postgres:5432/trialportal")
    # Secrets must come from the host and fail loudly when unset.
    assert ":?" in env["SECRET_KEY"]
    assert ":?" in env["ALLOWED_HOSTS"]
    assert env["SECURE_PROXY_SSL_HEADER"] == "1"


def test_every_service_with_debug_in_its_environment_sets_it_off(services):
    for name, service in services.items():
        env = environment(service)
        if "DEBUG" in env:
            assert env["DEBUG"] == "0", name


def test_no_secret_is_hard_coded(services):
    for name, service in services.items():
        env = environment(service)
        for key in ("SECRET_KEY", "POSTGRES_PASSWORD", "APP_DB_PASSWORD"):
            if key in env:
                assert str(env[key]).startswith("${"), f"{name}.{key} is hard-coded"


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_backing_services_have_healthchecks(services, name):
    healthcheck = services[name].get("healthcheck") or {}
    assert healthcheck.get("test"), f"{name} has no healthcheck"


def test_postgres_healthcheck_uses_pg_isready(services):
    test = services["postgres"]["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_django_services_wait_for_healthy_postgres_and_redis(services, name):
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}.depends_on must use conditions"
    for backing in ("postgres", "redis"):
        assert depends_on[backing]["condition"] == "service_healthy"


def test_redis_never_evicts_and_persists(services):
    words = command_words(services["redis"])
    assert "noeviction" in words
    assert words[words.index("--maxmemory-policy") + 1] == "noeviction"
    assert words[words.index("--appendonly") + 1] == "yes"


def test_named_volumes_are_declared_at_top_level(compose, services):
    declared = set(compose.get("volumes") or {})
    assert {"pgdata", "redisdata", "media"} <= declared
    used = set()
    for service in services.values():
        for source in volume_targets(service).values():
            if source and not source.startswith((".", "/", "~")):
                used.add(source)
    assert used <= declared, f"undeclared named volumes: {used - declared}"


def test_dockerfile_exists_and_runs_gunicorn_with_trialportal_wsgi():
    assert DOCKERFILE.is_file()
    text = DOCKERFILE.read_text(encoding="utf-8")
    cmd_lines = [line for line in text.splitlines() if re.match(r"\s*CMD\b", line)]
    assert len(cmd_lines) == 1, cmd_lines
    assert "gunicorn" in cmd_lines[0]
    assert "trialportal.wsgi" in cmd_lines[0]


def test_dockerfile_runs_as_a_non_root_user_and_collects_static():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert "collectstatic --noinput" in text
    assert re.search(r"^EXPOSE 8000\b", text, re.MULTILINE)


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    for entry in (".venv", "var", ".git", "media", "staticfiles", ".pytest_cache"):
        assert entry in ignored, entry
