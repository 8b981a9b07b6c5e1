"""Settings for trialportal, driven by environment variables (see docs/configuration.md).

Production is switched on by the environment (DEBUG=0 plus SECRET_KEY, ALLOWED_HOSTS...), never by
editing this file. A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from trialportal.env import (
    celery_broker_url,
    env_bool,
    env_choices,
    env_database,
    env_int,
    env_list,
    env_origins,
    env_redis_url,
    env_reports_storage,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

# Local runs get a fixed development key; anything with DEBUG off must bring its own.
SECRET_KEY = (
    env_str("SECRET_KEY", required=not DEBUG) or "dev-only-insecure-key-never-in-production"
)
if not DEBUG and len(SECRET_KEY) < 50:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "rules",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    # Project apps, lowest layer first (imports flow upwards only).
    "accounts",
    "ops",
    "crf",
    "enrollment",
    "dosing",
    "safety",
    "outcomes",
    "dashboards",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.SecurityHeadersMiddleware",
    "ops.middleware.NulQueryMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.SessionLimitMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crf.middleware.AuditContextMiddleware",
    # Axes goes last so that it sees the final response of a failed login.
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # Static files: runserver serves them in development, whitenoise in production.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "trialportal.urls"
WSGI_APPLICATION = "trialportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboards.context_processors.navigation",
                "safety.context_processors.stopping_alerts",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", "postgres://127.0.0.1:5432/trialportal")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker ----------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL", "redis://127.0.0.1:6379/0")
# The cache fails open (a miss, never an error) so that sign-in works with Redis down; sessions
# and the lockout ledger live in the database.
CACHES = {
    "default": {
        "BACKEND": "ops.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "trialportal",
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Accounts, login, sessions ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out username+IP before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.ClosedSignupAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PREVENT_ENUMERATION = True
# Lockout is axes' job (per username + IP): allauth's own per-IP failure limit would lock a whole
# hospital ward that shares one NAT address.
ACCOUNT_RATE_LIMITS = {"login_failed": None}

# Multi-factor authentication (allauth.mfa): an authenticator app (TOTP) with recovery codes.
# The roles in MFA_REQUIRED_ROLES must enrol at their next sign-in (accounts.mfa); for the other
# roles it is optional, from the account menu.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "trialportal")
MFA_ADAPTER = "accounts.mfa.MFAAdapter"
MFA_FORMS = {
    "authenticate": "accounts.mfa.AuthenticateForm",
    "activate_totp": "accounts.mfa.ActivateTOTPForm",
}
# The values of accounts.roles.Role (a test keeps the two lists equal).
STUDY_ROLES = ["coordinator", "investigator", "monitor", "dsmb", "admin"]
MFA_REQUIRED_ROLES = env_choices(
    "MFA_REQUIRED_ROLES", ["investigator", "monitor", "admin"], choices=STUDY_ROLES
)

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "accounts.lockout.attempt_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "account/lockout.html"
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0) or None

# Idle timeout: the session lives 30 minutes from its last renewal; activity renews it at most once
# a minute (SESSION_TOUCH_INTERVAL, seconds), so a request does not rewrite the session row. Both
# this and the absolute 12-hour limit are enforced by accounts.middleware.SessionLimitMiddleware.
SESSION_COOKIE_AGE = 30 * 60
SESSION_TOUCH_INTERVAL = 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_LIMIT = timedelta(hours=12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- HTTPS and headers --------------------------------------------------------------------------
HTTPS = env_bool("HTTPS", not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# Under HTTPS the cookies carry the __Host- prefix: the browser then accepts them only when Secure,
# for the whole site (Path=/) and from this host alone (no Domain), so a sibling subdomain cannot
# plant or overwrite them.
if HTTPS:
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# The preload directive only takes effect once the domain is submitted to the browsers' list.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
X_FRAME_OPTIONS = "DENY"
# Browser features the portal never uses are switched off; passkeys (WebAuthn) stay on this origin.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), fullscreen=(self), "
    "geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), "
    "usb=(), publickey-credentials-create=(self), publickey-credentials-get=(self)"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_timezone("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True  # stored in UTC, shown in TIME_ZONE

# --- Static and media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# DSMB report PDFs: in MEDIA_ROOT, or in an S3-compatible bucket with REPORTS_STORAGE=s3 so that
# web and worker hosts need not share a disk (docs/deploy.md, "Several hosts").
REPORTS_STORAGE = env_str("REPORTS_STORAGE", "local")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "reports": env_reports_storage("REPORTS_STORAGE"),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email --------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on.")
# A mail server that stops answering must not hold a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "trialportal@localhost")
# The address users reach the portal at, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
if not SITE_URL.startswith(("http://", "https://")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"SITE_URL={SITE_URL!r} must start with http:// or https://.")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Audit trail --------------------------------------------------------------------------------
# Event tables refuse UPDATE and DELETE in the database (pgtrigger Protect on every event model).
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_ALL_EVENTS = False

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
# A task running longer than the visibility timeout would be redelivered to a second worker: keep
# every time limit below it.
CELERY_VISIBILITY_TIMEOUT = 3600
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 3,
}
CELERY_TASK_TIME_LIMIT = 1800
CELERY_TASK_SOFT_TIME_LIMIT = 1500
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "ops.tasks.heartbeat", "schedule": 60.0},
    # Overdue SAE and SUSAR reports escalate to the principal investigator.
    "sae-clock-scan": {"task": "safety.tasks.sae_clock_scan", "schedule": 300.0},
    # Visits due soon or past their window, doses not recorded by the afternoon.
    "reminder-scan": {"task": "outcomes.tasks.reminder_scan", "schedule": 3600.0},
    # Stored schedules of participants whose last planned dosing day has just passed.
    "schedule-refresh": {
        "task": "outcomes.tasks.schedule_refresh",
        "schedule": crontab(hour=0, minute=5),
    },
    # DSMB reports whose task was lost or whose worker died are queued again.
    "report-sweep": {"task": "reports.tasks.sweep_reports", "schedule": 30.0},
    # Work owed by committed saves that the broker refused or a dead worker dropped is sent again.
    "outbox-sweep": {"task": "ops.tasks.outbox_sweep", "schedule": 60.0},
    # Settled audit events are sealed into the hash chain; the day's head is recorded and sent.
    "audit-seal": {"task": "crf.tasks.audit_seal", "schedule": 300.0},
    "audit-digest": {"task": "crf.tasks.audit_digest", "schedule": crontab(hour=23, minute=55)},
}
# An audit event is sealed once nothing can add to its context any more: the request or task that
# wrote it has ended. Longer than the hard task time limit.
AUDIT_SEAL_SETTLE = timedelta(seconds=CELERY_TASK_TIME_LIMIT + 300)
# The outbox (ops/outbox.py): a failed delivery is retried after 5, 10, 20, 40, 80 s; then, and
# for anything sent but not done after OUTBOX_RESEND_AFTER, beat's sweep sends it again.
OUTBOX_RETRY_DELAY = 5.0
OUTBOX_MAX_RETRIES = 5
OUTBOX_RESEND_AFTER = timedelta(minutes=5)
# /health/ reports unhealthy when owed work waits longer than this.
OUTBOX_MAX_AGE = timedelta(minutes=10)
# An e-mail claimed by a worker that died is claimable again after this (longer than EMAIL_TIMEOUT).
NOTIFICATION_EMAIL_LEASE = timedelta(minutes=2)
# A DSMB build holds a lease it renews while it runs; a build whose worker died is handed to
# another worker once the lease lapses (the sweeper runs every 30 s): within about 90 seconds.
REPORT_LEASE = timedelta(seconds=60)
REPORT_LEASE_RENEWAL = timedelta(seconds=15)
# /health/ reports unhealthy when the last worker heartbeat is older than this.
HEARTBEAT_MAX_AGE = timedelta(minutes=3)

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.security": {"level": "WARNING", "propagate": True},
        "axes": {"level": "WARNING"},
    },
}
