# Siyu: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck serve migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make demo: install, migrate, seed a demo store, serve at http://127.0.0.1:8000
demo: $(STAMP)
	$(BIN)/siyu migrate
	$(BIN)/siyu demo
	$(BIN)/siyu serve

serve: $(STAMP)
	$(BIN)/siyu serve

migrate: $(STAMP)
	$(BIN)/siyu migrate

## make test: install dev dependencies, lint, type-check, run the whole suite
test: $(STAMP)
	$(BIN)/ruff check siyu tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python bench/api_bench.py

clean:
	rm -rf $(VENV) siyu-data .pytest_cache .mypy_cache .ruff_cache
