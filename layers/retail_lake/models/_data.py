"""The training data: the lake's sales read once through ``query.connect`` into a DuckDB table.

Every model reads its features from the same materialised ``lines`` table with SQL and gets numpy
arrays back (``fetchnumpy``), so the `sales` view (latest upload per invoice) is resolved once per
run, and every model of a run sees the same snapshot of the lake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from retail_lake.config import Settings
from retail_lake.layout import SALES_PREFIX
from retail_lake.query import connect
from retail_lake.storage import Storage

if TYPE_CHECKING:
    import duckdb
    import numpy as np

__all__ = ["EmptyLakeError", "TrainingData", "fetch_arrays", "load_training_data"]


class EmptyLakeError(LookupError):
    """The lake has no sales to learn from."""


@dataclass
class TrainingData:
    """A DuckDB connection holding ``lines`` (one row per sales line) and what was read."""

    con: duckdb.DuckDBPyConnection
    snapshot_id: str
    rows: int
    customers: int
    first_date: date
    last_date: date
    source_files: int

    @property
    def history_days(self) -> int:
        return (self.last_date - self.first_date).days

    def describe(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "rows": self.rows,
            "customers": self.customers,
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            "source_files": self.source_files,
        }


def snapshot_id(storage: Storage) -> tuple[str, int]:
    """sha256 (first 16 hex) of the curated sales keys and ETags: the same files give the same id."""
    listing = sorted((o.key, o.etag or str(o.size)) for o in storage.list(SALES_PREFIX) if o.key.endswith(".parquet"))
    return hashlib.sha256(repr(listing).encode()).hexdigest()[:16], len(listing)


def load_training_data(storage: Storage, settings: Settings) -> TrainingData:
    """Materialise the sales lines a model needs; EmptyLakeError when there are none.

    Money is DECIMAL here so every sum is exact: a DOUBLE sum depends on the order threads add rows
    in, and a last-bit difference was enough to move an optimiser and make two runs on the same lake
    disagree.
    """
    snapshot, files = snapshot_id(storage)
    con = connect(storage, settings, tables=["sales"])
    con.execute("""
        CREATE TEMP TABLE lines AS
        SELECT customer_id, invoice_no, invoice_date AS day, CAST(price AS DECIMAL(18, 2)) AS price,
               category, shopping_mall AS store, age, gender
        FROM sales
        WHERE customer_id IS NOT NULL AND invoice_date IS NOT NULL AND price IS NOT NULL
    """)
    rows, customers, first, last = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), min(day), max(day) FROM lines"
    ).fetchone()
    if not rows:
        con.close()
        raise EmptyLakeError("the lake has no sales yet: ingest a sales file first (retail-lake ingest FILE)")
    return TrainingData(con, snapshot, int(rows), int(customers), first, last, files)


def fetch_arrays(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> dict[str, np.ndarray]:
    """A query's columns as plain numpy arrays (NULL -> NaN for numbers, None for text)."""
    import numpy as np

    raw = con.execute(sql, params or []).fetchnumpy()
    out: dict[str, np.ndarray] = {}
    for name, values in raw.items():
        if isinstance(values, np.ma.MaskedArray):
            if values.dtype.kind in "fiub":
                values = values.astype(float).filled(np.nan)
            else:
                values = values.filled(None) if values.dtype.kind == "O" else values.data
        out[name] = np.asarray(values)
    return out
