"""The model registry in the lake: versions under ``models/<model>/<version>/``, a serving pointer per
model, the promotion gate and feature drift (PSI).

    models/<model>/<version>/metrics.json    metrics, baseline, gate decision, windows, drift, snapshot id,
                                            code version (written last: a folder without it is unfinished)
    models/<model>/<version>/features.json   feature list + the reference histogram of each feature (PSI)
    models/<model>/<version>/model.*         the model file(s)
    models/<model>/_current.json             {"version", "promoted_at", "promoted": [every version ever promoted]}

The ``model_registry`` table is derived from these on every run, so statuses never drift from the
artefacts: the version named by the pointer is 'current', earlier promoted ones are 'retired', the
others 'rejected'.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from retail_lake.layout import MODELS_PREFIX, model_prefix
from retail_lake.storage import Storage

__all__ = [
    "CURRENT_NAME",
    "Decision",
    "current_version",
    "gate",
    "psi",
    "psi_snapshot",
    "read_json",
    "read_versions",
    "registry_rows",
    "write_json",
    "write_pointer",
]

CURRENT_NAME = "_current.json"
PSI_BINS = 10
_PSI_FLOOR = 1e-4  # a bin with no customers would make PSI infinite


@dataclass(frozen=True)
class Decision:
    promoted: bool
    reason: str


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def gate(
    metric_name: str,
    metric: float | None,
    higher_is_better: bool,
    baseline_name: str,
    baseline: float | None,
    current_version: str | None,
    current: float | None,
    tolerance: float,
    unavailable: str | None = None,
) -> Decision:
    """Promote only a candidate that beats its baseline and is not worse than the current version by more
    than ``tolerance`` (a fraction of the current metric's size: validation windows move every run)."""
    if unavailable:
        return Decision(False, unavailable)
    if metric is None or not math.isfinite(metric):
        return Decision(False, f"{metric_name} could not be measured on validation")
    if baseline is not None and math.isfinite(baseline):
        beats = metric > baseline if higher_is_better else metric < baseline
        if not beats:
            return Decision(
                False, f"{metric_name} {_fmt(metric)} does not beat baseline {baseline_name} {_fmt(baseline)}"
            )
    if current is not None and math.isfinite(current):
        slack = tolerance * abs(current)
        worse = metric < current - slack if higher_is_better else metric > current + slack
        if worse:
            return Decision(
                False,
                f"{metric_name} {_fmt(metric)} is worse than current version {current_version} "
                f"({_fmt(current)}) beyond the {tolerance:.0%} tolerance",
            )
    against = f"beats baseline {baseline_name} {_fmt(baseline)}" if baseline is not None else "no baseline"
    versus = f"; current {current_version} had {_fmt(current)}" if current is not None else "; no current version"
    return Decision(True, f"{metric_name} {_fmt(metric)} {against}{versus}")


# --- artefacts ----------------------------------------------------------------------------------


def read_json(storage: Storage, key: str) -> Any | None:
    try:
        return json.loads(storage.read_bytes(key))
    except FileNotFoundError:
        return None


def write_json(storage: Storage, key: str, doc: Any) -> None:
    storage.write_bytes(key, json.dumps(doc, indent=1, sort_keys=False, default=_json_default).encode())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def current_version(storage: Storage, model: str) -> dict[str, Any] | None:
    """The serving pointer of ``model`` with the current version's metrics (None: nothing promoted yet)."""
    pointer = read_json(storage, model_prefix(model) + CURRENT_NAME)
    if not pointer:
        return None
    metrics = read_json(storage, model_prefix(model, pointer["version"]) + "metrics.json") or {}
    features = read_json(storage, model_prefix(model, pointer["version"]) + "features.json") or {}
    return {**pointer, "metrics": metrics, "features": features}


def write_pointer(storage: Storage, model: str, version: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    promoted = list((previous or {}).get("promoted") or [])
    if version not in promoted:
        promoted.append(version)
    pointer = {
        "model": model,
        "version": version,
        "promoted_at": datetime.now(UTC).isoformat(),
        "previous": (previous or {}).get("version"),
        "promoted": promoted,
    }
    write_json(storage, model_prefix(model) + CURRENT_NAME, pointer)
    return pointer


def read_versions(storage: Storage, model: str) -> list[dict[str, Any]]:
    """metrics.json of every finished version of ``model``, oldest first."""
    prefix = model_prefix(model)
    keys = sorted(o.key for o in storage.list(prefix) if o.key.endswith("/metrics.json"))
    docs = []
    for key in keys:
        doc = read_json(storage, key)
        if doc:
            docs.append(doc)
    return sorted(docs, key=lambda d: d.get("version", ""))


def _models_in_lake(storage: Storage) -> list[str]:
    names = set()
    for info in storage.list(MODELS_PREFIX):
        rest = info.key[len(MODELS_PREFIX) :]
        if "/" in rest:
            names.add(rest.split("/", 1)[0])
    return sorted(names)


def registry_rows(storage: Storage) -> list[dict[str, Any]]:
    """One row per (model, version) with its derived status, newest first within a model."""
    rows: list[dict[str, Any]] = []
    for model in _models_in_lake(storage):
        pointer = read_json(storage, model_prefix(model) + CURRENT_NAME) or {}
        current = pointer.get("version")
        promoted = list(pointer.get("promoted") or [])
        versions = read_versions(storage, model)
        for doc in versions:
            version = doc["version"]
            decision = doc.get("decision") or {}
            reason = decision.get("reason") or ""
            if version == current:
                status = "current"
            elif version in promoted:
                status = "retired"
                later = [v for v in promoted if v > version]
                reason = f"retired: replaced by {later[0]}" if later else f"retired: {reason}"
            else:
                status = "rejected"
                if decision.get("promoted"):  # the run stopped before its pointer was written
                    reason = "rejected: the run stopped before promotion finished"
            drift = doc.get("drift") or {}
            rows.append(
                {
                    "model": model,
                    "version": version,
                    "status": status,
                    "metric_name": doc.get("metric_name"),
                    "metric_value": doc.get("metric_value"),
                    "baseline_name": doc.get("baseline_name"),
                    "baseline_value": doc.get("baseline_value"),
                    "candidate": doc.get("candidate"),
                    "compared_with": decision.get("current_version"),
                    "compared_value": decision.get("current_value"),
                    "trained_at": doc.get("trained_at"),
                    "reason": reason,
                    "serving": doc.get("serving"),
                    "drift_max_psi": drift.get("max_psi"),
                    "drift_feature": drift.get("max_feature"),
                    "drift_against": drift.get("against"),
                    "snapshot_id": doc.get("snapshot_id"),
                    "code_version": doc.get("code_version"),
                    "rows_trained": doc.get("rows_trained"),
                    "duration_ms": doc.get("duration_ms"),
                    "artefacts": model_prefix(model, version),
                }
            )
    rows.sort(key=lambda r: (r["model"], r["version"]), reverse=False)
    return rows


# --- drift ------------------------------------------------------------------------------------


def psi_snapshot(values: Any, bins: int = PSI_BINS) -> dict[str, Any]:
    """The reference histogram of one feature: quantile edges and the share in each bin (+ missing)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    missing = float(1 - finite.size / v.size) if v.size else 0.0
    if finite.size == 0:
        return {"edges": [], "proportions": [0.0], "missing": missing}
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=edges.size + 1)
    return {"edges": edges.tolist(), "proportions": (counts / v.size).tolist(), "missing": missing}


def psi(reference: dict[str, Any], values: Any) -> float | None:
    """Population stability index of ``values`` against a reference histogram (0: same distribution;
    above 0.25 is usually read as a major shift)."""
    import numpy as np

    if not reference or "edges" not in reference:
        return None
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return None
    edges = np.asarray(reference["edges"], dtype=float)
    finite = v[np.isfinite(v)]
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=edges.size + 1)
    expected = np.append(np.asarray(reference["proportions"], dtype=float), reference.get("missing", 0.0))
    actual = np.append(counts / v.size, 1 - finite.size / v.size)
    if expected.size != actual.size:
        return None
    e = np.maximum(expected, _PSI_FLOOR)
    a = np.maximum(actual, _PSI_FLOOR)
    keep = (expected > 0) | (actual > 0)
    return float(np.sum(((a - e) * np.log(a / e))[keep]))
