"""The promotion gate: a worse model is rejected with its reason and the current one keeps serving; tiny
lakes (one month, one customer) train every model without error."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from retail_lake.layout import model_prefix
from retail_lake.models import train
from retail_lake.models._registry import gate

from .conftest import Line, fast_config, make_lake, rows
from .test_segmentation import planted


def test_gate_rules() -> None:
    assert not gate("rmse", 10.0, False, "historical_rate", 9.0, None, None, 0.05).promoted  # loses to baseline
    worse = gate("rmse", 10.0, False, "historical_rate", 20.0, "v1", 8.0, 0.05)
    assert not worse.promoted and "worse than current version v1" in worse.reason
    assert gate("rmse", 8.3, False, "historical_rate", 20.0, "v1", 8.0, 0.05).promoted  # within tolerance
    assert gate("silhouette", 0.6, True, "one_cluster", 0.0, "v1", 0.5, 0.05).promoted
    assert not gate("wape", None, False, "seasonal_naive", 0.2, None, None, 0.05).promoted
    assert not gate("wape", 0.1, False, "seasonal_naive", 0.2, None, None, 0.05, unavailable="too short").promoted


def test_a_worse_model_is_rejected_and_the_current_one_keeps_serving(tmp_path: Path, settings, rng) -> None:
    lines, _ = planted(rng)
    storage = make_lake(tmp_path, lines, settings)
    first = train(storage, ["segmentation"], settings=settings, config=fast_config(k_min=2, k_max=6))[0]
    assert first.promoted
    # Pretend the current version had scored far better than any new run can.
    key = Path(storage.root) / model_prefix("segmentation", first.version) / "metrics.json"
    doc = json.loads(key.read_text())
    doc["metric_value"] = 0.999
    key.write_text(json.dumps(doc))
    second = train(storage, ["segmentation"], settings=settings, config=fast_config(k_min=2, k_max=6))[0]
    assert second.status == "rejected" and "worse than current version" in second.reason, second.reason
    assert second.serving == first.version
    served = rows(
        storage, settings, "SELECT DISTINCT model_version FROM customer_segments_ml", ["customer_segments_ml"]
    )
    assert served == [{"model_version": first.version}]
    registry = rows(storage, settings, "SELECT model, version, status, reason FROM model_registry", ["model_registry"])
    by_version = {r["version"]: r for r in registry}
    assert by_version[first.version]["status"] == "current"
    assert by_version[second.version]["status"] == "rejected" and by_version[second.version]["reason"]


def test_one_month_lake_trains_every_model(tmp_path: Path, settings, rng) -> None:
    lines = [
        Line(
            f"C{i:03d}",
            date(2024, 6, 1) + timedelta(days=int(rng.integers(0, 30))),
            50 + i,
            store=["Kanyon", "Metrocity"][i % 2],
        )
        for i in range(120)
    ]
    storage = make_lake(tmp_path, lines, settings)
    results = train(storage, None, settings=settings, config=fast_config())
    assert {r.model for r in results} == {"segmentation", "clv", "forecast"}
    assert all(r.status != "failed" for r in results), [(r.model, r.reason) for r in results]
    assert all(r.serving for r in results)  # the model or its baseline serves


def test_single_customer_lake_trains_every_model(tmp_path: Path, settings) -> None:
    lines = [Line("ONLY", date(2024, 1, 1) + timedelta(days=9 * k), 100 + k) for k in range(30)]
    storage = make_lake(tmp_path, lines, settings)
    results = train(storage, None, settings=settings, config=fast_config())
    assert all(r.status != "failed" for r in results), [(r.model, r.reason) for r in results]
    clv = rows(storage, settings, "SELECT * FROM customer_clv", ["customer_clv"])
    assert len(clv) == 1 and clv[0]["predicted_spend"] >= 0 and 0 <= clv[0]["probability_alive"] <= 1
    seg = rows(storage, settings, "SELECT * FROM customer_segments_ml", ["customer_segments_ml"])
    assert len(seg) == 1
    fc = rows(storage, settings, "SELECT * FROM sales_forecast", ["sales_forecast"])
    assert fc and all(r["forecast"] >= 0 for r in fc)
