# Portico. On a fresh Debian 12 machine:
#   make run    install everything, migrate, load the demo data, serve at http://127.0.0.1:$(PORT)
#   make test   install everything, lint, run the tests (again on PostgreSQL when TEST_DATABASE_URL is set)
# Other targets: venv, lint, bench, clean. `make help` lists them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
# Prerequisites run left to right (system packages before the venv that may need python3-venv).
.NOTPARALLEL:

PYTHON ?= python3
PORT ?= 5000
VENV := venv
PIP := $(VENV)/bin/python -m pip
FLASK := $(VENV)/bin/flask --app run
# pytest arguments for `make test`, e.g. make test PYTEST_ARGS='-k invoice -x'
PYTEST_ARGS ?=

# Stamps inside venv/: requirements are (re)installed only when a requirements file is newer.
RUNTIME_STAMP := $(VENV)/.portico-runtime.stamp
DEV_STAMP := $(VENV)/.portico-dev.stamp
# node_modules/ (axe-core for the accessibility browser test) is (re)installed when package-lock.json changes.
NODE_STAMP := node_modules/.portico-npm.stamp

export PYTHON PORT

.PHONY: help run serve test lint bench venv venv-dev node-dev system-deps system-deps-test clean

help:
	@echo "make run    install, migrate, load the demo data and serve at http://127.0.0.1:$(PORT)"
	@echo "            (PORT=8000 for another port, DATABASE_URL=postgresql://... for PostgreSQL)"
	@echo "make test   install, ruff, pytest on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set"
	@echo "make venv   create venv/ and install requirements.txt"
	@echo "make lint   ruff check ."
	@echo "make bench  python -m bench.run against DATABASE_URL"
	@echo "make clean  remove venv/, node_modules/ and caches (instance/ with the database and secret key stays)"

# --- install -----------------------------------------------------------------------------------------

system-deps:
	@scripts/system-deps.sh

# Browser tests need Debian's chromium; only root can install it, everyone else gets those tests skipped.
system-deps-test:
	@if [ "$$(id -u)" = 0 ]; then scripts/system-deps.sh --browser; else scripts/system-deps.sh; fi

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "Portico needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Run make with PYTHON=/path/to/python3.11 (or newer)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip || echo "warning: could not upgrade pip; going on with $$($(PIP) --version)" >&2

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt requirements.txt | $(VENV)/bin/python
	$(PIP) install -q -r requirements-dev.txt
	@touch $@ $(RUNTIME_STAMP)

venv: $(RUNTIME_STAMP)

venv-dev: $(DEV_STAMP)

# npm ci installs exactly package-lock.json; without npm the axe-core browser test skips and says why.
$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "warning: npm not found: the axe-core accessibility test will skip" \
			"(scripts/system-deps.sh --browser installs nodejs and npm, as root)" >&2; \
	fi

node-dev: $(NODE_STAMP)

# --- run ---------------------------------------------------------------------------------------------

run: system-deps venv
	$(FLASK) db upgrade
	$(FLASK) seed --demo
	scripts/serve.sh

# Serve without installing, migrating or seeding again.
serve:
	scripts/serve.sh

# --- test --------------------------------------------------------------------------------------------

test: system-deps-test venv-dev node-dev
	scripts/test.sh $(PYTEST_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check .

bench: venv
	@if [ -f bench/run.py ]; then $(VENV)/bin/python -m bench.run; \
	else echo "bench/run.py does not exist yet" >&2; exit 1; fi

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache test-artifacts
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
