# Keylink developer commands. A fresh machine needs only python3 (3.11+) and make:
# the first target run creates .venv and installs Keylink with its dev dependencies.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest tryton sap bottlecrm clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run Keylink on its embedded defaults: demo upstreams, SQLite link map, in-memory cache.
demo: $(STAMP)
	$(BIN)/keylink demo

## Run the whole test suite (lint, types, tests).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) tryton sap bottlecrm
	$(BIN)/pytest

## A real Tryton for tests/tryton (installed and seeded once into .cache/tryton; reused after).
tryton:
	bash demo/tryton/setup.sh

## A SAP-style OData ERP for tests/odata (SAP CAP from npm, installed once into .cache/sap).
sap:
	bash demo/sap/setup.sh

## BottleCRM for tests/bottlecrm (its own Python 3.12 venv and a migrated template database
## on the machine's PostgreSQL, made once into .cache/bottlecrm; about 3 minutes the first time).
bottlecrm:
	bash demo/bottlecrm/setup.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache keylink-demo.db
