# Yulan: `make run` to try it, `make test` to check it. Everything installs into .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 3
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/yulan

.PHONY: run test install install-test browser-deps lint test-sqlite test-postgres messages vendor bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

## run: install, migrate, load the demo data once, serve the site and run the task worker
run: install
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@HOST=$(HOST) PORT=$(PORT) WEB_WORKERS=$(WEB_WORKERS) BIN=$(BIN) sh scripts/serve.sh

## browser-deps: Debian's chromium for the page tests, axe-core from npm
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing chromium (Debian package) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund --silent

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet yulan
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run -v0

test-sqlite: $(VENV)/.installed-test browser-deps
	$(BIN)/python -m pytest -n 2 -q

# PostgreSQL runs when one answers; on CI it must.
test-postgres: $(VENV)/.installed-test browser-deps
	@if $(BIN)/python scripts/db_ready.py "$(PG_TEST_URL)"; then \
		echo "--- the suite again, on PostgreSQL"; \
		DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest -n 2 -q; \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL does not answer at $(PG_TEST_URL); CI needs it" >&2; exit 1; \
	else echo "--- PostgreSQL does not answer at $(PG_TEST_URL): skipping the PostgreSQL run"; fi

## test: install what the tests need, lint, run the whole suite on SQLite and on PostgreSQL
test: lint test-sqlite test-postgres

## messages: extract UI strings into the .po files and compile them
messages: $(VENV)/.installed-test
	cd yulan && ../$(BIN)/python ../manage.py makemessages --no-obsolete --no-location $(foreach l,zh_Hans ja ko fr de es ru,-l $(l))
	cd yulan && ../$(BIN)/python ../manage.py compilemessages -v0

## vendor: copy Leaflet and jsQR from npm into the static files
vendor:
	npm ci --no-audit --no-fund --silent
	mkdir -p yulan/static/vendor/leaflet
	cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.js.map node_modules/leaflet/dist/leaflet.css \
		node_modules/leaflet/dist/images node_modules/leaflet/LICENSE yulan/static/vendor/leaflet/
	mkdir -p yulan/static/vendor/jsqr
	cp node_modules/jsqr/dist/jsQR.js node_modules/jsqr/LICENSE yulan/static/vendor/jsqr/

bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/guide_bench.py

clean:
	rm -rf $(VENV) var node_modules
