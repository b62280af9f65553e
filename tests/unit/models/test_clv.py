"""Customer lifetime value: a planted signal is learned, every customer is priced, one-time buyers get
sensible numbers, the holdout is aggregated like the history, young lakes still answer."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from retail_lake.layout import model_prefix
from retail_lake.models._clv import plan_windows
from retail_lake.models._data import load_training_data
from retail_lake.models._features import customer_windows, prepare

from .conftest import Line, make_lake, rows, run

START = date(2022, 7, 1)
END = date(2024, 6, 30)


def planted(rng: np.random.Generator) -> list[Line]:
    """Everyone buys every two weeks from the day they join. Customers aged 55+ keep going; younger ones
    quit after 1-8 purchases. Until they quit, both look the same in recency/frequency/spend: only age
    tells them apart, which BG/NBD cannot see and XGBoost can."""
    lines = []
    for i in range(300):
        stays = i % 2 == 0
        age = int(rng.integers(55, 69)) if stays else int(rng.integers(20, 36))
        day = START + timedelta(days=int(rng.integers(0, 600)))
        quota = 10_000 if stays else int(rng.integers(1, 9))
        n = 0
        while day <= END and n < quota:
            lines.append(Line(f"C{i:04d}", day, 100 * rng.uniform(0.8, 1.2), age=age))
            day += timedelta(days=int(rng.integers(12, 17)))
            n += 1
    # The lake's last day is END (the horizon is measured from there).
    lines.append(Line("C9999", END, 50.0))
    return lines


def metrics_of(storage, result) -> dict:
    path = Path(storage.root) / model_prefix("clv", result.version) / "metrics.json"
    return json.loads(path.read_text())


def test_a_planted_signal_is_learned_and_beats_the_baselines(tmp_path: Path, settings, rng) -> None:
    storage = make_lake(tmp_path, planted(rng), settings)
    result = run(storage, settings, ["clv"])["clv"]
    doc = metrics_of(storage, result)
    baselines = doc["metrics"]["baselines"]
    xgb = doc["metrics"]["candidates"]["xgboost"]
    assert result.promoted, result.reason
    assert xgb["rmse"] < baselines["mbgnbd_gg"]["rmse"] < baselines["historical_rate"]["rmse"]
    assert xgb["rmse"] < 0.8 * baselines["bgnbd_gg"]["rmse"]
    assert doc["metrics"]["feature_importance_gain"]["age"] > 0
    for name in ("rmse", "mae", "top_decile_capture", "predicted_actual_ratio"):
        assert xgb[name] is not None
    # The time-based split: validation is the last 90 days; training cut-offs lie before it.
    windows = doc["windows"]
    assert windows["window_days"] == 90 and windows["validation"]["end"] == "2024-06-30"
    assert all(c < windows["validation"]["cutoff"] for c in windows["training_cutoffs"])

    table = rows(storage, settings, "SELECT * FROM customer_clv", ["customer_clv"])
    by_id = {r["customer_id"]: r for r in table}
    assert len(table) == 301 and all(r["horizon_days"] == 90 for r in table)
    assert all(r["predicted_spend"] >= 0 and 0 <= r["probability_alive"] <= 1 for r in table)
    assert {r["model_version"] for r in table} == {result.version}
    # Active customers of the same history: the older ones (who stay) are priced higher.
    active = [r for r in table if r["recency_days"] <= 14 and r["purchases"] <= 6 and r["customer_id"] != "C9999"]
    stayers = [r["predicted_spend"] for r in active if int(r["customer_id"][1:]) % 2 == 0]
    leavers = [r["predicted_spend"] for r in active if int(r["customer_id"][1:]) % 2 == 1]
    if stayers and leavers:
        assert np.mean(stayers) > np.mean(leavers)
    assert by_id["C9999"]["purchases"] == 1


def test_one_time_buyers_get_sensible_predictions(tmp_path: Path, settings, rng) -> None:
    """Not 'certainly alive', less alive the longer ago they bought, a positive spend shrunk towards
    the population's mean basket."""
    lines = []
    for i in range(60):  # repeat buyers: monthly, 200 a time
        for k in range(int(rng.integers(2, 12))):
            lines.append(Line(f"R{i:03d}", date(2024, 6, 28) - timedelta(days=30 * k + int(rng.integers(0, 5))), 200))
    lines += [Line("ONE_RECENT", date(2024, 6, 20), 80), Line("ONE_OLD", date(2023, 8, 1), 80)]
    storage = make_lake(tmp_path, lines, settings)
    run(storage, settings, ["clv"])
    table = {r["customer_id"]: r for r in rows(storage, settings, "SELECT * FROM customer_clv", ["customer_clv"])}
    recent, old = table["ONE_RECENT"], table["ONE_OLD"]
    assert 0 < old["probability_alive"] < recent["probability_alive"] < 1
    assert 0 < old["predicted_spend"] < recent["predicted_spend"]
    # Gamma-Gamma shrinks a single 80 basket towards the repeat buyers' 200.
    assert 80 < recent["expected_avg_spend"] < 200


def test_holdout_is_aggregated_like_the_history(tmp_path: Path, settings) -> None:
    """Two invoices on one day are one purchase in the history and in the holdout window alike."""
    lines = [
        Line("C1", date(2024, 1, 1), 100),
        Line("C1", date(2024, 1, 1), 50),  # history: 1 purchase day, 2 invoices
        Line("C1", date(2024, 1, 20), 10),
        Line("C1", date(2024, 2, 5), 30),
        Line("C1", date(2024, 2, 5), 20),  # holdout: 1 purchase day
        Line("C1", date(2024, 2, 20), 5),
        Line("C2", date(2024, 1, 3), 40),
        Line("C3", date(2024, 2, 1), 60),  # joins after the cut-off: not in the cut-off's population
        Line("C2", date(2024, 3, 1), 1),  # after the window
    ]
    storage = make_lake(tmp_path, lines, settings)
    data = load_training_data(storage, settings)
    try:
        prepare(data.con)
        cols = customer_windows(data.con, [date(2024, 1, 31)], 21)
    finally:
        data.con.close()
    got = {c: i for i, c in enumerate(cols["customer_id"])}
    assert set(got) == {"C1", "C2"}
    c1 = got["C1"]
    assert cols["purchase_days"][c1] == 2 and cols["invoices"][c1] == 3 and cols["monetary"][c1] == 160
    assert cols["target_purchases"][c1] == 2 and cols["target_spend"][c1] == 55  # Feb 5 (30+20) and Feb 20 (5)
    c2 = got["C2"]
    assert cols["target_purchases"][c2] == 0 and cols["target_spend"][c2] == 0
    assert cols["recency_days"][c1] == 11 and cols["tenure_days"][c1] == 30 and cols["active_days"][c1] == 19


def test_windows_for_a_lake_younger_than_the_horizon() -> None:
    plan = plan_windows(date(2024, 1, 1), date(2024, 9, 30), 270, 3)  # nine months, nine-month horizon
    assert plan["window_days"] == 91 and plan["extrapolation"] == "mbgnbd_ratio" and "extrapolate" in plan["note"]
    assert plan["validation"]["cutoff"] == date(2024, 7, 1)  # the last 91 days validate
    assert plan["training_cutoffs"] == [date(2024, 4, 1)]  # each cut-off has >= one window of history
    assert plan_windows(date(2024, 1, 1), date(2024, 1, 2), 90, 3)["validation"] is None


def test_one_month_lake_still_answers_for_the_whole_horizon(tmp_path: Path, settings, rng) -> None:
    lines = [Line(f"C{i:03d}", date(2024, 6, 1) + timedelta(days=int(rng.integers(0, 30))), 50 + i) for i in range(80)]
    lines += [Line(f"C{i:03d}", date(2024, 6, 25) + timedelta(days=int(rng.integers(0, 6))), 70) for i in range(20)]
    storage = make_lake(tmp_path, lines, settings)
    result = run(storage, settings, ["clv"], clv_horizon_days=90)["clv"]
    doc = metrics_of(storage, result)
    assert doc["windows"]["window_days"] == 9 and doc["windows"]["horizon_days"] == 90
    assert doc["windows"]["extrapolation"] == "mbgnbd_ratio"
    fit = doc["metrics"]["btyd_serving"]["mbgnbd"]["fit"]
    assert fit["penalizer"] >= 0.01 and fit["tried"]  # little repeat data: regularised, and reported
    table = rows(storage, settings, "SELECT * FROM customer_clv", ["customer_clv"])
    assert len(table) == 80 and all(r["horizon_days"] == 90 for r in table)
    assert all(np.isfinite(r["predicted_spend"]) and r["predicted_spend"] >= 0 for r in table)
    assert all(r["probability_alive"] < 1 for r in table if r["purchases"] == 1)


@pytest.mark.parametrize("horizon", [30, 365])
def test_horizon_is_honoured(tmp_path: Path, settings, rng, horizon: int) -> None:
    storage = make_lake(tmp_path, planted(rng)[:1500], settings)
    result = run(storage, settings, ["clv"], clv_horizon_days=horizon)["clv"]
    table = rows(storage, settings, "SELECT horizon_days, predicted_spend FROM customer_clv", ["customer_clv"])
    assert {r["horizon_days"] for r in table} == {horizon}
    assert metrics_of(storage, result)["windows"]["window_days"] == min(
        horizon, metrics_of(storage, result)["windows"]["history_days"] // 3
    )
