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
.PHONY: browser screenshots lock

# Re-resolve every lock file after changing a dependency (pyproject.toml or a requirements.in):
#   requirements-dev.lock            the dev/test venv (any platform, Python 3.11+)
#   layers/requirements.txt          RetailLakeLayer  (layers/Makefile, arm64, python3.12)
#   layers/api/requirements.txt      ApiDepsLayer     (sam build's python3.12 builder, arm64)
#   functions/train/requirements.txt the training image (functions/train/Dockerfile, arm64)
# Each pins every package with its hashes; pip then refuses anything else.
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --no-config
LAMBDA_LOCK := $(LOCK) --python-version 3.12 --python-platform aarch64-manylinux_2_28
lock:
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(LOCK) --universal --python-version 3.11 pyproject.toml --extra dev -o requirements-dev.lock
	$(LAMBDA_LOCK) layers/requirements.in -o layers/requirements.txt
	$(LAMBDA_LOCK) layers/api/requirements.in -o layers/api/requirements.txt
	$(LAMBDA_LOCK) functions/train/requirements.in -o functions/train/requirements.txt

# The venv holds exactly the versions of requirements-dev.lock (hashes checked), then the project
# itself without dependencies: two installs on different days hold the same versions.
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
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
