# The front door: the same commands the README shows and CI runs.
#   make demo   install into .venv/ and run the main job locally (generate -> ingest -> analytics -> KPIs + SQL)
#   make test   install into .venv/ and run every check (ruff, sam validate --lint, pytest)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo up test lint validate build unit integration e2e bench bench-ingest bench-analytics bench-duckdb bench-api clean
.PHONY: browser screenshots

$(STAMP): pyproject.toml requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/retail-lake demo

# The platform on this machine: ./drop/ watched -> ingest -> analytics -> API + dashboard (Ctrl-C stops).
up: install
	$(BIN)/retail-lake up

lint: install
	$(BIN)/ruff check .

validate: install
	$(BIN)/sam validate --lint --template template.yaml

test: install lint validate browser
	$(BIN)/pytest -q -p no:cacheprovider

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install
	$(BIN)/pytest -q tests/e2e

# The dashboard's browser test drives Debian's headless Chromium (never `playwright install`).
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium + chromium-driver (apt-get)"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }

# Re-make the README's dashboard screenshots (docs/img/dashboard-*.png) from the browser test.
screenshots: install browser
	DASHBOARD_SCREENSHOTS=docs/img $(BIN)/pytest -q -n 0 -p no:cacheprovider tests/e2e/test_dashboard_browser.py

# sam build needs a python3.12 interpreter on PATH (pyenv provides one here).
build: install
	PATH="$$(pyenv root 2>/dev/null)/versions/$$(ls $$(pyenv root 2>/dev/null)/versions 2>/dev/null | grep '^3\.12' | tail -1)/bin:$$PATH" $(BIN)/sam build

bench: bench-ingest bench-analytics

bench-ingest: install
	$(BIN)/python bench/ingest.py

bench-analytics: install
	$(BIN)/python bench/analytics.py

# API: cold start vs a FastAPI+Mangum hello-world, warm latency through the handler (1M rows), serve req/s.
bench-api: install
	$(BIN)/python bench/api.py

# Training: each model and all three as whole `retail-lake train` processes, 1M rows (targets 3 min, 3 GB).
bench-train: install
	$(BIN)/python bench/train.py

# DuckDB 2.0 + mirror vs 1.5.5 + mirror vs 1.5.5 + httpfs on moto's S3 server (venvs under bench/out/).
bench-duckdb: install
	$(BIN)/python bench/duckdb_versions.py

clean:
	rm -rf lake data .aws-sam .pytest_cache
