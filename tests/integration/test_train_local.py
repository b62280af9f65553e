"""`retail-lake train` end to end on a small generated local lake: the registry layout under models/,
the model_registry table and the prediction tables through `retail-lake sql`, and functions/train/app.py
on the EventBridge scheduled event (infra/events/eventbridge_schedule.json)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from retail_lake.cli import main
from retail_lake.generate import generate
from retail_lake.ingest import ingest_file

from .conftest import EVENTS, ROOT, FakeLambdaContext

MODELS = ("segmentation", "clv", "forecast")
PREDICTIONS = {"segmentation": "customer_segments_ml", "clv": "customer_clv", "forecast": "sales_forecast"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("train")
    csv = work / "sales.csv"
    generate(csv, rows=4000, customers=800, seed=3)
    lake = work / "lake"
    assert ingest_file(str(csv), str(lake)).ok
    return lake


def sql(lake: Path, query: str, capfd: pytest.CaptureFixture[str]) -> list[dict]:
    """`retail-lake sql --format json` as its own process, as a user runs it."""
    code = "import sys; from retail_lake.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "sql", query, "--format", "json", "--lake", str(lake)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)


def test_cli_train_writes_the_registry_and_the_prediction_tables(lake: Path, capfd) -> None:
    assert main(["train", "--lake", str(lake), "--forecast-weeks", "6", "--clv-horizon-days", "60"]) == 0
    out = capfd.readouterr().out
    for model in MODELS:
        assert model in out
    registry = sql(lake, "SELECT * FROM model_registry ORDER BY model", capfd)
    assert {r["model"] for r in registry} == set(MODELS)
    for r in registry:
        assert r["status"] in ("current", "rejected", "retired") and r["metric_name"] and r["baseline_name"]
        assert r["trained_at"] and r["version"]
        folder = lake / "models" / r["model"] / r["version"]
        names = {p.name for p in folder.iterdir()}
        assert {"metrics.json", "features.json"} <= names, names
        assert names - {"metrics.json", "features.json"}, f"no model file in {folder}"
        doc = json.loads((folder / "metrics.json").read_text())
        text = json.dumps(doc)
        assert "snapshot" in text and "code_version" in text, sorted(doc)
        assert json.loads((folder / "features.json").read_text())["features"]
    clv = sql(
        lake, "SELECT count(*) AS n, min(horizon_days) AS h, min(predicted_spend) AS lo FROM customer_clv", capfd
    )[0]
    customers = sql(lake, "SELECT count(DISTINCT customer_id) AS n FROM sales", capfd)[0]["n"]
    assert clv["n"] == customers and clv["h"] == 60 and clv["lo"] >= 0
    fc = sql(
        lake,
        "SELECT count(*) AS n, count(DISTINCT period_start) AS weeks, min(forecast) AS lo FROM sales_forecast",
        capfd,
    )[0]
    assert fc["weeks"] == 6 and fc["lo"] >= 0
    seg = sql(lake, "SELECT count(*) AS n, count(DISTINCT segment_name) AS names FROM customer_segments_ml", capfd)[0]
    assert seg["n"] == customers and seg["names"] >= 1


def load_app(monkeypatch: pytest.MonkeyPatch, lake: Path) -> ModuleType:
    monkeypatch.setenv("RETAIL_LAKE", str(lake))
    spec = importlib.util.spec_from_file_location("retail_lake_train_app", ROOT / "functions/train/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_handler_on_the_scheduled_event(lake: Path, monkeypatch: pytest.MonkeyPatch, capfd) -> None:
    event = json.loads((EVENTS / "eventbridge_schedule.json").read_text())
    event["detail"] = {"models": ["segmentation", "forecast"], "forecast_weeks": 4}
    app = load_app(monkeypatch, lake)
    answer = app.lambda_handler(event, FakeLambdaContext(function_name="retail-lake-dev-train"))
    assert answer["status"] == "succeeded" and {m["model"] for m in answer["models"]} == {"segmentation", "forecast"}
    assert answer["summary"]
    weeks = sql(lake, "SELECT count(DISTINCT period_start) AS w FROM sales_forecast", capfd)[0]["w"]
    assert weeks == 4
    bad = app.lambda_handler({**event, "detail": {"models": "clv"}}, FakeLambdaContext(function_name="t"))
    assert bad["status"] == "invalid"
