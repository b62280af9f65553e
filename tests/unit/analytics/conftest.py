"""Small hand-made lakes for the analytics tests.

``make_lake(tmp_path, rows)`` writes sales rows the way ingest does (one Parquet file per upload and
partition under curated/sales/year=YYYY/month=MM/, lake_schemas column types), so every test states
its input in a few lines and its right answer by hand.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from retail_lake import schemas
from retail_lake.analytics import run_analytics
from retail_lake.config import Settings
from retail_lake.query import connect
from retail_lake.storage import LocalStorage

_DEFAULTS: dict[str, Any] = {
    "gender": "Female",
    "age": 30,
    "category": "Clothing",
    "quantity": 1,
    "payment_method": "Cash",
    "shopping_mall": "Kanyon",
    "source": "test.csv",
    "upload_id": "upload-1",
    "uploaded_at": datetime(2024, 1, 1),
}
_row_numbers = itertools.count(1)


def sale(invoice_no: str, customer_id: str, invoice_date: str | date, price: float, **fields: Any) -> dict:
    """One sales line with sensible defaults; dates as 'YYYY-MM-DD'."""
    day = date.fromisoformat(invoice_date) if isinstance(invoice_date, str) else invoice_date
    row = {**_DEFAULTS, "invoice_no": invoice_no, "customer_id": customer_id, "invoice_date": day,
           "price": float(price), "row_number": next(_row_numbers)}
    row.update(fields)
    return row


def write_sales(lake: Path, rows: list[dict], file_name: str | None = None) -> list[Path]:
    """Write rows as one file per partition (named after the upload, like ingest) and return them."""
    spec = schemas.table("sales")
    by_partition: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for row in rows:
        by_partition[(row["invoice_date"].year, row["invoice_date"].month)].append(row)
    written = []
    con = duckdb.connect()
    try:
        for (year, month), part in sorted(by_partition.items()):
            con.execute("DROP TABLE IF EXISTS t")
            con.execute("CREATE TABLE t (" + ", ".join(f'"{c.name}" {c.duckdb_type}' for c in spec.columns) + ")")
            con.executemany(
                f"INSERT INTO t VALUES ({', '.join('?' for _ in spec.columns)})",
                [[r.get(c.name) for c in spec.columns] for r in part],
            )
            name = file_name or part[0]["upload_id"]
            path = lake / "curated" / "sales" / f"year={year}" / f"month={month:02d}" / f"{name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY t TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
            written.append(path)
    finally:
        con.close()
    return written


def make_lake(tmp_path: Path, rows: list[dict]) -> LocalStorage:
    """A local lake holding ``rows`` (grouped into files by their upload_id)."""
    lake = tmp_path / "lake"
    lake.mkdir(exist_ok=True)
    by_upload: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_upload[row["upload_id"]].append(row)
    for part in by_upload.values():
        write_sales(lake, part)
    return LocalStorage(lake)


@pytest.fixture(autouse=True)
def _sql_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo of compiled SQL (analytics/_compiled) in the session's temp folder, not the user's."""
    monkeypatch.setenv("ANALYTICS_SQL_CACHE", str(tmp_path_factory.getbasetemp() / "analytics-sql-cache"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a private temp folder (caches, spill, work files)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return Settings(lake=str(tmp_path / "lake"), tmp_dir=tmp, duckdb_threads=2)


def compute(tmp_path: Path, rows: list[dict], settings: Settings, tables: list[str] | None = None,
            **kwargs: Any) -> duckdb.DuckDBPyConnection:
    """Build a lake from rows, run the analytics, return a connection to the result."""
    storage = make_lake(tmp_path, rows)
    results = run_analytics(storage, tables, settings=settings, **kwargs)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    return connect(storage, settings)


def records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """Rows of a query as dicts."""
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
