"""Sales forecast: planted seasonality beats seasonal-naive, trends are followed, seasonality needs two
seasons, intervals need enough backtest windows, and no forecast is negative or crosses its bounds."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from retail_lake.layout import model_prefix

from .conftest import Line, make_lake, rows, run

STORES = {"Kanyon": 1000.0, "Zorlu Center": 600.0, "Metrocity": 300.0}


def daily_lines(start: date, n_days: int, level, rng: np.random.Generator, noise: float) -> list[Line]:
    """One line per store and day; revenue = store size x level(day index) x lognormal noise."""
    out = []
    for d in range(n_days):
        day = start + timedelta(days=d)
        for store, size in STORES.items():
            out.append(Line(f"C{d % 97:03d}{store[:2]}", day, size * level(d) * rng.lognormal(0, noise), store=store))
    return out


def metrics_of(storage, result) -> dict:
    return json.loads((Path(storage.root) / model_prefix("forecast", result.version) / "metrics.json").read_text())


def forecast_rows(storage, settings) -> list[dict]:
    return rows(storage, settings, "SELECT * FROM sales_forecast ORDER BY store, period_start", ["sales_forecast"])


def test_known_seasonality_is_forecast_better_than_seasonal_naive(tmp_path: Path, settings, rng) -> None:
    """Three years of an annual cycle (+-40 %) with noise: seasonal-naive repeats last year's noise,
    the model averages it out."""
    start = date(2021, 1, 4)  # a Monday; 156 complete weeks

    def level(d: int) -> float:
        return (1 + 0.4 * np.sin(2 * np.pi * d / 365.25)) * 1.002 ** (d / 7)

    storage = make_lake(tmp_path, daily_lines(start, 156 * 7, level, rng, 0.35), settings)
    result = run(storage, settings, ["forecast"])["forecast"]
    doc = metrics_of(storage, result)
    backtest = doc["metrics"]["backtest"]
    assert doc["windows"]["seasonal"] is True and "last_year_dev" not in doc["features"]
    assert {"month", "seasonal_change"} <= set(doc["features"]) and "week_sin" not in doc["features"]
    assert result.promoted and result.metric_name == "wape" and result.baseline_name == "seasonal_naive"
    assert backtest["xgboost"]["wape"] < 0.9 * backtest["seasonal_naive"]["wape"]
    assert backtest["baseline_method"] == "seasonal_naive" and backtest["windows"] == 8
    assert backtest["xgboost"]["smape"] is not None
    intervals = doc["metrics"]["intervals"]
    assert intervals["windows"] == 8 and 0.6 <= intervals["coverage"] <= 1.0 and intervals["level"] == 0.8

    table = forecast_rows(storage, settings)
    assert {r["store"] for r in table} == {"ALL", *STORES}
    assert len(table) == 4 * 12
    first = start + timedelta(weeks=156)
    assert sorted({r["period_start"] for r in table}) == [first + timedelta(weeks=h) for h in range(12)]
    for r in table:
        assert 0 <= r["lower"] <= r["forecast"] <= r["upper"], r
        assert r["model_version"] == result.version and r["interval_level"] == 0.8 and r["method"] == "xgboost"
    # 'ALL' is the sum of the stores, roughly, in the forecast too.
    week1 = {r["store"]: r["forecast"] for r in table if r["horizon_weeks"] == 1}
    assert week1["ALL"] == np.float64(week1["ALL"]) and abs(week1["ALL"] / sum(week1[s] for s in STORES) - 1) < 0.1


def test_a_trend_is_followed_and_one_season_is_not_enough_for_seasonality(tmp_path: Path, settings, rng) -> None:
    """60 weeks growing 2 % a week (trees alone would forecast a flat line at the last level); the lake
    ends on a Wednesday, so its last, partial week is forecast whole and not learned from."""
    start = date(2023, 1, 2)
    n_days = 60 * 7 + 3

    def level(d: int) -> float:
        return 1.02 ** (d / 7)

    storage = make_lake(tmp_path, daily_lines(start, n_days, level, rng, 0.1), settings)
    result = run(storage, settings, ["forecast"])["forecast"]
    doc = metrics_of(storage, result)
    assert doc["windows"]["seasonal"] is False and "two seasons" in doc["windows"]["seasonal_note"]
    assert not {"week_sin", "week_cos", "month", "seasonal_change"} & set(doc["features"])
    assert doc["windows"]["weeks"] == 60 and doc["windows"]["dropped"]
    table = forecast_rows(storage, settings)
    total = [r for r in table if r["store"] == "ALL"]
    assert total[0]["period_start"] == start + timedelta(weeks=60)  # the partial week, forecast whole
    forecasts = np.array([r["forecast"] for r in total])
    assert np.all(np.diff(forecasts) > 0)
    last_week = sum(STORES.values()) * 7 * level(59 * 7 + 3)
    truth = np.array([sum(STORES.values()) * 7 * level((59 + h) * 7 + 3) for h in range(1, 13)])
    assert forecasts[0] > last_week
    assert np.all(np.abs(forecasts / truth - 1) < 0.12)
    assert result.metric_value < result.baseline_value  # the mean of the last 4 weeks lags a trend


def test_a_collapsing_series_never_goes_negative(tmp_path: Path, settings, rng) -> None:
    start = date(2023, 1, 2)
    storage = make_lake(tmp_path, daily_lines(start, 40 * 7, lambda d: 0.85 ** (d / 7), rng, 0.1), settings)
    run(storage, settings, ["forecast"])
    table = forecast_rows(storage, settings)
    assert all(r["forecast"] >= 0 for r in table)
    assert all(r["lower"] is None or 0 <= r["lower"] <= r["forecast"] <= r["upper"] for r in table)
    total = [r["forecast"] for r in table if r["store"] == "ALL"]
    assert total[-1] < total[0]


def test_intervals_need_enough_backtest_windows(tmp_path: Path, settings, rng) -> None:
    """22 weeks and a 4-week horizon give three backtest windows (< 5 needed): no intervals (NULL), and
    metrics.json says why."""
    start = date(2024, 1, 1)
    storage = make_lake(tmp_path, daily_lines(start, 22 * 7, lambda d: 1.0, rng, 0.2), settings)
    result = run(storage, settings, ["forecast"], forecast_weeks=4)["forecast"]
    doc = metrics_of(storage, result)
    assert doc["metrics"]["backtest"]["windows"] == 3
    assert doc["metrics"]["intervals"]["coverage"] is None and "needed" in doc["metrics"]["intervals"]["note"]
    table = forecast_rows(storage, settings)
    assert len(table) == 4 * 4 and {r["horizon_weeks"] for r in table} == {1, 2, 3, 4}
    assert all(r["lower"] is None and r["upper"] is None and r["interval_level"] is None for r in table)
    assert all(r["forecast"] > 0 for r in table)
