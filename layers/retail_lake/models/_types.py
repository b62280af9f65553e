"""What a model's training hands to the runner, and what the runner reports back.

Pure Python (no numpy at import): ``retail_lake.models`` re-exports ``ModelResult`` and the CLI
imports this package on every call.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODEL_NAMES", "ModelResult", "TrainConfig", "Trained", "fit_threads"]

MODEL_NAMES: tuple[str, ...] = ("segmentation", "clv", "forecast")


@dataclass(frozen=True)
class TrainConfig:
    """Knobs of one training run. Defaults are the documented ones (docs/MODELS.md); the CLI and the
    handler set the horizons, Settings (TRAIN_* variables) the rest."""

    clv_horizon_days: int = 90
    forecast_weeks: int = 12
    # Promotion gate: a candidate may be this much worse (a fraction of the current metric) than the
    # current version and still be promoted, since every run validates on a newer window.
    tolerance: float = 0.05
    seed: int = 42
    threads: int | None = None
    # segmentation
    k_min: int = 3
    k_max: int = 8
    silhouette_sample: int = 5000
    cluster_fit_sample: int = 50_000
    forest_sample: int = 50_000
    forest_trees: int = 60
    # clv
    clv_training_windows: int = 3
    btyd_sample: int = 30_000
    clv_xgb_rounds: int = 300
    # forecast
    forecast_backtest_windows: int = 8
    forecast_xgb_rounds: int = 150
    interval_level: float = 0.8
    min_interval_windows: int = 5


# Columns of a prediction table as arrays, keyed by column name (model_version is filled by the runner).
Columns = dict[str, Any]


@dataclass
class Trained:
    """One model trained and validated in this run, before the promotion gate.

    ``metric_value`` is the candidate's validation metric (None when no candidate could be trained or
    validated: ``unavailable`` says why, and the gate rejects it). ``candidate_rows`` and
    ``baseline_rows`` build the prediction table for the candidate and for the best baseline;
    ``rescore(current_prefix)`` rebuilds it with the current version's saved model on today's data
    (None: that model cannot be re-applied, its published table keeps serving as it is).
    """

    model: str
    table: str
    metric_name: str
    higher_is_better: bool
    metric_value: float | None
    baseline_name: str
    baseline_value: float | None
    candidate_name: str | None
    unavailable: str | None
    metrics: dict[str, Any]
    windows: dict[str, Any]
    features: list[str]
    feature_snapshot: dict[str, Any]
    artefacts: dict[str, bytes]
    rows_trained: int
    candidate_rows: Callable[[], Columns] | None
    baseline_rows: Callable[[], Columns]
    rescore: Callable[[Any, str], Columns | None] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class ModelResult:
    """The outcome of one model in one training run (what the CLI summary and the handler print)."""

    model: str
    version: str
    status: str  # 'current' (promoted this run), 'rejected', or 'failed' (an error; nothing changed)
    metric_name: str | None = None
    metric_value: float | None = None
    baseline_name: str | None = None
    baseline_value: float | None = None
    candidate: str | None = None
    current_version: str | None = None  # the version that was current when this one was gated
    current_value: float | None = None
    reason: str = ""
    serving: str | None = None  # model_version of the published predictions after this run
    table: str | None = None
    rows_published: int | None = None
    drift_max_psi: float | None = None
    drift_feature: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def promoted(self) -> bool:
        return self.status == "current"

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"promoted": self.promoted}


SMALL_FIT_ROWS = 100_000


def fit_threads(cfg: TrainConfig, rows: int) -> int:
    """Threads for one XGBoost / forest fit: one for small fits, where OpenMP's start-up and spin-waits
    cost more than they save (measured here: 13k rows x 300 rounds, 0.75 s on 1 thread, 1.7-18 s on 2
    threads of a busy 2-core machine), else the configured threads (default: every core)."""
    if rows < SMALL_FIT_ROWS:
        return 1
    return cfg.threads or os.cpu_count() or 1
