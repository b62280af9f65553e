"""Small lakes for the training tests, built with the real ingest from CSV files written here.

``Line(...)`` is one sales line; ``make_lake(tmp_path, lines)`` writes them as a CSV in the reference
format (day/month/year dates) and ingests it with ``retail_lake.ingest.ingest_file``, so the models
read exactly what a user's upload would give them. Every test states its planted structure in code.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retail_lake.config import Settings
from retail_lake.ingest import ingest_file
from retail_lake.models import TrainConfig, train
from retail_lake.query import connect
from retail_lake.storage import LocalStorage

HEADER = (
    "invoice_no",
    "customer_id",
    "gender",
    "age",
    "category",
    "quantity",
    "price",
    "payment_method",
    "invoice_date",
    "shopping_mall",
)
_invoice_numbers = itertools.count(1)


@dataclass
class Line:
    customer_id: str
    day: date
    price: float
    store: str = "Kanyon"
    category: str = "Clothing"
    age: int = 35
    gender: str = "Female"
    quantity: int = 1
    invoice_no: str | None = None

    def row(self) -> list[Any]:
        invoice = self.invoice_no or f"T{next(_invoice_numbers):07d}"
        return [
            invoice,
            self.customer_id,
            self.gender,
            self.age,
            self.category,
            self.quantity,
            f"{self.price:.2f}",
            "Cash",
            f"{self.day.day}/{self.day.month}/{self.day.year}",
            self.store,
        ]


def write_csv(path: Path, lines: list[Line]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(line.row() for line in lines)
    return path


def make_lake(tmp_path: Path, lines: list[Line], settings: Settings, name: str = "sales.csv") -> LocalStorage:
    """Ingest ``lines`` into a fresh local lake (every line must be accepted)."""
    lake = tmp_path / "lake"
    lake.mkdir(exist_ok=True)
    result = ingest_file(write_csv(tmp_path / "upload" / name, lines), str(lake), settings=settings)
    assert result.ok and result.rows_quarantined == 0, result
    return LocalStorage(lake)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return Settings(lake=str(tmp_path / "lake"), tmp_dir=tmp, duckdb_threads=1)


def fast_config(**overrides: Any) -> TrainConfig:
    """Defaults, with samples small enough for unit tests (a fit takes well under a second)."""
    base = {"threads": 1, "forest_trees": 20, "clv_xgb_rounds": 120, "forecast_xgb_rounds": 100}
    return TrainConfig(**{**base, **overrides})


def run(storage: LocalStorage, settings: Settings, models: list[str], **config: Any):
    results = train(storage, models, settings=settings, config=fast_config(**config))
    assert all(r.ok for r in results), [(r.model, r.reason) for r in results]
    return {r.model: r for r in results}


def rows(storage: LocalStorage, settings: Settings, sql: str, tables: list[str]) -> list[dict[str, Any]]:
    con = connect(storage, settings, tables=tables)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def days(start: date, n: int, step: int = 1) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(n)]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)
