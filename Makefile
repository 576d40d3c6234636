# Anxin — the two commands: `make run` and `make test`. Both install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(abspath ../shared/data)

.PHONY: run test lint typecheck check bench bench-ingest bench-detect bench-latency schema clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/anxin run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	DATA_DIR=$(DATA_DIR) $(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/anxin schema --out docs/schema

bench-ingest: $(STAMP)
	$(BIN)/python -m bench.ingest

bench-detect: $(STAMP)
	DATA_DIR=$(DATA_DIR) $(BIN)/python -m bench.detect

bench: bench-ingest bench-detect

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
