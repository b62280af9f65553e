"""One training run: read the lake once, train each model, gate it, write its version and publish.

Order of writes per model (a crash leaves the lake consistent): the version's model files and
features.json, then the prediction table (a new version behind its pointer), then the model's serving
pointer when promoted, then metrics.json (a version folder without it is unfinished and ignored).
``model_registry`` is rebuilt from the artefacts at the end of the run.

This module imports no numpy/scikit-learn/xgboost at import time (``retail_lake.models`` re-exports
it and the CLI imports the package on every call); the model modules are imported inside ``train``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from retail_lake import __version__
from retail_lake.config import Settings
from retail_lake.layout import model_prefix
from retail_lake.storage import Storage, open_storage
from retail_lake.versions import new_run_id

from ._types import MODEL_NAMES, ModelResult, TrainConfig, Trained

__all__ = ["code_version", "config_from_settings", "format_summary", "train"]

Progress = Callable[[str], None]


def config_from_settings(settings: Settings, **overrides: Any) -> TrainConfig:
    """TrainConfig from the TRAIN_* settings, with explicit overrides (None means: keep the setting)."""
    base = TrainConfig(
        clv_horizon_days=settings.train_clv_horizon_days,
        forecast_weeks=settings.train_forecast_weeks,
        tolerance=settings.train_gate_tolerance,
        seed=settings.train_seed,
        threads=settings.duckdb_threads,
    )
    return dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})


def code_version() -> str:
    """Package version + sha256 of the training code: tells versions trained by different code apart."""
    digest = hashlib.sha256()
    for entry in sorted(resources.files("retail_lake.models").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".py"):
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def _check(cfg: TrainConfig) -> None:
    if not 1 <= cfg.clv_horizon_days <= 3650:
        raise ValueError(f"clv horizon must be 1-3650 days, not {cfg.clv_horizon_days}")
    if not 1 <= cfg.forecast_weeks <= 104:
        raise ValueError(f"forecast weeks must be 1-104, not {cfg.forecast_weeks}")
    if not 0 <= cfg.tolerance < 1:
        raise ValueError(f"gate tolerance must be a fraction in [0, 1), not {cfg.tolerance}")
    if not 0.5 <= cfg.interval_level < 1:
        raise ValueError(f"interval level must be in [0.5, 1), not {cfg.interval_level}")


def train(
    lake: str | Storage | None = None,
    models: Iterable[str] | None = None,
    *,
    clv_horizon_days: int | None = None,
    forecast_weeks: int | None = None,
    settings: Settings | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> list[ModelResult]:
    """Train, validate and gate the models (default: all three) on the lake; publish their predictions.

    Returns one ModelResult per model. A model that raises is reported as 'failed' (nothing of it is
    published) and the others still run. Raises EmptyLakeError when the lake has no sales, ValueError
    for a bad model name or parameter.
    """
    # OpenMP (xgboost, scikit-learn) spin-waits for work by default, which starves a shared or small
    # machine; it must be set before the runtime loads, i.e. before the model modules are imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from retail_lake.models._data import load_training_data
    from retail_lake.models._features import prepare

    settings = settings or Settings.from_env()
    storage = open_storage(lake if isinstance(lake, str) else settings.lake) if not _is_storage(lake) else lake
    names = list(models) if models else list(MODEL_NAMES)
    unknown = [m for m in names if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)} (choose from {', '.join(MODEL_NAMES)})")
    names = [m for m in MODEL_NAMES if m in names]  # fixed order, no duplicates
    cfg = config or config_from_settings(settings)
    cfg = dataclasses.replace(
        cfg,
        **{
            k: v
            for k, v in (("clv_horizon_days", clv_horizon_days), ("forecast_weeks", forecast_weeks))
            if v is not None
        },
    )
    _check(cfg)
    say = progress or (lambda _m: None)
    version = new_run_id()
    say(f"reading the lake ({storage.uri})")
    data = load_training_data(storage, settings)
    try:
        say(f"{data.rows:,} sales lines, {data.customers:,} customers, {data.first_date} .. {data.last_date}")
        prepare(data.con)
        results = []
        code = code_version()
        for model in names:
            started = time.monotonic()
            say(f"training {model}")
            try:
                trained = _trainer(model)(data, cfg, say)
                result = _register(storage, settings, version, trained, cfg, data, code, started)
            except Exception as exc:  # one model's failure must not stop the others
                if os.environ.get("RETAIL_LAKE_DEBUG"):
                    raise
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                result = ModelResult(
                    model,
                    version,
                    "failed",
                    reason=f"{type(exc).__name__}: {first}",
                    seconds=time.monotonic() - started,
                )
            say(f"{model}: {result.status} in {result.seconds:.1f}s")
            results.append(result)
        _publish_registry(storage, settings, version)
        return results
    finally:
        data.con.close()


def _is_storage(lake: Any) -> bool:
    return lake is not None and not isinstance(lake, str)


def _trainer(model: str) -> Callable[..., Trained]:
    if model == "segmentation":
        from retail_lake.models._segmentation import train_segmentation

        return train_segmentation
    if model == "clv":
        from retail_lake.models._clv import train_clv

        return train_clv
    from retail_lake.models._forecast import train_forecast

    return train_forecast


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _comparable(trained: Trained, current: dict[str, Any]) -> str | None:
    """Why the current version's recorded metric cannot be compared with this run's (None: it can)."""
    metrics = current.get("metrics") or {}
    if metrics.get("metric_name") != trained.metric_name:
        return "the current version was measured with another metric"
    if trained.model == "clv":
        then = (metrics.get("windows") or {}).get("window_days")
        if then != trained.windows.get("window_days"):
            return f"the current version was validated on a {then}-day window"
    return None


def _drift(trained: Trained, current: dict[str, Any] | None) -> dict[str, Any]:
    from retail_lake.models._registry import psi

    if not current:
        return {"against": None, "psi": {}, "max_psi": None, "max_feature": None}
    reference = (current.get("features") or {}).get("snapshot") or {}
    scores = {name: psi(reference.get(name), values) for name, values in trained.feature_snapshot.items()}
    scores = {k: v for k, v in scores.items() if v is not None}
    worst = max(scores, key=lambda k: scores[k]) if scores else None
    return {
        "against": current["version"],
        "psi": scores,
        "max_psi": scores.get(worst) if worst else None,
        "max_feature": worst,
    }


def _register(
    storage: Storage,
    settings: Settings,
    version: str,
    trained: Trained,
    cfg: TrainConfig,
    data: Any,
    code: str,
    started: float,
) -> ModelResult:
    import numpy as np

    from retail_lake.models._registry import current_version, gate, psi_snapshot, write_json, write_pointer
    from retail_lake.models._tables import publish_table

    model = trained.model
    current = current_version(storage, model)
    drift = _drift(trained, current)
    not_comparable = _comparable(trained, current) if current else None
    current_value = (
        None if (not current or not_comparable) else _finite((current.get("metrics") or {}).get("metric_value"))
    )
    decision = gate(
        trained.metric_name,
        _finite(trained.metric_value),
        trained.higher_is_better,
        trained.baseline_name,
        _finite(trained.baseline_value),
        current["version"] if current else None,
        current_value,
        cfg.tolerance,
        trained.unavailable,
    )
    notes = list(trained.notes)
    if not_comparable:
        notes.append(f"gate compared with the baseline only: {not_comparable}")
    prefix = model_prefix(model, version)
    for name, payload in trained.artefacts.items():
        storage.write_bytes(prefix + name, payload)
    write_json(
        storage,
        prefix + "features.json",
        {
            "features": trained.features,
            "snapshot": {name: psi_snapshot(values) for name, values in trained.feature_snapshot.items()},
        },
    )

    columns = None
    if decision.promoted and trained.candidate_rows is not None:
        columns, serving = trained.candidate_rows(), version
    elif current:
        serving = current["version"]
        if trained.rescore is not None:
            columns = trained.rescore(storage, model_prefix(model, current["version"]))
        if columns is None:
            notes.append(f"{trained.table} keeps the predictions published by {serving}")
    else:
        columns, serving = trained.baseline_rows(), f"baseline:{trained.baseline_name}@{version}"
    rows = None
    if columns is not None:
        count = len(next(iter(columns.values())))
        columns["model_version"] = np.full(count, serving, dtype=object)
        rows = publish_table(storage, trained.table, columns, version, settings)
    if decision.promoted:
        write_pointer(storage, model, version, current)
    seconds = time.monotonic() - started
    write_json(
        storage,
        prefix + "metrics.json",
        {
            "model": model,
            "version": version,
            "trained_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "metric_name": trained.metric_name,
            "metric_value": _finite(trained.metric_value),
            "higher_is_better": trained.higher_is_better,
            "baseline_name": trained.baseline_name,
            "baseline_value": _finite(trained.baseline_value),
            "candidate": trained.candidate_name,
            "decision": {
                "promoted": decision.promoted,
                "reason": decision.reason,
                "current_version": current["version"] if current else None,
                "current_value": current_value,
                "tolerance": cfg.tolerance,
            },
            "serving": serving,
            "table": trained.table,
            "rows_published": rows,
            "windows": trained.windows,
            "metrics": trained.metrics,
            "features": trained.features,
            "drift": drift,
            "snapshot_id": data.snapshot_id,
            "training_data": data.describe(),
            "code_version": code,
            "rows_trained": trained.rows_trained,
            "duration_ms": int(seconds * 1000),
            "notes": notes,
            "config": dataclasses.asdict(cfg),
            "files": sorted([*trained.artefacts, "features.json", "metrics.json"]),
        },
    )
    return ModelResult(
        model=model,
        version=version,
        status="current" if decision.promoted else "rejected",
        metric_name=trained.metric_name,
        metric_value=_finite(trained.metric_value),
        baseline_name=trained.baseline_name,
        baseline_value=_finite(trained.baseline_value),
        candidate=trained.candidate_name,
        current_version=current["version"] if current else None,
        current_value=current_value,
        reason=decision.reason,
        serving=serving,
        table=trained.table,
        rows_published=rows,
        drift_max_psi=drift["max_psi"],
        drift_feature=drift["max_feature"],
        seconds=seconds,
        notes=notes,
    )


_REGISTRY_COLUMNS = (
    "model",
    "version",
    "status",
    "metric_name",
    "metric_value",
    "baseline_name",
    "baseline_value",
    "trained_at",
    "reason",
    "candidate",
    "compared_with",
    "compared_value",
    "serving",
    "drift_max_psi",
    "drift_feature",
    "drift_against",
    "snapshot_id",
    "code_version",
    "rows_trained",
    "duration_ms",
    "artefacts",
)
_REGISTRY_NUMBERS = ("metric_value", "baseline_value", "compared_value", "drift_max_psi", "rows_trained", "duration_ms")


def _publish_registry(storage: Storage, settings: Settings, run_id: str) -> int:
    import numpy as np

    from retail_lake.models._registry import registry_rows
    from retail_lake.models._tables import publish_table

    rows = registry_rows(storage)
    if not rows:
        return 0
    columns: dict[str, Any] = {}
    for name in _REGISTRY_COLUMNS:
        values = [r.get(name) for r in rows]
        if name in _REGISTRY_NUMBERS:
            columns[name] = np.array([np.nan if v is None else float(v) for v in values])
        elif name == "trained_at":
            columns[name] = np.array([np.datetime64(str(v)[:26]) for v in values], dtype="datetime64[us]")
        else:
            columns[name] = np.array(values, dtype=object)
    return publish_table(storage, "model_registry", columns, run_id, settings)


def format_summary(results: list[ModelResult]) -> list[str]:
    """One line per model: metric against baseline, promoted or not and why, what serves now."""
    lines = []
    for r in results:
        if r.status == "failed":
            lines.append(f"{r.model}: FAILED: {r.reason}")
            continue
        metric = "n/a" if r.metric_value is None else f"{r.metric_value:.4g}"
        base = "n/a" if r.baseline_value is None else f"{r.baseline_value:.4g}"
        head = f"{r.model}: {r.metric_name} {metric} ({r.candidate}) vs baseline {r.baseline_name} {base}"
        if r.promoted:
            lines.append(f"{head} -> PROMOTED ({r.reason}); serving {r.serving}")
        else:
            lines.append(f"{head} -> REJECTED ({r.reason}); serving {r.serving}")
        if r.drift_max_psi is not None:
            lines.append(f"  drift vs {r.current_version}: max PSI {r.drift_max_psi:.3f} ({r.drift_feature})")
        lines.extend(f"  note: {n}" for n in r.notes)
    return lines
