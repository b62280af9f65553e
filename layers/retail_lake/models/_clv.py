"""Customer lifetime value: spend over the next N days, XGBoost against BG/NBD + Gamma-Gamma and the
historical spend rate, on a time-based split.

Windows (``plan_windows``): the validation window is the last ``W = min(horizon, history // 3)`` days
of the lake; the candidate is trained on earlier cut-offs (one window apart, each with at least one
window of history before it) and scored on customers known at the validation cut-off. The served model
is refitted on the latest windows and predicts from the lake's last date. When the lake is younger
than the horizon (W < horizon), the window-W prediction is extrapolated to the horizon by the ratio of
MBG/NBD expected purchases over the two spans (which decays with each customer's P(alive)), and
metrics.json says so.

Baselines: ``historical_rate`` (spend per day since the first purchase, counting at least one window,
times the horizon), ``bgnbd_gg`` (BG/NBD x Gamma-Gamma) and ``mbgnbd_gg`` (MBG/NBD x Gamma-Gamma); the
best of them on validation is the baseline to beat. Candidates: ``xgboost`` (Tweedie objective: spend
is zero for most customers and heavy-tailed; predictions are never negative) on RFM, behaviour and
BTYD features, and ``blend`` (its mean with MBG/NBD x Gamma-Gamma). Gate metric: RMSE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from retail_lake.models._btyd import PENALTIES, BetaGeo, GammaGamma
from retail_lake.models._data import TrainingData
from retail_lake.models._features import customer_windows
from retail_lake.models._types import Columns, TrainConfig, Trained, fit_threads

__all__ = ["FEATURES", "evaluate", "plan_windows", "train_clv"]

FEATURES = [
    "recency_days",
    "tenure_days",
    "purchase_days",
    "invoices",
    "monetary",
    "avg_day_spend",
    "max_day_spend",
    "spend_recent",
    "days_recent",
    "spend_previous",
    "category_breadth",
    "stores",
    "age",
    "female",
    "btyd_expected",
    "btyd_p_alive",
    "gg_expected_value",
]
MIN_TRAIN_ROWS = 30
MIN_HISTORY_DAYS = 3
MIN_REPEATERS = 30  # fewer repeat customers than this: BTYD fits are penalised from the start


def plan_windows(first: date, last: date, horizon_days: int, max_training_windows: int) -> dict[str, Any]:
    """The validation window, training cut-offs and serving cut-offs the lake's history allows."""
    history = (last - first).days
    window = min(horizon_days, history // 3)
    plan: dict[str, Any] = {
        "history_days": history,
        "horizon_days": horizon_days,
        "window_days": window,
        "first_date": first,
        "last_date": last,
    }
    if history < MIN_HISTORY_DAYS or window < 1:
        plan.update(
            validation=None,
            training_cutoffs=[],
            serving_cutoffs=[],
            note=f"{history} day(s) of history: too short to hold out a validation window",
        )
        return plan
    val_cutoff = last - timedelta(days=window)
    training = [val_cutoff - timedelta(days=window * k) for k in range(1, max_training_windows + 1)]
    training = [c for c in training if (c - first).days >= window]
    serving = [val_cutoff, *training[:-1]] if training else [val_cutoff]
    plan.update(
        validation={"cutoff": val_cutoff, "start": val_cutoff + timedelta(days=1), "end": last},
        training_cutoffs=training,
        serving_cutoffs=serving,
        extrapolation="none" if window >= horizon_days else "mbgnbd_ratio",
    )
    if window < horizon_days:
        plan["note"] = (
            f"history of {history} days allows a {window}-day validation window; predictions for "
            f"{horizon_days} days extrapolate the {window}-day model by MBG/NBD expected purchases"
        )
    return plan


def evaluate(predicted: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE, top-decile revenue capture and predicted/actual total of one set of predictions."""
    predicted = np.asarray(predicted, dtype=float)
    actual = np.asarray(actual, dtype=float)
    n = actual.size
    if n == 0:
        return {"customers": 0, "rmse": None, "mae": None, "top_decile_capture": None, "predicted_actual_ratio": None}
    err = predicted - actual
    top = np.argsort(-predicted, kind="stable")[: max(1, n // 10)]
    total = float(actual.sum())
    return {
        "customers": int(n),
        "rmse": float(np.sqrt(np.mean(err * err))),
        "mae": float(np.mean(np.abs(err))),
        "top_decile_capture": float(actual[top].sum() / total) if total > 0 else None,
        "predicted_actual_ratio": float(predicted.sum() / total) if total > 0 else None,
        "predicted_total": float(predicted.sum()),
        "actual_total": total,
    }


@dataclass
class _Btyd:
    """BTYD models fitted at one cut-off and their per-customer outputs."""

    model: BetaGeo
    gamma: GammaGamma
    expected: np.ndarray  # purchases over the window
    p_alive: np.ndarray
    value: np.ndarray  # expected spend per purchase

    def spend(self) -> np.ndarray:
        return self.expected * self.value


def _btyd_inputs(cols: dict[str, np.ndarray], sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = (cols["purchase_days"][sel] - 1).astype(float)
    return x, cols["active_days"][sel] / 7.0, cols["tenure_days"][sel] / 7.0


def _fit_btyd(
    cols: dict[str, np.ndarray], sel: np.ndarray, window_days: float, cfg: TrainConfig, variant: str = "mbgnbd"
) -> _Btyd:
    """MBG/NBD (or BG/NBD) + Gamma-Gamma fitted on a seeded sample of the customers at one cut-off."""
    x, t_x, T = _btyd_inputs(cols, sel)
    rng = np.random.default_rng(cfg.seed)
    idx = (
        np.arange(x.size) if x.size <= cfg.btyd_sample else np.sort(rng.choice(x.size, cfg.btyd_sample, replace=False))
    )
    # With little repeat data the likelihood is nearly flat (one month of history: almost nobody has come
    # back yet) and its maximum says "everyone churned at once"; a weak penalty from the start keeps the
    # parameters near a neutral prior instead. The ladder and the outcome are in metrics.json.
    repeaters = int(np.sum(x[idx] > 0))
    penalties = PENALTIES if repeaters >= MIN_REPEATERS else tuple(p for p in PENALTIES if p >= 0.01)
    model = BetaGeo(variant=variant).fit(x[idx], t_x[idx], T[idx], penalties=penalties)
    mean_spend = cols["avg_day_spend"][sel]
    gamma = GammaGamma().fit(x[idx] + 1, mean_spend[idx], penalties=penalties)
    expected = np.maximum(np.nan_to_num(model.conditional_expected_transactions(window_days / 7.0, x, t_x, T)), 0.0)
    return _Btyd(
        model,
        gamma,
        expected,
        model.probability_alive(x, t_x, T),
        np.maximum(gamma.conditional_expected_value(x + 1, mean_spend), 0.0),
    )


def _matrix(cols: dict[str, np.ndarray], sel: np.ndarray, btyd: _Btyd) -> np.ndarray:
    extra = {"btyd_expected": btyd.expected, "btyd_p_alive": btyd.p_alive, "gg_expected_value": btyd.value}
    return np.column_stack([extra[f] if f in extra else cols[f][sel].astype(float) for f in FEATURES])


def _xgb_params(cfg: TrainConfig, rows: int) -> dict[str, Any]:
    return {
        "objective": "reg:tweedie",
        "tweedie_variance_power": 1.3,
        "max_depth": 5,
        "eta": 0.05,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": float(min(20.0, max(1.0, rows / 200))),
        "tree_method": "hist",
        "seed": cfg.seed,
        "nthread": fit_threads(cfg, rows),
    }


def _fit_xgb(x: np.ndarray, y: np.ndarray, cfg: TrainConfig):
    import xgboost as xgb

    return xgb.train(
        _xgb_params(cfg, len(y)), xgb.DMatrix(x, label=y, feature_names=FEATURES), num_boost_round=cfg.clv_xgb_rounds
    )


def _predict_xgb(booster, x: np.ndarray) -> np.ndarray:
    import xgboost as xgb

    return np.maximum(booster.predict(xgb.DMatrix(x, feature_names=FEATURES)), 0.0)


def _historical_rate(cols: dict[str, np.ndarray], sel: np.ndarray, window_days: int, horizon_days: int) -> np.ndarray:
    days = np.maximum(cols["tenure_days"][sel].astype(float), float(window_days))
    return cols["monetary"][sel] / days * horizon_days


def train_clv(data: TrainingData, cfg: TrainConfig, progress=None) -> Trained:
    say = progress or (lambda _m: None)
    horizon = int(cfg.clv_horizon_days)
    plan = plan_windows(data.first_date, data.last_date, horizon, cfg.clv_training_windows)
    window = max(int(plan["window_days"]), 1)
    last = data.last_date
    cutoffs: list[date] = [*plan["training_cutoffs"]]
    if plan["validation"]:
        cutoffs.append(plan["validation"]["cutoff"])
    cutoffs.append(last)  # serving features (the target columns are empty there)
    say(
        f"clv: history {plan['history_days']} days, horizon {horizon}, validation window {plan['window_days']} "
        f"days, {len(plan['training_cutoffs'])} training window(s)"
    )
    cols = customer_windows(data.con, cutoffs, window)
    k_of = {c: k for k, c in enumerate(cutoffs)}
    serve_sel = cols["k"] == k_of[last]

    # Serving-time BTYD (all history): probability alive, expected purchases over the window and horizon.
    serve_btyd = _fit_btyd(cols, serve_sel, window, cfg)
    x_s, tx_s, T_s = _btyd_inputs(cols, serve_sel)
    expected_h = np.maximum(
        np.nan_to_num(serve_btyd.model.conditional_expected_transactions(horizon / 7.0, x_s, tx_s, T_s)), 0.0
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        extrapolate = np.where(serve_btyd.expected > 0, expected_h / serve_btyd.expected, horizon / window)
    if window >= horizon:
        extrapolate = np.ones_like(extrapolate)

    def table(spend: np.ndarray, method: str) -> Columns:
        n = int(serve_sel.sum())
        return {
            "customer_id": cols["customer_id"][serve_sel],
            "horizon_days": np.full(n, horizon, dtype=np.int32),
            "predicted_spend": np.maximum(np.nan_to_num(spend), 0.0),
            "probability_alive": np.clip(serve_btyd.p_alive, 0.0, 1.0),
            "expected_purchases": expected_h,
            "expected_avg_spend": serve_btyd.value,
            "historical_spend": cols["monetary"][serve_sel],
            "purchases": cols["purchase_days"][serve_sel],
            "recency_days": cols["recency_days"][serve_sel].astype(np.int32),
            "tenure_days": cols["tenure_days"][serve_sel].astype(np.int32),
            "method": np.full(n, method, dtype=object),
        }

    def serve_baseline(name: str) -> Columns:
        if name == "historical_rate":
            return table(_historical_rate(cols, serve_sel, window, horizon), name)
        if name == "bgnbd_gg":
            classic = _fit_btyd(cols, serve_sel, window, cfg, variant="bgnbd")
            spend = classic.model.conditional_expected_transactions(horizon / 7.0, x_s, tx_s, T_s) * classic.value
            return table(spend, name)
        return table(expected_h * serve_btyd.value, "mbgnbd_gg")

    metrics: dict[str, Any] = {
        "btyd_serving": {"mbgnbd": serve_btyd.model.to_dict(), "gamma_gamma": serve_btyd.gamma.to_dict()}
    }
    snapshot = {f: _matrix(cols, serve_sel, serve_btyd)[:, i] for i, f in enumerate(FEATURES)}
    windows = {**plan, "validation": plan["validation"]}
    common = dict(
        model="clv",
        table="customer_clv",
        metric_name="rmse",
        higher_is_better=False,
        windows=windows,
        features=list(FEATURES),
        feature_snapshot=snapshot,
    )

    if not plan["validation"]:
        return Trained(
            **common,
            metric_value=None,
            baseline_name="mbgnbd_gg",
            baseline_value=None,
            candidate_name="xgboost",
            unavailable=plan["note"],
            metrics=metrics,
            artefacts={},
            rows_trained=0,
            candidate_rows=None,
            baseline_rows=lambda: serve_baseline("mbgnbd_gg"),
        )

    # --- validation: baselines and candidates on customers known at the validation cut-off ------------
    val_sel = cols["k"] == k_of[plan["validation"]["cutoff"]]
    actual = cols["target_spend"][val_sel]
    val_btyd = _fit_btyd(cols, val_sel, window, cfg)
    val_classic = _fit_btyd(cols, val_sel, window, cfg, variant="bgnbd")
    baselines = {
        "historical_rate": evaluate(_historical_rate(cols, val_sel, window, window), actual),
        "bgnbd_gg": evaluate(val_classic.spend(), actual),
        "mbgnbd_gg": evaluate(val_btyd.spend(), actual),
    }
    window_revenue = float(
        data.con.execute(
            "SELECT CAST(coalesce(sum(spend), 0) AS DOUBLE) FROM customer_days WHERE day > ? AND day <= ?",
            [plan["validation"]["cutoff"], last],
        ).fetchone()[0]
    )
    metrics.update(
        {
            "validation": {
                "customers": int(val_sel.sum()),
                "window_revenue": window_revenue,
                "known_customer_share": (float(actual.sum()) / window_revenue) if window_revenue else None,
            },
            "baselines": baselines,
            "btyd_validation": {
                "mbgnbd": val_btyd.model.to_dict(),
                "bgnbd": val_classic.model.to_dict(),
                "gamma_gamma": val_btyd.gamma.to_dict(),
            },
        }
    )
    usable = {k: v["rmse"] for k, v in baselines.items() if v["rmse"] is not None}
    baseline_name = min(usable, key=lambda k: (usable[k], k)) if usable else "mbgnbd_gg"
    baseline_value = usable.get(baseline_name)
    for name, fit in (("mbgnbd", val_btyd), ("bgnbd", val_classic)):
        if fit.model.report and not fit.model.report.converged:
            say(
                f"clv: {name} fit did not converge after {fit.model.report.attempts} attempts "
                f"(penalizer {fit.model.report.penalizer}): {fit.model.report.message}"
            )

    train_parts = [(c, cols["k"] == k_of[c]) for c in plan["training_cutoffs"]]
    train_rows = int(sum(s.sum() for _, s in train_parts))
    if train_rows < MIN_TRAIN_ROWS:
        reason = f"too few customers to train on ({train_rows} rows in the training windows; need {MIN_TRAIN_ROWS})"
        return Trained(
            **common,
            metric_value=None,
            baseline_name=baseline_name,
            baseline_value=baseline_value,
            candidate_name="xgboost",
            unavailable=reason,
            metrics=metrics,
            artefacts={},
            rows_trained=train_rows,
            candidate_rows=None,
            baseline_rows=lambda: serve_baseline(baseline_name),
        )

    fitted: dict[date, _Btyd] = {plan["validation"]["cutoff"]: val_btyd}

    def stacked(parts: list[tuple[date, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for cutoff, sel in parts:
            if cutoff not in fitted:
                fitted[cutoff] = _fit_btyd(cols, sel, window, cfg)
            xs.append(_matrix(cols, sel, fitted[cutoff]))
            ys.append(cols["target_spend"][sel])
        return np.vstack(xs), np.concatenate(ys)

    say(f"clv: training XGBoost on {train_rows:,} customer-windows")
    x_train, y_train = stacked(train_parts)
    booster = _fit_xgb(x_train, y_train, cfg)
    xgb_val = _predict_xgb(booster, _matrix(cols, val_sel, val_btyd))
    candidates = {
        "xgboost": evaluate(xgb_val, actual),
        "blend": evaluate(0.5 * xgb_val + 0.5 * val_btyd.spend(), actual),
    }
    metrics["candidates"] = candidates
    candidate = min(candidates, key=lambda k: (candidates[k]["rmse"], k))
    metric_value = candidates[candidate]["rmse"]
    say(
        f"clv: {candidate} rmse {metric_value:.4g} vs {baseline_name} {baseline_value:.4g}"
        if baseline_value is not None
        else f"clv: {candidate} rmse {metric_value:.4g}"
    )

    # --- the served model: refitted on the latest windows, predicting from the lake's last date -----
    serve_parts = [(c, cols["k"] == k_of[c]) for c in plan["serving_cutoffs"]]
    x_final, y_final = stacked(serve_parts)
    final = _fit_xgb(x_final, y_final, cfg)
    serve_matrix = _matrix(cols, serve_sel, serve_btyd)
    xgb_serve = _predict_xgb(final, serve_matrix) * extrapolate
    btyd_serve = expected_h * serve_btyd.value
    served = xgb_serve if candidate == "xgboost" else 0.5 * xgb_serve + 0.5 * btyd_serve
    importance = final.get_score(importance_type="gain")
    metrics["feature_importance_gain"] = {f: float(importance.get(f, 0.0)) for f in FEATURES}
    params = {
        "kind": candidate,
        "window_days": window,
        "horizon_days": horizon,
        "features": FEATURES,
        "blend_weight": 0.5 if candidate == "blend" else 1.0,
        "xgb_params": _xgb_params(cfg, len(y_final)),
        "rounds": cfg.clv_xgb_rounds,
        "btyd": serve_btyd.model.to_dict(),
        "gamma_gamma": serve_btyd.gamma.to_dict(),
    }
    rows_trained = train_rows + len(y_final)

    def rescore(storage, prefix: str) -> Columns | None:
        return _rescore(storage, prefix, cols, serve_sel, serve_btyd, expected_h, extrapolate, window, table)

    return Trained(
        **common,
        metric_value=metric_value,
        baseline_name=baseline_name,
        baseline_value=baseline_value,
        candidate_name=candidate,
        unavailable=None,
        metrics=metrics,
        artefacts={
            "model.json": bytes(final.save_raw("json")),
            "params.json": json.dumps(params, indent=1, default=str).encode(),
        },
        rows_trained=rows_trained,
        candidate_rows=lambda: table(served, candidate),
        baseline_rows=lambda: serve_baseline(baseline_name),
        rescore=rescore,
    )


def _rescore(storage, prefix: str, cols, serve_sel, serve_btyd: _Btyd, expected_h, extrapolate, window, table):
    """Today's customers priced by a saved version (same features and window), or None if it cannot be."""
    import xgboost as xgb

    try:
        params = json.loads(storage.read_bytes(prefix + "params.json"))
        raw = storage.read_bytes(prefix + "model.json")
    except FileNotFoundError:
        return None
    if params.get("features") != FEATURES or int(params.get("window_days", -1)) != window:
        return None
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    spend = _predict_xgb(booster, _matrix(cols, serve_sel, serve_btyd)) * extrapolate
    weight = float(params.get("blend_weight", 1.0))
    spend = weight * spend + (1 - weight) * expected_h * serve_btyd.value
    return table(spend, str(params.get("kind", "xgboost")))
