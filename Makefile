# `make run` and `make test` set up everything they need on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 4
GUNICORN := $(BIN)/gunicorn -c python:ordering.http.gunicorn_config

.PHONY: install run serve test lint schema scheduler bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

schema: install
	$(BIN)/flask --app app init-db

## Embedded default: SQLite under ./instance, one process, scheduler inside.
run: schema
	ORDERS_EMBEDDED_SCHEDULER=1 $(GUNICORN) --workers 1 --threads 8 \
		--bind $(HOST):$(PORT) app:app

## Production shape: several workers (set DATABASE_URL to PostgreSQL), scheduler separately.
serve: schema
	$(GUNICORN) --workers $(WORKERS) --threads 4 --bind $(HOST):$(PORT) app:app

scheduler: install
	$(BIN)/python scheduler.py

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

## Benchmark: BENCH_QUICK=1 for a smoke run; DATABASE_URL=postgresql://... for PostgreSQL.
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache .mypy_cache .ruff_cache
