"""Segmentation: planted customer groups come back as clusters with names that fit their profiles."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from retail_lake.layout import model_prefix
from retail_lake.models._segmentation import name_clusters

from .conftest import Line, make_lake, rows, run

REFERENCE = date(2024, 6, 30)
CATEGORIES = ["Clothing", "Shoes", "Books", "Cosmetics", "Toys"]


def planted(rng: np.random.Generator) -> tuple[list[Line], dict[str, str]]:
    """Four groups of 25 customers, far apart in recency, frequency, spend and tenure."""
    lines: list[Line] = []
    group: dict[str, str] = {}
    for i in range(25):
        cid = f"A{i:03d}"  # champions: every two weeks for half a year, big baskets, many categories
        group[cid] = "champions"
        last = REFERENCE - timedelta(days=int(rng.integers(0, 5)))
        for k in range(12):
            lines.append(
                Line(cid, last - timedelta(days=14 * k), 600 * rng.uniform(0.9, 1.1), category=CATEGORIES[k % 5])
            )
        cid = f"B{i:03d}"  # lapsed one-timers: one small purchase well over a year ago
        group[cid] = "lapsed"
        lines.append(
            Line(
                cid,
                REFERENCE - timedelta(days=int(rng.integers(400, 500))),
                20 * rng.uniform(0.9, 1.1),
                category="Books",
            )
        )
        cid = f"C{i:03d}"  # new customers: one purchase in the last ten days
        group[cid] = "new"
        lines.append(Line(cid, REFERENCE - timedelta(days=int(rng.integers(0, 10))), 300 * rng.uniform(0.9, 1.1)))
        cid = f"D{i:03d}"  # big-ticket occasional: three technology purchases, the last five months ago
        group[cid] = "big"
        first = REFERENCE - timedelta(days=int(rng.integers(280, 320)))
        for k in range(3):
            lines.append(
                Line(
                    cid,
                    first + timedelta(days=60 * k),
                    2500 * rng.uniform(0.9, 1.1),
                    category="Technology",
                    store="Zorlu Center",
                )
            )
    return lines, group


def test_planted_groups_are_found_and_named(tmp_path: Path, settings, rng) -> None:
    lines, group = planted(rng)
    storage = make_lake(tmp_path, lines, settings)
    result = run(storage, settings, ["segmentation"], k_min=2, k_max=6)["segmentation"]
    assert result.promoted and result.metric_value > result.baseline_value

    table = rows(
        storage,
        settings,
        "SELECT customer_id, cluster, segment_name, frequency, days_between_purchases FROM customer_segments_ml",
        ["customer_segments_ml"],
    )
    assert len(table) == 100
    clusters: dict[str, set[int]] = {}
    for r in table:
        clusters.setdefault(group[r["customer_id"]], set()).add(r["cluster"])
    assert all(len(c) == 1 for c in clusters.values()), clusters  # each group is one cluster...
    assert len({next(iter(c)) for c in clusters.values()}) == 4  # ...and the four are different
    name = {group[r["customer_id"]]: r["segment_name"] for r in table}
    assert name["champions"] == "Champions"
    assert name["lapsed"] == "Lapsed one-timers"
    assert name["new"] == "New customers"
    assert len(set(name.values())) == 4
    one_timers = [r for r in table if r["frequency"] == 1]
    assert one_timers and all(r["days_between_purchases"] is None for r in one_timers)

    metrics = json.loads(
        (Path(storage.root) / model_prefix("segmentation", result.version) / "metrics.json").read_text()
    )
    assert metrics["metrics"]["k"] == 4
    forest = metrics["metrics"]["forest"]
    assert forest["holdout_accuracy"] >= 0.9 > forest["majority_class_rate"]
    assert metrics["metrics"]["silhouette_sample"] == 100
    assert set(metrics["features"]) >= {
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "days_between_purchases",
        "category_breadth",
        "avg_basket",
    }


def test_names_are_unique_even_for_similar_clusters() -> None:
    profiles = np.zeros((6, 7))
    profiles[:, 0] = np.linspace(-1, 1, 6)
    names = name_clusters(profiles)
    assert len(set(names)) == 6
    assert name_clusters(np.zeros((1, 7))) == ["All customers"]
