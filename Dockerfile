# syntax=docker/dockerfile:1
#
# Production image for trialportal. The same image runs the web process
# (gunicorn), the Celery worker and Celery beat; docker-compose.yml chooses
# which by overriding the command.

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Run the code from /app, not the copy pip puts in site-packages, so that
    # BASE_DIR resolves to /app and templates/, locale/ and staticfiles/ are found.
    PYTHONPATH=/app

# gettext provides msgfmt for compilemessages below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

COPY . /app

# Dependencies exactly as pinned, each checked against its hash; then the project, resolving
# nothing more.
RUN pip install --require-hashes -r requirements-prod.lock \
    && pip install --no-deps . \
    && rm -rf /app/build /app/*.egg-info

# Build-time only: collectstatic and compilemessages import the settings, which
# refuse to load with DEBUG off unless SECRET_KEY is set and at least 50
# characters long. These values exist only for this RUN step and are not
# stored in the image's environment. The dummy DATABASE_URL, REDIS_URL and
# ALLOWED_HOSTS are never connected to.
RUN DEBUG=0 \
    SECRET_KEY=build-only-not-secret-build-only-not-secret-build-only \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    sh -c "python manage.py collectstatic --noinput && python manage.py compilemessages"

# Uploaded files live on a volume mounted here; create it owned by the app user
# so a fresh named volume inherits that ownership.
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

CMD ["gunicorn", "trialportal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
