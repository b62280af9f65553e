"""Weekly sales forecast per store and in total ('ALL'): XGBoost on the detrended series, conformal
intervals, a rolling-origin backtest against seasonal-naive.

- Weeks start on Monday; partial first/last weeks are left out (a lake ending on a Wednesday would
  otherwise show a collapse in its last week). The forecast covers the ``forecast_weeks`` weeks after
  the last complete week.
- Detrending: for a forecast made at week t for week t+h, the target is
  ``log1p(y[t+h]) - (level_t + slope_t * (h + 1.5))`` where level_t is the mean log revenue of weeks
  t-3..t and slope_t the least-squares slope of log revenue over up to 52 weeks. Trees cannot
  extrapolate a trend; this way they only learn the deviations from it, and the forecast follows the
  trend. One direct model for every horizon, series and origin.
- Seasonality only with two full seasons (104 complete weeks): calendar features (month, Black
  Friday week) and last year's deviation at the same horizon. With less history a
  seasonal model would fit noise, so the model is non-seasonal and metrics.json says so.
- Backtest: rolling origins (every 4 weeks, up to ``forecast_backtest_windows``), a model refitted at
  each on what was known then. Baseline: seasonal-naive (the same week 52 weeks earlier when history
  has it, else the mean of the last 4 weeks). WAPE (gate), sMAPE, coverage.
- Intervals: quantiles of the backtest's log residuals (per horizon, pooled with neighbouring
  horizons until there are enough, stores and 'ALL' apart), so lower <= forecast <= upper and both
  are >= 0 by construction. Only with at least ``min_interval_windows`` backtest windows; coverage
  is measured leave-one-window-out (each window against intervals built from the others).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from retail_lake.models._data import TrainingData
from retail_lake.models._features import week_start, weekly_revenue
from retail_lake.models._types import Columns, TrainConfig, Trained, fit_threads

__all__ = ["SEASON_WEEKS", "Series", "build_series", "seasonal_naive", "train_forecast", "wape"]

SEASON_WEEKS = 52
LEVEL_WEEKS = 4
SEASONAL_LEVEL_WEEKS = 8  # the seasonal level: 8 weeks matched with the same 8 weeks a year earlier
MIN_TRAIN_WEEKS = 8  # an origin needs this many weeks before it to train on
BACKTEST_STEP = 4
MIN_RESIDUALS = 30
TOTAL = "ALL"


@dataclass
class Series:
    """Weekly revenue: ``values[s, w]`` for series ``names[s]`` and the week starting ``weeks[w]``."""

    names: list[str]
    weeks: list[date]
    values: np.ndarray
    dropped_partial: list[str]

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)


def build_series(data: TrainingData) -> Series:
    """Dense weekly series (missing weeks are 0) over the lake's complete weeks, 'ALL' first."""
    raw = weekly_revenue(data.con)
    first_week = week_start(data.first_date)
    last_week = week_start(data.last_date)
    dropped: list[str] = []
    start, end = first_week, last_week
    if data.first_date.weekday() != 0:
        start = first_week + timedelta(days=7)
        dropped.append(f"first week {first_week} (starts on {data.first_date})")
    if data.last_date.weekday() != 6:
        end = last_week - timedelta(days=7)
        dropped.append(f"last week {last_week} (ends on {data.last_date})")
    if end < start:  # not one complete week: use what there is, each week scaled to seven days
        start, end, dropped = first_week, last_week, ["no complete week: partial weeks scaled to 7 days"]
    weeks = [start + timedelta(days=7 * i) for i in range((end - start).days // 7 + 1)]
    index = {w: i for i, w in enumerate(weeks)}
    stores = sorted({s for s in raw["store"] if s != TOTAL})
    names = [TOTAL, *stores]
    row = {n: i for i, n in enumerate(names)}
    values = np.zeros((len(names), len(weeks)))
    for store, week, revenue in zip(raw["store"], raw["week"], raw["revenue"], strict=True):
        w = _as_date(week)
        if w in index:
            values[row[store], index[w]] += float(revenue)
    if dropped and dropped[0].startswith("no complete week"):
        for i, w in enumerate(weeks):
            covered = (min(w + timedelta(days=6), data.last_date) - max(w, data.first_date)).days + 1
            values[:, i] *= 7.0 / max(covered, 1)
    return Series(names, weeks, values, dropped)


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(np.datetime64(value, "D")))


def wape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    total = float(np.sum(np.abs(actual)))
    return float(np.sum(np.abs(actual - predicted)) / total) if total > 0 else None


def smape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    denom = np.abs(actual) + np.abs(predicted)
    keep = denom > 0
    return float(np.mean(2 * np.abs(actual - predicted)[keep] / denom[keep])) if keep.any() else None


def seasonal_naive(values: np.ndarray, origin: int, horizon: int) -> tuple[np.ndarray, str]:
    """Forecasts of every series for origin+1..origin+horizon: the week a season earlier, else the mean
    of the last 4 weeks; and the method used ('seasonal_naive' or 'mean_last_4_weeks')."""
    out = np.empty((values.shape[0], horizon))
    recent = values[:, max(0, origin - LEVEL_WEEKS + 1) : origin + 1].mean(axis=1)
    seasonal = origin + 1 - SEASON_WEEKS >= 0
    for h in range(1, horizon + 1):
        back = origin + h - SEASON_WEEKS * math.ceil(h / SEASON_WEEKS)
        out[:, h - 1] = values[:, back] if seasonal and back >= 0 else recent
    return np.maximum(out, 0.0), ("seasonal_naive" if seasonal else "mean_last_4_weeks")


def _black_friday_week(year: int) -> date:
    nov1 = date(year, 11, 1)
    friday = nov1 + timedelta(days=(4 - nov1.weekday()) % 7 + 21)
    return week_start(friday)


class _Design:
    """Feature rows for (series, origin, horizon) triples of one Series (vectorised over series).

    The base a forecast starts from: the recent level (mean log revenue of the last 4 weeks) plus
    either last year's change from the same point to the target week (seasonal: the chain's, i.e.
    'ALL', pattern, averaged over up to two earlier years and smoothed over 3 weeks, so one noisy
    week does not become the forecast) or the recent trend times the horizon (non-seasonal, or no
    year of history before the origin yet). The trees learn what is left: store-specific patterns,
    Black Friday, recent momentum.
    """

    def __init__(self, series: Series, seasonal: bool) -> None:
        self.series = series
        self.seasonal = seasonal
        self.logs = np.log1p(np.maximum(series.values, 0.0))
        # The level is matched with the same weeks a year earlier when seasonal, so it can average more
        # weeks (less noise) without lagging the season; a trend-following level stays short.
        self.level_weeks = SEASONAL_LEVEL_WEEKS if seasonal else LEVEL_WEEKS
        n = series.n_weeks
        s = len(series.names)
        self.level = np.full((s, n), np.nan)
        self.slope = np.zeros((s, n))
        for t in range(n):
            lo = max(0, t - self.level_weeks + 1)
            self.level[:, t] = self.logs[:, lo : t + 1].mean(axis=1)
            span = min(SEASON_WEEKS, t + 1)
            if span >= MIN_TRAIN_WEEKS:
                xs = np.arange(span, dtype=float)
                xs -= xs.mean()
                ys = self.logs[:, t - span + 1 : t + 1]
                self.slope[:, t] = (ys - ys.mean(axis=1, keepdims=True)) @ xs / (xs @ xs)
        self.names = ["horizon", "dev_0", "dev_1", "dev_2", "dev_3", "slope", "series_code", "is_total"]
        if seasonal:
            # No week-of-year features: with two or three seasons a tree splitting on the week memorised
            # last year's noise in those weeks (backtest WAPE 0.142 vs 0.131 without, on the test lake);
            # the season is carried by seasonal_change, the month and Black Friday stay.
            self.names += ["month", "black_friday_week", "has_last_year", "seasonal_change", "own_seasonal_change"]

    def seasonal_change(self, t: int, h: int) -> np.ndarray | None:
        """Last years' change (log) from the level at the origin to the target week, per series."""
        j = t + h
        changes = []
        for k in (1, 2):
            back = SEASON_WEEKS * k
            if t - back - (self.level_weeks - 1) >= 0 and j - back + 1 <= t:
                lo = j - back - 1
                changes.append(self.logs[:, lo : lo + 3].mean(axis=1) - self.level[:, t - back])
        return np.mean(changes, axis=0) if changes else None

    def base(self, t: int, h: int) -> np.ndarray:
        change = self.seasonal_change(t, h) if self.seasonal else None
        if change is not None:
            return self.level[:, t] + change[0]  # the chain's pattern ('ALL', row 0) for every series
        return self.level[:, t] + self.slope[:, t] * (h + (self.level_weeks - 1) / 2)

    def week_of(self, index: int) -> date:
        return self.series.weeks[0] + timedelta(days=7 * index)

    def rows(self, t: int, h: int) -> np.ndarray:
        """Features of every series for origin t, horizon h (target week t + h may lie in the future)."""
        s = len(self.series.names)
        devs = [self.logs[:, t - k] - self.level[:, t] if t - k >= 0 else np.full(s, np.nan) for k in range(4)]
        cols = [
            np.full(s, float(h)),
            *devs,
            self.slope[:, t],
            np.arange(s, dtype=float),
            (np.arange(s) == 0).astype(float),
        ]
        if self.seasonal:
            target = self.week_of(t + h)
            change = self.seasonal_change(t, h)
            has = change is not None
            chain = np.full(s, change[0]) if has else np.full(s, np.nan)
            own = change - change[0] if has else np.full(s, np.nan)
            cols += [
                np.full(s, float(target.month)),
                np.full(s, float(target == _black_friday_week(target.year))),
                np.full(s, float(has)),
                chain,
                own,
            ]
        return np.column_stack(cols)

    def training_set(self, known: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """Every (origin, horizon) whose target week is at or before week ``known``."""
        xs, ys = [], []
        for t in range(LEVEL_WEEKS - 1, known):  # the first origins average fewer weeks
            for h in range(1, horizon + 1):
                if t + h > known:
                    break
                if self.seasonal and self.seasonal_change(t, h) is None and self.seasonal_change(known, h) is not None:
                    continue  # learn from samples whose base is built like the forecast's (with last year)
                xs.append(self.rows(t, h))
                ys.append(self.logs[:, t + h] - self.base(t, h))
        if not xs:
            return np.empty((0, len(self.names))), np.empty(0)
        return np.vstack(xs), np.concatenate(ys)

    def forecast(self, booster, origin: int, horizon: int) -> np.ndarray:
        import xgboost as xgb

        out = np.empty((len(self.series.names), horizon))
        for h in range(1, horizon + 1):
            z = booster.predict(xgb.DMatrix(self.rows(origin, h), feature_names=self.names))
            out[:, h - 1] = np.expm1(self.base(origin, h) + z)
        return np.maximum(out, 0.0)


def _fit(design: _Design, known: int, horizon: int, cfg: TrainConfig):
    import xgboost as xgb

    x, y = design.training_set(known, horizon)
    if len(y) == 0:
        return None
    # Shallow, slow and regularised: the base already carries level, trend and season; the trees only
    # correct it (deeper or longer boosting fitted the noise of single weeks in the backtest).
    params = {
        "objective": "reg:squarederror",
        "max_depth": 3,
        "eta": 0.03,
        "subsample": 0.8,
        "colsample_bytree": 0.9,
        "min_child_weight": float(min(20.0, max(1.0, len(y) / 100))),
        "lambda": 5.0,
        "tree_method": "hist",
        "seed": cfg.seed,
        "nthread": fit_threads(cfg, len(y)),
    }
    return xgb.train(
        params, xgb.DMatrix(x, label=y, feature_names=design.names), num_boost_round=cfg.forecast_xgb_rounds
    )


def _residual_quantiles(residuals: dict[int, np.ndarray], horizon: int, level: float) -> np.ndarray:
    """(horizon, 2) quantiles of log residuals per horizon; neighbouring horizons pooled until >= MIN_RESIDUALS."""
    alpha = 1 - level
    available = sorted(h for h, r in residuals.items() if r.size)
    out = np.zeros((horizon, 2))
    for h in range(1, horizon + 1):
        near = min(available, key=lambda a: (abs(a - h), a))
        pool = list(residuals[near])
        radius = 1
        while len(pool) < MIN_RESIDUALS and radius <= max(available):
            for a in (near - radius, near + radius):
                if a in residuals:
                    pool.extend(residuals[a])
            radius += 1
        r = np.asarray(pool)
        n = r.size
        lo_level = max(0.0, math.floor((n + 1) * alpha / 2) / n) if n else 0.0
        hi_level = min(1.0, math.ceil((n + 1) * (1 - alpha / 2)) / n) if n else 1.0
        out[h - 1] = [np.quantile(r, lo_level, method="lower"), np.quantile(r, hi_level, method="higher")]
    return out


def _intervals(forecast: np.ndarray, quantiles: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bounds around a forecast (series x horizon) from log-residual quantiles ('ALL' row 0, stores after)."""
    q = np.stack([quantiles["total"] if s == 0 else quantiles["stores"] for s in range(forecast.shape[0])])
    logf = np.log1p(forecast)
    lower = np.maximum(np.expm1(logf + q[:, : forecast.shape[1], 0]), 0.0)
    upper = np.maximum(np.expm1(logf + q[:, : forecast.shape[1], 1]), 0.0)
    return np.minimum(lower, forecast), np.maximum(upper, forecast)


def _collect(windows: list[dict[str, Any]], key: str, skip: int | None = None) -> dict[str, dict[int, np.ndarray]]:
    """Log residuals of the backtest windows (except ``skip``) by series kind and horizon."""
    out: dict[str, dict[int, list[float]]] = {"total": {}, "stores": {}}
    for i, w in enumerate(windows):
        if i == skip:
            continue
        res = np.log1p(w["actual"]) - np.log1p(w[key])
        for h in range(res.shape[1]):
            out["total"].setdefault(h + 1, []).extend(res[0, h : h + 1].tolist())
            out["stores"].setdefault(h + 1, []).extend(res[1:, h].tolist())
    return {kind: {h: np.asarray(v) for h, v in d.items()} for kind, d in out.items()}


def _interval_report(windows: list[dict[str, Any]], key: str, horizon: int, cfg: TrainConfig) -> dict[str, Any]:
    """Quantiles for serving (all windows) and the leave-one-window-out coverage, or why there are none."""
    if len(windows) < cfg.min_interval_windows:
        return {
            "quantiles": None,
            "coverage": None,
            "windows": len(windows),
            "note": f"{len(windows)} backtest window(s) < {cfg.min_interval_windows} needed: no intervals",
        }
    res_all = _collect(windows, key)
    has_stores = bool(windows[0]["actual"].shape[0] > 1)
    quantiles = {"total": _residual_quantiles(res_all["total"], horizon, cfg.interval_level)}
    quantiles["stores"] = (
        _residual_quantiles(res_all["stores"], horizon, cfg.interval_level) if has_stores else quantiles["total"]
    )
    inside = total = 0
    for i, w in enumerate(windows):
        res = _collect(windows, key, skip=i)
        q = {"total": _residual_quantiles(res["total"], w[key].shape[1], cfg.interval_level)}
        q["stores"] = (
            _residual_quantiles(res["stores"], w[key].shape[1], cfg.interval_level) if has_stores else q["total"]
        )
        lower, upper = _intervals(w[key], q)
        inside += int(np.sum((w["actual"] >= lower) & (w["actual"] <= upper)))
        total += w["actual"].size
    return {
        "quantiles": quantiles,
        "coverage": inside / total if total else None,
        "windows": len(windows),
        "level": cfg.interval_level,
        "note": "coverage measured leave-one-window-out",
    }


def _scores(windows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    actual = np.concatenate([w["actual"].ravel() for w in windows])
    pred = np.concatenate([w[key].ravel() for w in windows])
    total_a = np.concatenate([w["actual"][0] for w in windows])
    total_p = np.concatenate([w[key][0] for w in windows])
    return {
        "wape": wape(actual, pred),
        "smape": smape(actual, pred),
        "points": int(actual.size),
        "wape_total": wape(total_a, total_p),
        "smape_total": smape(total_a, total_p),
    }


def train_forecast(data: TrainingData, cfg: TrainConfig, progress=None) -> Trained:
    say = progress or (lambda _m: None)
    horizon = int(cfg.forecast_weeks)
    series = build_series(data)
    n = series.n_weeks
    seasonal = n >= 2 * SEASON_WEEKS
    design = _Design(series, seasonal)
    last = n - 1
    # Backtest origins: the latest whose whole horizon is observed, then every BACKTEST_STEP weeks back.
    bt_horizon = min(horizon, max(0, last - MIN_TRAIN_WEEKS))
    origins = []
    if bt_horizon >= 1:
        o = last - bt_horizon
        while o >= MIN_TRAIN_WEEKS and len(origins) < cfg.forecast_backtest_windows:
            origins.append(o)
            o -= BACKTEST_STEP
        origins.reverse()
    windows_info = {
        "weeks": n,
        "first_week": series.weeks[0],
        "last_complete_week": series.weeks[-1],
        "dropped": series.dropped_partial,
        "horizon_weeks": horizon,
        "backtest_horizon_weeks": bt_horizon,
        "backtest_origins": [series.weeks[o] for o in origins],
        "seasonal": seasonal,
        "seasonal_note": None
        if seasonal
        else f"{n} complete weeks < {2 * SEASON_WEEKS} (two seasons): no seasonal features",
    }
    say(
        f"forecast: {len(series.names) - 1} store(s) + ALL, {n} complete weeks, {len(origins)} backtest window(s)"
        f"{'' if seasonal else ' (non-seasonal: less than two seasons)'}"
    )
    periods = [series.weeks[-1] + timedelta(days=7 * h) for h in range(1, horizon + 1)]

    windows: list[dict[str, Any]] = []
    base_method = "mean_last_4_weeks"
    for o in origins:
        booster = _fit(design, o, horizon, cfg)
        actual = series.values[:, o + 1 : o + 1 + bt_horizon]
        naive, base_method = seasonal_naive(series.values, o, bt_horizon)
        windows.append(
            {
                "origin": o,
                "actual": actual,
                "naive": naive,
                "model": design.forecast(booster, o, bt_horizon) if booster is not None else naive,
            }
        )

    naive_final, naive_method = seasonal_naive(series.values, last, horizon)

    def table(values: np.ndarray, report: dict[str, Any], method: str) -> Columns:
        s = len(series.names)
        if report.get("quantiles"):
            lower, upper = _intervals(values, report["quantiles"])
        else:
            lower = upper = np.full(values.shape, np.nan)
        return {
            "store": np.repeat(np.array(series.names, dtype=object), horizon),
            "period_start": np.tile(np.array(periods, dtype="datetime64[us]"), s),
            "forecast": values.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
            "horizon_weeks": np.tile(np.arange(1, horizon + 1, dtype=np.int32), s),
            "interval_level": np.full(s * horizon, cfg.interval_level if report.get("quantiles") else np.nan),
            "method": np.full(s * horizon, method, dtype=object),
        }

    snapshot_x, _ = design.training_set(last, horizon)
    snapshot = {
        name: snapshot_x[:, i]
        for i, name in enumerate(design.names)
        if name not in ("horizon", "series_code", "is_total")
    }
    common = dict(
        model="forecast",
        table="sales_forecast",
        metric_name="wape",
        higher_is_better=False,
        features=design.names,
        feature_snapshot=snapshot,
    )
    if not windows:
        reason = f"{n} complete week(s) of history: too short for a backtest (need {MIN_TRAIN_WEEKS + 2} weeks)"
        return Trained(
            **common,
            metric_value=None,
            baseline_name="seasonal_naive",
            baseline_value=None,
            candidate_name="xgboost",
            unavailable=reason,
            metrics={"intervals": {"note": reason}},
            windows=windows_info,
            artefacts={},
            rows_trained=0,
            candidate_rows=None,
            baseline_rows=lambda: table(naive_final, {}, naive_method),
        )

    model_scores = _scores(windows, "model")
    naive_scores = _scores(windows, "naive")
    model_intervals = _interval_report(windows, "model", horizon, cfg)
    naive_intervals = _interval_report(windows, "naive", horizon, cfg)
    model_scores["coverage"] = model_intervals["coverage"]
    naive_scores["coverage"] = naive_intervals["coverage"]
    say(
        f"forecast: backtest WAPE {model_scores['wape']:.4f} vs seasonal-naive {naive_scores['wape']:.4f}"
        + (
            f", interval coverage {model_intervals['coverage']:.2f} (nominal {cfg.interval_level:.2f})"
            if model_intervals["coverage"] is not None
            else f"; {model_intervals['note']}"
        )
    )

    final = _fit(design, last, horizon, cfg)
    rows_trained = int(design.training_set(last, horizon)[1].size)
    model_final = design.forecast(final, last, horizon)
    metrics = {
        "backtest": {
            "xgboost": model_scores,
            "seasonal_naive": naive_scores,
            "baseline_method": base_method,
            "windows": len(windows),
        },
        "intervals": {k: v for k, v in model_intervals.items() if k != "quantiles"}
        | {"quantiles": {kind: q.tolist() for kind, q in (model_intervals["quantiles"] or {}).items()} or None},
        "feature_importance_gain": {k: float(v) for k, v in final.get_score(importance_type="gain").items()},
    }
    import json

    params = {
        "features": design.names,
        "seasonal": seasonal,
        "horizon_weeks": horizon,
        "last_complete_week": series.weeks[-1],
        "series": series.names,
        "interval_quantiles": metrics["intervals"]["quantiles"],
        "interval_level": cfg.interval_level,
    }
    return Trained(
        **common,
        metric_value=model_scores["wape"],
        baseline_name="seasonal_naive",
        baseline_value=naive_scores["wape"],
        candidate_name="xgboost",
        unavailable=None,
        metrics=metrics,
        windows=windows_info,
        artefacts={
            "model.json": bytes(final.save_raw("json")),
            "params.json": json.dumps(params, indent=1, default=str).encode(),
        },
        rows_trained=rows_trained,
        candidate_rows=lambda: table(model_final, model_intervals, "xgboost"),
        baseline_rows=lambda: table(naive_final, naive_intervals, naive_method),
    )
