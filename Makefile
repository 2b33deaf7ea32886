# Siyu: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint typecheck serve migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml frontend/package.json
	$(BIN)/pip install --quiet -e ".[dev]"
	@# plotly.js's small "finance" bundle for the console's charts (npm, when present;
	@# without it the console serves the full plotly.js of the plotly wheel)
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix frontend --no-audit --no-fund --silent \
		|| echo "npm install failed: the console's charts use the full plotly.js"; \
	else echo "npm not found: the console's charts use the full plotly.js"; fi
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
