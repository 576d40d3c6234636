# Anxin — the two commands: `make run` and `make test`. Both install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(abspath ../shared/data)

WEB := dashboard/web
WEB_STAMP := $(WEB)/node_modules/.installed

.PHONY: run test lint typecheck check bench bench-ingest bench-detect bench-latency bench-scale schema clean browser

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(WEB_STAMP): $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium for the end-to-end browser test (Playwright drives it; it never downloads a browser).
# Needs root; where it cannot be installed the browser test skips and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; } || echo "chromium not installed: the browser test will skip"

run: $(STAMP) $(WEB_STAMP)
	$(BIN)/anxin run

test: $(STAMP) $(WEB_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
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

bench-latency: $(STAMP)
	$(BIN)/python -m bench.latency

# The platform as separate processes (anxin ingest, alerts, web) under a neighbourhood's mix, with kills.
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale

# Every benchmark, one report: bench/results/latest.json and latest.md (and a dated copy).
bench: $(STAMP) $(WEB_STAMP)
	DATA_DIR=$(DATA_DIR) $(BIN)/python -m bench.report

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
