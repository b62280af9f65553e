"""Engines that run the analytics SQL: the embedded DuckDB one here, Athena later (ANALYTICS_ENGINE).

The runner owns everything engine-independent (order, pointer swap, cleanup, run log); an engine
only loads the sources and turns one finished SELECT into one Parquet object at a given key.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from retail_lake.analytics._sql import render_shared, shared_ctes
from retail_lake.config import Settings
from retail_lake.lake import new_duckdb, read_sql, register_curated, sql_literal
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


# The columns of `sales` the analytics SQL reads. The engine reads only these (lineage and
# partition columns stay in the lake).
ANALYTICS_COLUMNS = (
    "invoice_no", "customer_id", "gender", "age", "category", "quantity", "price", "payment_method",
    "invoice_date", "shopping_mall", "discount", "unit_cost",
)
MONEY_COLUMNS = frozenset({"price", "discount", "unit_cost"})
# Without DUCKDB_MEMORY_LIMIT: the aggregations of 10M lines fit below it, and beyond it DuckDB
# spills to the temp folder instead of growing (the bench's target is a 2 GB peak).
DEFAULT_MEMORY_LIMIT = "1400MB"


# The per-invoice aggregation of sql/_shared/invoices.sql and, for lakes where every invoice is a
# single line, the same relation without the grouping (DuckDB engine only; see _shared_sql).
_PER_INVOICE = re.compile(r"per_invoice AS \(\s*SELECT.*?GROUP BY s\.invoice_no\s*\)", re.DOTALL)
_SINGLE_LINE_PER_INVOICE = """per_invoice AS (
    SELECT
        k.customer_key AS customer_key,
        s.invoice_date AS invoice_date,
        s.shopping_mall AS store,
        s.payment_method AS payment_method,
        s.gender AS gender,
        s.age AS age,
        s.price AS revenue,
        s.quantity AS units,
        1 AS lines
    FROM sales s
    LEFT JOIN customer_keys k ON k.customer_id = s.customer_id
)"""


class DuckDBEngine:
    """The embedded engine: `sales` is a view over the curated Parquet files (or, when some invoice
    has several rows, a table resolved once), every table's SQL runs against it, results are
    written to a local temp folder and uploaded through Storage."""

    name = "duckdb"

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="retail-lake-analytics-", dir=settings.tmp_dir)
        # A database file in the run's temp folder, not ':memory:': DuckDB stores its tables
        # compressed (10M lines of `sales`: ~170 MB instead of ~1.2 GB in memory), so the memory
        # limit is left to the aggregations instead of spilling them.
        self.con: duckdb.DuckDBPyConnection = new_duckdb(
            settings, str(Path(self._tmp.name) / "run.duckdb"), memory_limit=DEFAULT_MEMORY_LIMIT
        )
        self._shared: dict[str, str] = {}  # rendered shared CTE -> the table holding its rows
        self._single_line = False  # set by load_sources: no invoice has several rows
        # Row order of sources and intermediates does not matter (every result has an ORDER BY, and
        # write_table keeps it); not keeping it lets DuckDB load and aggregate in parallel with less
        # memory.
        self.con.execute("SET preserve_insertion_order = false")

    def load_sources(self) -> SourceSnapshot:
        listed = [o for o in self.storage.list("curated/sales/") if o.key.endswith(".parquet")]
        register_curated(self.con, self.storage, self.settings, tables=("sales_versions", "stores"))
        self._materialise_sales()
        if self._single_line:  # every invoice is one line: no multi-line invoices to compute
            empty = next(c for c in shared_ctes() if c.name == "multi_line_invoices")
            self.con.execute("CREATE TABLE shared_multi_line_invoices (invoice_no VARCHAR)")
            self._shared[empty.text] = "shared_multi_line_invoices"
        self.con.execute("CREATE TABLE stores_materialised AS SELECT * FROM stores")
        self.con.execute("DROP VIEW stores")
        self.con.execute("ALTER TABLE stores_materialised RENAME TO stores")
        per_upload = self.con.execute(
            "SELECT upload_id, COUNT(*), MAX(uploaded_at) FROM sales_versions GROUP BY upload_id ORDER BY upload_id"
        ).fetchall()
        rows, max_invoice_date = self.con.execute("SELECT COUNT(*), MAX(invoice_date) FROM sales").fetchone()
        # The latest upload wins all of its invoices, so the newest upload time of the versions is
        # the newest one in `sales` (digest: what was read, per upload).
        max_uploaded_at = max((u[2] for u in per_upload if u[2] is not None), default=None) if rows else None
        digest = hashlib.sha256(repr([u[:2] for u in per_upload]).encode()).hexdigest()[:16]
        return SourceSnapshot(len(listed), digest, rows, max_uploaded_at, max_invoice_date)

    def _materialise_sales(self) -> None:
        """`sales` resolved exactly like the view, without its cost where it is moot.

        The view ranks every row of sales_versions by invoice_no (two window functions: a sort of
        all rows). Its result for an invoice depends only on that invoice's rows, and an invoice
        with a single row in sales_versions always wins as it is. So only invoices with several
        rows (multi-line invoices, re-uploads, redelivered copies) go through the view's SQL.
        When there are none (a compacted lake of one-line invoices), `sales` is a plain view of the
        needed columns over the curated Parquet files: nothing is copied, and every invoice is one
        line, so `multi_line_invoices` is empty and `invoices` needs no grouping (_shared_sql).
        Otherwise `sales` is a table: the other rows copied straight, those invoices resolved.
        """
        # Money as DECIMAL: sums are exact and so the same in every run, whatever order the
        # threads add them in (DOUBLE sums drift in the last bit and move customers across RFM
        # quintile edges between runs). Outputs are cast back to lake_schemas types.
        cols = ", ".join(
            f'CAST("{c}" AS DECIMAL(18, 4)) AS "{c}"' if c in MONEY_COLUMNS else f'"{c}"' for c in ANALYTICS_COLUMNS
        )
        # The invoice numbers with several rows: grouped first on their 64-bit hash (an integer
        # grouping, far cheaper than one of 10M strings), then exactly, on the strings of the
        # candidate rows only (equal numbers have equal hashes; a collision only adds a candidate).
        self.con.execute(
            "CREATE TEMP TABLE multi_row_invoices AS "
            "SELECT invoice_no FROM sales_versions WHERE hash(invoice_no) IN ("
            "SELECT h FROM (SELECT hash(invoice_no) AS h FROM sales_versions) AS hashed "
            "GROUP BY h HAVING COUNT(*) > 1) "
            "GROUP BY invoice_no HAVING COUNT(*) > 1"
        )
        several = self.con.execute("SELECT COUNT(*) FROM multi_row_invoices").fetchone()[0]
        self.con.execute("DROP VIEW sales")
        if not several:
            self.con.execute(f"CREATE VIEW sales AS SELECT {cols} FROM sales_versions")
            self._single_line = True
        else:
            self.con.execute(
                "CREATE TEMP VIEW sales_versions_multi AS SELECT * FROM sales_versions "
                "WHERE invoice_no IN (SELECT invoice_no FROM multi_row_invoices)"
            )
            view = re.sub(r"\bsales_versions\b", "sales_versions_multi", read_sql("views/sales.sql"))
            self.con.execute(
                f"CREATE TABLE sales AS "
                f"SELECT {cols} FROM sales_versions "
                f"WHERE invoice_no NOT IN (SELECT invoice_no FROM multi_row_invoices) "
                f"UNION ALL SELECT {cols} FROM ({view}) AS resolved"
            )
            self.con.execute("DROP VIEW sales_versions_multi")
        self.con.execute("DROP TABLE multi_row_invoices")

    def _shared_sql(self, name: str, sql: str) -> str:
        """The statement computing a shared intermediate. With one-line invoices only, `invoices`
        takes each line as its invoice (an aggregate over one row is that row's value), cast to
        the column types of the grouped statement: the same rows with the same types."""
        if name != "invoices" or not self._single_line:
            return sql
        single, count = _PER_INVOICE.subn(lambda _: _SINGLE_LINE_PER_INVOICE, sql)
        if count != 1:
            raise RuntimeError("sql/_shared/invoices.sql: per_invoice CTE not found for the one-line path")
        types = self.con.execute(f"DESCRIBE {sql}").fetchall()
        cast = ", ".join(f'CAST(one_line."{c[0]}" AS {c[1]}) AS "{c[0]}"' for c in types)
        return f"SELECT {cast} FROM ({single}) AS one_line"

    def write_table(self, table: str, sql: str, key: str) -> int:
        sql = self._use_shared(sql)
        # The result keeps its ORDER BY in the stored table and so in the Parquet file.
        self.con.execute("SET preserve_insertion_order = true")
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{table}" AS {sql}')
        finally:
            self.con.execute("SET preserve_insertion_order = false")
        out = Path(self._tmp.name) / table / "part-0.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f'COPY "{table}" TO {sql_literal(str(out))} '
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"
        )
        rows = self.con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        self.storage.upload(out, key)
        out.unlink()
        return int(rows)

    def _use_shared(self, sql: str, before: str | None = None) -> str:
        """Compute each shared intermediate CTE (see _sql.shared_ctes) once per run.

        A statement carries the intermediates it reads as CTEs, so it stays self-contained for
        Athena. Here a CTE whose exact text was seen before reads the table holding its rows (same
        text over the same sources: same rows), so several tables share one aggregation. The
        intermediates are computed in dependency order, each reading the tables of the earlier ones
        (``before``: only those earlier than this one). They are tables of the run's database file,
        stored compressed like `sales`, not temp tables held in memory.
        """
        for cte in shared_ctes():
            if cte.name == before:
                break
            if cte.text not in sql:
                continue
            held = self._shared.get(cte.text)
            if held is None:
                held = f"shared_{cte.name}"
                rendered = self._use_shared(render_shared(cte.name), before=cte.name)
                self.con.execute(f"CREATE OR REPLACE TABLE {held} AS {self._shared_sql(cte.name, rendered)}")
                self._shared[cte.text] = held
            sql = sql.replace(cte.text, f"{cte.name} AS (SELECT * FROM {held})")
        return sql

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
