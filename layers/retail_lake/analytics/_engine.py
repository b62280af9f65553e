"""Engines that run the analytics SQL: the embedded DuckDB one here, Athena later (ANALYTICS_ENGINE).

The runner owns everything engine-independent (order, pointer swap, cleanup, run log); an engine
only loads the sources and turns one finished SELECT into one Parquet object at a given key.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from retail_lake.config import Settings
from retail_lake.lake import new_duckdb, register_curated, sql_literal
from retail_lake.storage import Storage

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class SourceSnapshot:
    """What a run read: recorded with every table so a result can be traced to its input."""

    files: int
    digest: str
    rows: int
    max_uploaded_at: datetime | None
    max_invoice_date: date | None


class Engine(Protocol):
    name: str

    def load_sources(self) -> SourceSnapshot:
        """Make `sales` and `stores` queryable (once per run) and describe them."""
        ...

    def write_table(self, table: str, sql: str, key: str) -> int:
        """Run ``sql``, write the result as one zstd Parquet object at ``key``, keep it queryable
        under ``table`` for later tables of the run; return its row count."""
        ...

    def close(self) -> None: ...


class DuckDBEngine:
    """The embedded engine: `sales` is materialised once into a DuckDB table, every table's SQL
    runs against it, results are written to a local temp folder and uploaded through Storage."""

    name = "duckdb"

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        self.con: duckdb.DuckDBPyConnection = new_duckdb(settings)
        settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="retail-lake-analytics-", dir=settings.tmp_dir)

    def load_sources(self) -> SourceSnapshot:
        listed = [o for o in self.storage.list("curated/sales/") if o.key.endswith(".parquet")]
        register_curated(self.con, self.storage, self.settings)
        # Materialise once: every SQL file reads `sales`, and the view's window is the costly part.
        for name in ("sales", "stores"):
            self.con.execute(f"CREATE TABLE {name}_materialised AS SELECT * FROM {name}")
            self.con.execute(f"DROP VIEW {name}")
            self.con.execute(f"ALTER TABLE {name}_materialised RENAME TO {name}")
        per_upload = self.con.execute(
            "SELECT upload_id, COUNT(*) FROM sales_versions GROUP BY upload_id ORDER BY upload_id"
        ).fetchall()
        rows, max_uploaded_at, max_invoice_date = self.con.execute(
            "SELECT COUNT(*), MAX(uploaded_at), MAX(invoice_date) FROM sales"
        ).fetchone()
        digest = hashlib.sha256(repr(per_upload).encode()).hexdigest()[:16]
        return SourceSnapshot(len(listed), digest, rows, max_uploaded_at, max_invoice_date)

    def write_table(self, table: str, sql: str, key: str) -> int:
        self.con.execute(f'CREATE OR REPLACE TABLE "{table}" AS {sql}')
        out = Path(self._tmp.name) / table / "part-0.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(f'COPY "{table}" TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)')
        rows = self.con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        self.storage.upload(out, key)
        out.unlink()
        return int(rows)

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()


ENGINES: dict[str, type] = {"duckdb": DuckDBEngine}


def make_engine(name: str, storage: Storage, settings: Settings) -> Engine:
    """The engine ANALYTICS_ENGINE names (``duckdb`` unless configured).

    ``athena`` is imported here, not at module level, so its sqlglot import costs nothing otherwise.
    """
    if name == "athena":
        from retail_lake.analytics._athena import AthenaEngine

        return AthenaEngine(storage, settings)
    try:
        engine_class = ENGINES[name]
    except KeyError:
        raise ValueError(
            f"ANALYTICS_ENGINE={name!r} is not available (available: {', '.join(sorted([*ENGINES, 'athena']))})"
        ) from None
    return engine_class(storage, settings)
