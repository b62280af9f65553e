"""Customer segmentation: K-means on scaled RFM + behaviour features, named from the clusters' profiles,
with a Random Forest that learns to assign customers to the clusters (its held-out accuracy says how
crisp the segments are).

- Features (at the lake's latest invoice date): recency_days, frequency, monetary, tenure_days,
  days_between_purchases, category_breadth, avg_basket; log1p (all are skewed counts or money), then
  standardised. One-time buyers have no gap between purchases: they read their tenure, at least the
  median gap of repeat buyers (they have waited at least that long).
- k: the best silhouette over ``k_min..k_max`` on a fixed-size seeded sample (clusters fitted on a
  larger sample), then one K-means on every customer with that k.
- Baseline: RFM quantile groups (the same k groups cut from a composite recency/frequency/monetary
  score), scored by silhouette on the same sample. Gate metric: silhouette (higher is better).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from retail_lake.models._data import TrainingData
from retail_lake.models._features import SEGMENTATION_FEATURES, segmentation_features
from retail_lake.models._types import Columns, TrainConfig, Trained

__all__ = ["ARCHETYPES", "name_clusters", "train_segmentation"]

# Archetype -> weights on the standardised features; clusters get the names whose profile they match
# best (one name per cluster, assigned jointly so the names are unique).
ARCHETYPES: dict[str, dict[str, float]] = {
    "Champions": {"recency_days": -1.0, "frequency": 1.0, "monetary": 1.0, "category_breadth": 0.5},
    "Loyal regulars": {"frequency": 1.0, "tenure_days": 1.0, "days_between_purchases": -0.5, "recency_days": -0.3},
    "Big spenders": {"avg_basket": 1.0, "monetary": 0.7},
    "New customers": {"tenure_days": -1.0, "recency_days": -1.0},
    "At risk": {"recency_days": 1.0, "frequency": 0.7, "monetary": 0.7, "tenure_days": 0.3},
    "Lapsed one-timers": {
        "recency_days": 1.0,
        "frequency": -1.0,
        "days_between_purchases": 0.7,
        "category_breadth": -0.5,
    },
    "Small-basket shoppers": {"avg_basket": -1.0, "monetary": -0.7, "recency_days": -0.5},
    "Category explorers": {"category_breadth": 1.0, "frequency": 0.3},
    "Occasional shoppers": {"frequency": -0.5, "monetary": -0.3, "recency_days": -0.3, "tenure_days": 0.3},
}
MIN_CUSTOMERS = 10  # fewer than this: nothing to cluster, the baseline groups serve


def name_clusters(profiles: np.ndarray, features: tuple[str, ...] = SEGMENTATION_FEATURES) -> list[str]:
    """A unique name per cluster from its mean standardised features (rows of ``profiles``)."""
    from scipy.optimize import linear_sum_assignment

    k = profiles.shape[0]
    if k == 1:
        return ["All customers"]
    names = list(ARCHETYPES)
    templates = np.array([[ARCHETYPES[n].get(f, 0.0) for f in features] for n in names])
    templates /= np.linalg.norm(templates, axis=1, keepdims=True)
    score = profiles @ templates.T  # k x archetypes
    rows, cols = linear_sum_assignment(-score)
    out = [f"Segment {i + 1}" for i in range(k)]
    for r, c in zip(rows, cols, strict=True):
        out[r] = names[c]
    return out


class _Prepared:
    """Raw features, their model matrix and the transform that made it (stored with the model)."""

    def __init__(
        self,
        raw: dict[str, np.ndarray],
        median_gap: float | None = None,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> None:
        self.raw = raw
        between = raw["days_between_purchases"]
        repeat_gaps = between[np.isfinite(between)]
        if median_gap is None:
            median_gap = float(np.median(repeat_gaps)) if repeat_gaps.size else 30.0
        self.median_gap = median_gap
        filled = np.where(np.isfinite(between), between, np.maximum(raw["tenure_days"], median_gap))
        cols = [filled if f == "days_between_purchases" else raw[f] for f in SEGMENTATION_FEATURES]
        logged = np.log1p(np.maximum(np.column_stack(cols).astype(float), 0.0))
        self.mean = logged.mean(axis=0) if mean is None else mean
        if scale is None:
            scale = logged.std(axis=0)
            scale = np.where(scale > 1e-9, scale, 1.0)
        self.scale = scale
        self.matrix = (logged - self.mean) / self.scale

    def transform_params(self) -> dict[str, Any]:
        return {"median_gap": self.median_gap, "mean": self.mean.tolist(), "scale": self.scale.tolist()}


def _silhouette(matrix: np.ndarray, labels: np.ndarray) -> float | None:
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return None
    return float(silhouette_score(matrix, labels))


def _quantile_groups(matrix: np.ndarray, k: int) -> np.ndarray:
    """The baseline: k groups cut from the composite RFM score (recent, frequent, high spend = high)."""
    idx = {f: i for i, f in enumerate(SEGMENTATION_FEATURES)}
    score = (-matrix[:, idx["recency_days"]] + matrix[:, idx["frequency"]] + matrix[:, idx["monetary"]]) / 3
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    return np.minimum((ranks * k) // max(len(score), 1), k - 1).astype(np.int64)


def _ordered(labels: np.ndarray, monetary: np.ndarray, k: int) -> tuple[np.ndarray, list[int]]:
    """Relabel clusters so 0 has the highest mean monetary value (stable, readable numbering)."""
    means = [float(monetary[labels == c].mean()) if np.any(labels == c) else -np.inf for c in range(k)]
    order = sorted(range(k), key=lambda c: (-means[c], c))
    mapping = np.empty(k, dtype=np.int64)
    mapping[order] = np.arange(k)
    return mapping[labels], order


def _table(raw: dict[str, np.ndarray], labels: np.ndarray, names: list[str], distance: np.ndarray | None) -> Columns:
    return {
        "customer_id": raw["customer_id"],
        "cluster": labels.astype(np.int32),
        "segment_name": np.array([names[c] for c in labels], dtype=object),
        **{f: raw[f] for f in SEGMENTATION_FEATURES},
        "distance_to_center": distance if distance is not None else np.full(len(labels), np.nan),
    }


def _profiles(matrix: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return np.array(
        [matrix[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(matrix.shape[1]) for c in range(k)]
    )


def train_segmentation(data: TrainingData, cfg: TrainConfig, progress=None) -> Trained:
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    say = progress or (lambda _m: None)
    raw = segmentation_features(data.con, data.last_date)
    prepared = _Prepared(raw)
    matrix = prepared.matrix
    n = matrix.shape[0]
    rng = np.random.default_rng(cfg.seed)
    sample = np.sort(rng.choice(n, size=min(n, cfg.silhouette_sample), replace=False))
    distinct = np.unique(np.round(matrix, 9), axis=0).shape[0]
    k_max = min(cfg.k_max, distinct - 1, n - 1)
    k_min = min(cfg.k_min, k_max)
    metrics: dict[str, Any] = {
        "customers": n,
        "distinct_profiles": int(distinct),
        "silhouette_sample": int(sample.size),
        "k_range": [cfg.k_min, cfg.k_max],
    }
    snapshot = {f: raw[f] for f in SEGMENTATION_FEATURES}

    def baseline_for(k: int) -> tuple[np.ndarray, float | None]:
        groups = _quantile_groups(matrix, k)
        return groups, _silhouette(matrix[sample], groups[sample])

    def baseline_rows(k: int) -> Columns:
        groups, _ = baseline_for(k)
        groups, _order = _ordered(groups, raw["monetary"], k)
        return _table(raw, groups, name_clusters(_profiles(matrix, groups, k)), None)

    if n < MIN_CUSTOMERS or k_max < 2:
        k = max(1, min(cfg.k_min, distinct, n))
        reason = f"too few customers to cluster ({n} customers, {distinct} distinct profiles; need {MIN_CUSTOMERS})"
        say(f"segmentation: {reason}")
        return Trained(
            model="segmentation",
            table="customer_segments_ml",
            metric_name="silhouette",
            higher_is_better=True,
            metric_value=None,
            baseline_name="rfm_quantiles",
            baseline_value=baseline_for(k)[1] if k > 1 else None,
            candidate_name="kmeans",
            unavailable=reason,
            metrics=metrics,
            windows={"reference_date": data.last_date},
            features=list(SEGMENTATION_FEATURES),
            feature_snapshot=snapshot,
            artefacts={},
            rows_trained=n,
            candidate_rows=None,
            baseline_rows=lambda: baseline_rows(k),
        )

    fit_idx = np.sort(rng.choice(n, size=min(n, cfg.cluster_fit_sample), replace=False))
    scores: dict[int, float | None] = {}
    for k in range(max(k_min, 2), k_max + 1):
        km = KMeans(n_clusters=k, n_init=3, random_state=cfg.seed).fit(matrix[fit_idx])
        scores[k] = _silhouette(matrix[sample], km.predict(matrix[sample]))
        say(f"segmentation: k={k} silhouette {scores[k]:.3f}" if scores[k] is not None else f"segmentation: k={k} -")
    valid = {k: s for k, s in scores.items() if s is not None}
    best_k = max(valid, key=lambda k: (valid[k], -k)) if valid else max(k_min, 2)
    kmeans = KMeans(n_clusters=best_k, n_init=4, random_state=cfg.seed).fit(matrix)
    labels, order = _ordered(kmeans.labels_, raw["monetary"], best_k)
    centers = kmeans.cluster_centers_[order]
    distance = np.linalg.norm(matrix - centers[labels], axis=1)
    silhouette = _silhouette(matrix[sample], labels[sample])
    names = name_clusters(_profiles(matrix, labels, best_k))
    metrics["profiles_z"] = {
        names[c]: dict(zip(SEGMENTATION_FEATURES, (round(float(v), 3) for v in row), strict=True))
        for c, row in enumerate(_profiles(matrix, labels, best_k))
    }
    _groups, base_silhouette = baseline_for(best_k)

    # Random Forest: learns the assignment from the raw (unscaled) features; accuracy on held-out customers.
    forest_idx = np.sort(rng.choice(n, size=min(n, cfg.forest_sample), replace=False))
    features_raw = np.column_stack([np.nan_to_num(raw[f], nan=-1.0) for f in SEGMENTATION_FEATURES])
    y = labels[forest_idx]
    counts = np.bincount(y, minlength=best_k)
    stratify = y if counts[counts > 0].min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        features_raw[forest_idx], y, test_size=0.2, random_state=cfg.seed, stratify=stratify
    )
    forest = RandomForestClassifier(
        n_estimators=cfg.forest_trees, max_depth=12, min_samples_leaf=3, random_state=cfg.seed, n_jobs=cfg.threads or -1
    ).fit(x_train, y_train)
    accuracy = float(forest.score(x_test, y_test)) if len(y_test) else None
    majority = float(np.bincount(y_test).max() / len(y_test)) if len(y_test) else None
    say(
        f"segmentation: k={best_k}, silhouette {silhouette:.3f} (baseline {base_silhouette or float('nan'):.3f}), "
        f"forest held-out accuracy {accuracy:.3f}"
        if accuracy is not None and silhouette is not None
        else f"segmentation: k={best_k}"
    )

    def mean(values: np.ndarray) -> float | None:
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else None  # days_between is NaN for one-time buyers

    profiles = {
        names[c]: {
            "cluster": c,
            "customers": int(np.sum(labels == c)),
            **{f: mean(raw[f][labels == c]) for f in SEGMENTATION_FEATURES},
        }
        for c in range(best_k)
    }
    metrics.update(
        {
            "k": best_k,
            "silhouette_by_k": {str(k): v for k, v in scores.items()},
            "silhouette": silhouette,
            "baseline_silhouette": base_silhouette,
            "forest": {
                "holdout_accuracy": accuracy,
                "majority_class_rate": majority,
                "trees": cfg.forest_trees,
                "train_customers": len(y_train),
                "test_customers": len(y_test),
                "feature_importance": dict(
                    zip(SEGMENTATION_FEATURES, (float(v) for v in forest.feature_importances_), strict=True)
                ),
            },
            "clusters": profiles,
        }
    )
    model = {
        "features": list(SEGMENTATION_FEATURES),
        "transform": prepared.transform_params(),
        "centers": centers,
        "names": names,
        "kmeans": kmeans,
        "order": order,
        "forest": forest,
    }
    buffer = io.BytesIO()
    import joblib

    joblib.dump(model, buffer, compress=3)
    table = _table(raw, labels, names, distance)

    def rescore(storage, prefix: str) -> Columns | None:
        return _rescore(storage, prefix, raw)

    return Trained(
        model="segmentation",
        table="customer_segments_ml",
        metric_name="silhouette",
        higher_is_better=True,
        metric_value=silhouette,
        baseline_name="rfm_quantiles",
        baseline_value=base_silhouette,
        candidate_name="kmeans",
        unavailable=None,
        metrics=metrics,
        windows={"reference_date": data.last_date},
        features=list(SEGMENTATION_FEATURES),
        feature_snapshot=snapshot,
        artefacts={"model.joblib": buffer.getvalue(), "model.json": _json_model(prepared, centers, names)},
        rows_trained=n,
        candidate_rows=lambda: table,
        baseline_rows=lambda: baseline_rows(best_k),
        rescore=rescore,
    )


def _json_model(prepared: _Prepared, centers: np.ndarray, names: list[str]) -> bytes:
    """The assignment rule as plain JSON (transform + centres): readable without unpickling anything."""
    import json

    doc = {
        "features": list(SEGMENTATION_FEATURES),
        "transform": prepared.transform_params(),
        "log1p": True,
        "centers": centers.tolist(),
        "names": names,
    }
    return json.dumps(doc, indent=1).encode()


def _rescore(storage, prefix: str, raw: dict[str, np.ndarray]) -> Columns | None:
    """Today's customers assigned by a saved version (its transform and centres from model.json)."""
    import json

    try:
        doc = json.loads(storage.read_bytes(prefix + "model.json"))
    except FileNotFoundError:
        return None
    if doc.get("features") != list(SEGMENTATION_FEATURES):
        return None
    t = doc["transform"]
    prepared = _Prepared(raw, median_gap=t["median_gap"], mean=np.asarray(t["mean"]), scale=np.asarray(t["scale"]))
    centers = np.asarray(doc["centers"])
    dist = np.linalg.norm(prepared.matrix[:, None, :] - centers[None, :, :], axis=2)
    labels = np.argmin(dist, axis=1)
    return _table(raw, labels, doc["names"], dist[np.arange(len(labels)), labels])
