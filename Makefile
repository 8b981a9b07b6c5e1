# The README's commands. `make run` serves the portal; `make test` runs the whole suite.
# Both use DATABASE_URL / REDIS_URL when set, or start an embedded PostgreSQL and Redis under var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format messages check-deploy screenshots clean-var lock

run: $(STAMP)
	$(BIN)/python -m trialportal.local run

test: $(STAMP)
	$(BIN)/python -m trialportal.local test $(PYTEST_ARGS)

lint: $(STAMP)
	@# Nothing binary is tracked but documentation images, test data and compiled catalogues.
	@blobs=$$(git ls-files --eol 2>/dev/null | awk '$$1 == "i/-text" {print $$NF}' \
		| grep -vE '^(tests/data|docs)/|^locale/.*\.mo$$'); \
	archives=$$(git ls-files 2>/dev/null | grep -E '\.(whl|tar\.gz|tgz|zip|egg|jar)$$' \
		| grep -vE '^(tests/data|docs)/'); \
	if [ -n "$$blobs$$archives" ]; then \
		echo "Package archives or binary files are tracked; remove them:"; \
		printf '%s\n' $$blobs $$archives | sort -u; exit 1; fi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m trialportal.local manage makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the message catalogues after changing user-facing strings, then translate the new
# entries in locale/zh_Hans/LC_MESSAGES/django.po and run `make messages` again to compile.
messages: $(STAMP)
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans -l en --no-obsolete --add-location=file \
		--ignore=.venv --ignore=tests --ignore=var --ignore=staticfiles
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

# Refresh docs/screenshots/ from the demo trial in a real browser (needs Chromium; poppler-utils
# for the pages of the DSMB report).
screenshots: $(STAMP)
	E2E_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m trialportal.local test \
		tests/e2e/test_screenshots.py

check-deploy: $(STAMP)
	DEBUG=0 SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(60))') \
		ALLOWED_HOSTS=edc.example.org $(BIN)/python manage.py check --deploy --fail-level WARNING

# Every dependency comes from requirements.lock, pinned with its hashes; the project itself is
# installed on top without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a dependency in pyproject.toml: resolve again and pin every package with its
# hashes, for development and CI (requirements.lock) and for the image (requirements-prod.lock).
# Add --upgrade-package NAME (or --upgrade) through LOCK_ARGS to move pinned versions on.
PIP_COMPILE = $(BIN)/python -m piptools compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip-tools>=7.4,<8"
	$(PIP_COMPILE) --extra local --extra dev -o requirements.lock pyproject.toml
	$(PIP_COMPILE) -o requirements-prod.lock pyproject.toml

clean-var:
	rm -rf var/
