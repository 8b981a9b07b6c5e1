"""Read settings from environment variables, failing loudly on bad values."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    """Return the variable's value, or the contents of the file named by NAME_FILE."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r} ({exc})") from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = _raw(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE).")
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choices(name: str, default: list[str], *, choices: list[str]) -> list[str]:
    """A comma-separated list whose every item is one of `choices` (an empty value: none)."""
    values = env_list(name, default)
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: {', '.join(map(repr, unknown))} not among {', '.join(choices)}."
        )
    return values


def env_origins(name: str) -> list[str]:
    origins = env_list(name)
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                f"{name}: {origin!r} must start with http:// or https:// (e.g. https://edc.example.org)."
            )
    return origins


def env_timezone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a known time zone (e.g. Asia/Shanghai)."
        ) from None
    return value


def env_database(name: str, default: str) -> dict:
    import dj_database_url

    value = env_str(name, default)
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(f"{name}={value!r} is not a database URL ({exc}).") from None
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{name} must point to PostgreSQL (postgres://...): "
            "the audit trail relies on its triggers."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={value!r} names no database.")
    # No JIT compilation: on a page's short queries over large tables PostgreSQL may spend
    # seconds compiling a plan that runs in milliseconds.
    options = config.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return config


def env_redis_url(name: str, default: str) -> str:
    value = env_str(name, default)
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"{name}={value!r} must start with redis://, rediss:// or unix://."
        )
    return value


def celery_broker_url(redis_url: str) -> str:
    """Translate a redis-py unix socket URL into Celery's transport name for it."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def env_reports_storage(name: str = "REPORTS_STORAGE") -> dict:
    """The STORAGES entry for report PDFs: `local` (MEDIA_ROOT, the default) or `s3` (a bucket).

    Downloads are streamed through the portal (its access checks and download log), so objects
    are private and no signed or public URL is ever made.
    """
    kind = env_str(name, "local")
    if kind == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"{name}={kind!r} is neither local nor s3.")
    options = {
        "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", required=True),
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE") or None,
        "location": env_str("AWS_LOCATION").strip("/"),
        # No ACL is sent, so an object is private to the bucket's owner (a bucket with ACLs
        # disabled refuses any other); nothing is ever made public.
        "default_acl": None,
        "querystring_auth": False,
        "file_overwrite": True,  # a rebuilt report replaces its own object
        # A download larger than this is spooled to a temporary file rather than kept in memory.
        "max_memory_size": 10 * 1024 * 1024,
    }
    if options["endpoint_url"] and not options["endpoint_url"].startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"AWS_S3_ENDPOINT_URL={options['endpoint_url']!r} must start with http:// or https://."
        )
    if options["addressing_style"] not in (None, "auto", "path", "virtual"):
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE={options['addressing_style']!r} is not auto, path or virtual."
        )
    # Without keys, boto3 looks further: its own configuration files, an instance or task role.
    for option, variable in (
        ("access_key", "AWS_ACCESS_KEY_ID"),
        ("secret_key", "AWS_SECRET_ACCESS_KEY"),
    ):
        if value := env_str(variable):
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
