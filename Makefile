# statusportal — the two commands of the README, and a few helpers.
#   make run    install, migrate, load demo data, start web + worker + beat (Ctrl-C stops all)
#   make test   the whole test suite (uses DATABASE_URL / CELERY_BROKER_URL / REDIS_URL if set)
#   make bench  the benchmarks under bench/ (see bench/README.md)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# Another Django line for the same code, e.g. `make test VENV=.venv-django61 DJANGO=6.1`.
DJANGO ?=
# Two xdist workers, each with its own test database and Redis databases
# (tests/xdist_services.py), stealing work so the slow tests do not end up in one queue;
# `make test PYTEST_ARGS=` runs in one process.
PYTEST_ARGS ?= -n 2 --dist worksteal

.PHONY: run test lint format bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]' $(if $(DJANGO),'Django==$(DJANGO).*')
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py loaddemo
	@echo
	@echo "  Status page:       http://127.0.0.1:$(PORT)/"
	@echo "  Operator console:  http://127.0.0.1:$(PORT)/admin/   (login: demo / demo-operator)"
	@echo "  Mail is written to var/mail/. Ctrl-C stops web, worker and scheduler."
	@echo
	@# bin/run.py: Ctrl-C stops honcho (and web, worker, beat) and make exits 0, quietly.
	@STATUSPORTAL_PORT=$(PORT) STATUSPAGE_URL=$${STATUSPAGE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/python bin/run.py $(BIN)/honcho --procfile Procfile start

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/db.sqlite3 var/broker var/mail var/static var/celerybeat-schedule*
