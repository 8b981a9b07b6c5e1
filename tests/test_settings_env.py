"""Settings come from the environment and stop start-up loudly on a bad value."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "edc.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://edc.example.org",
}


def run_django(env_changes: dict, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "TIME_ZONE"):
        env.pop(name, None)
    env.update(env_changes)
    env["DJANGO_SETTINGS_MODULE"] = "trialportal.settings"
    command = args or ("-c", "import django; django.setup()")
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0"}, "SECRET_KEY"),
        ({"DEBUG": "0", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://root@localhost/edc"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DEBUG": "1", "REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "1", "TIME_ZONE": "Mars/Olympus_Mons"}, "TIME_ZONE"),
        ({"DEBUG": "1", "CSRF_TRUSTED_ORIGINS": "edc.example.org"}, "CSRF_TRUSTED_ORIGINS"),
        ({"DEBUG": "1", "EMAIL_PORT": "smtp"}, "EMAIL_PORT"),
        ({"DEBUG": "1", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "EMAIL_USE_TLS"),
        ({"DEBUG": "1", "SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE"),
        ({"DEBUG": "1", "REPORTS_STORAGE": "nfs"}, "REPORTS_STORAGE"),
        ({"DEBUG": "1", "REPORTS_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
        (
            {
                "DEBUG": "1",
                "REPORTS_STORAGE": "s3",
                "AWS_STORAGE_BUCKET_NAME": "b",
                "AWS_S3_ENDPOINT_URL": "minio:9000",
            },
            "AWS_S3_ENDPOINT_URL",
        ),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(changes, named):
    result = run_django(changes)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last_line
    assert named in last_line


def test_good_values_start(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(secrets.token_urlsafe(60))
    result = run_django(
        {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret), "TIME_ZONE": "UTC"},
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TIME_ZONE, settings.DEBUG, settings.SECURE_SSL_REDIRECT)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["UTC", "False", "True"]


def test_report_pdfs_go_to_a_private_bucket_when_configured_and_to_media_root_by_default():
    show = (
        "import django; django.setup(); from django.core.files.storage import storages; "
        "s = storages['reports']; print(type(s).__name__, getattr(s, 'bucket_name', s.location), "
        "getattr(s, 'default_acl', '-'), getattr(s, 'querystring_auth', '-'), "
        "getattr(s, 'location', '-'), getattr(s, 'endpoint_url', '-'))"
    )
    bucket = {
        "DEBUG": "1",
        "REPORTS_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "trial-reports",
        "AWS_S3_ENDPOINT_URL": "https://s3.example.internal",
        "AWS_LOCATION": "/portal/",
        "MEDIA_ROOT": "/srv/media",
    }
    result = run_django(bucket, "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage", "trial-reports", "None", "False", "portal", "https://s3.example.internal",
    ]  # fmt: skip
    result = run_django({"DEBUG": "1", "MEDIA_ROOT": "/srv/media"}, "-c", show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["FileSystemStorage", "/srv/media", "-", "-", "/srv/media", "-"]


def test_the_time_zone_defaults_to_shanghai_and_data_is_stored_in_utc():
    result = run_django(
        {"DEBUG": "1"},
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TIME_ZONE, settings.USE_TZ)",
    )
    assert result.stdout.split() == ["Asia/Shanghai", "True"]


def test_the_deployment_check_passes_with_production_settings():
    result = run_django(PRODUCTION, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_demo_loader_refuses_to_run_with_debug_off():
    result = run_django(PRODUCTION, "manage.py", "load_demo")
    assert result.returncode != 0
    assert "refuses to run with DEBUG off" in result.stderr


@pytest.mark.django_db
def test_the_portal_s_connections_never_jit_compile_a_query():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
