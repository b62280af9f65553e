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

from retail_lake.analytics import _compiled
from retail_lake.analytics._sql import SHARED_RELATIONS, render_shared, shared_body
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, read_sql, sql_literal
from retail_lake.layout import SALES_PREFIX
from retail_lake.mirror import reads_s3_directly
from retail_lake.storage import Storage
from retail_lake.views import register_curated

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
# Money is read as DECIMAL(18, 4): values below 10^14 in size.
MONEY_SUM_BOUND = 10**14
# Dimension columns with a few distinct values. In a lake of one-line invoices `sales` reads them as
# ENUMs made of the values present (see _dictionary_types); beyond this many values, as text.
DICTIONARY_COLUMNS = ("gender", "category", "payment_method", "shopping_mall")
DICTIONARY_MAX_VALUES = 1000
# Without DUCKDB_MEMORY_LIMIT: the aggregations of 10M lines fit below it, and beyond it DuckDB
# spills to the temp folder instead of growing (the bench's target is a 2 GB peak).
DEFAULT_MEMORY_LIMIT = "1400MB"


def _source_columns(types: dict[str, str] | None = None) -> str:
    """The select list of `sales` for the engine: ANALYTICS_COLUMNS, money as DECIMAL(18, 4) and
    the columns in ``types`` cast to those types (the dictionary ENUMs).

    Money as DECIMAL: sums are exact and so the same in every run, whatever order the threads add
    them in (DOUBLE sums drift in the last bit and move customers across RFM quintile edges between
    runs). Outputs are cast back to lake_schemas types.
    """
    types = dict(types or {}) | {c: "DECIMAL(18, 4)" for c in MONEY_COLUMNS}
    return ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' if c in types else f'"{c}"' for c in ANALYTICS_COLUMNS)


class DuckDBEngine:
    """The embedded engine: `sales` is a view over the curated Parquet files (or, when some invoice
    has several rows, a table resolved once), every table's SQL runs against it, shared
    intermediates and results are written as Parquet files to the run's temp folder (results are
    then uploaded through Storage)."""

    name = "duckdb"

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings
        settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="retail-lake-analytics-", dir=settings.tmp_dir)
        # A database file in the run's temp folder, not ':memory:': when `sales` has to be resolved
        # into a table, DuckDB stores it compressed (10M lines: ~170 MB instead of ~1.2 GB in
        # memory), so the memory limit is left to the aggregations; so is `sale_lines`
        # (_materialise_shared). The other intermediates and the results are Parquet files beside
        # it (_parquet_relation).
        self.con: duckdb.DuckDBPyConnection = new_duckdb(
            settings, str(Path(self._tmp.name) / "run.duckdb"), memory_limit=DEFAULT_MEMORY_LIMIT
        )
        # The optimisations applied to every statement (ANALYTICS_REWRITES, see _rewrites) and what
        # they know of this run: the shared intermediates held so far, the bound of the customer keys.
        # Through the memo of compiled SQL (_compiled): sqlglot is imported and run only for what
        # an earlier run did not compile with exactly the same inputs.
        self._memo = _compiled.memo()
        self._rewrites = self._memo.enabled_rewrites(settings.analytics_rewrites)
        self._facts = _compiled.RunFacts()
        self._single_line = False  # set by load_sources: no invoice has several rows
        # Row order of sources and intermediates does not matter (every result has an ORDER BY, and
        # write_table keeps it); not keeping it lets DuckDB load and aggregate in parallel with less
        # memory.
        self.con.execute("SET preserve_insertion_order = false")

    def load_sources(self) -> SourceSnapshot:
        listed = [o for o in self.storage.list(SALES_PREFIX) if o.key.endswith(".parquet")]
        if reads_s3_directly(self.storage, self.settings):
            # The run scans the curated files (s3:// URLs, httpfs) several times: keep their HTTP
            # metadata and Parquet footers for the run instead of a HEAD and a footer read per file
            # per scan. Safe here: the run reads the fixed list of objects registered below, and a
            # curated file is never rewritten with other bytes (uploads are named by their content).
            self.con.execute("SET enable_http_metadata_cache = true")
            self.con.execute("SET parquet_metadata_cache = true")
        register_curated(self.con, self.storage, self.settings, tables=("sales_versions", "stores"))
        self._materialise_sales()
        if self._single_line:  # every invoice is one line: no multi-line invoices to compute
            # Empty by its definition (the load check found no invoice with several rows): the
            # optimizer sees a constant empty relation, nothing is grouped or scanned for it.
            self.con.execute(
                "CREATE VIEW shared_multi_line_invoices AS SELECT CAST(NULL AS VARCHAR) AS invoice_no WHERE false"
            )
            self._hold("multi_line_invoices", "shared_multi_line_invoices")
            self._facts.one_line_invoices = True
        self.con.execute("CREATE TABLE stores_materialised AS SELECT * FROM stores")
        self.con.execute("DROP VIEW stores")
        self.con.execute("ALTER TABLE stores_materialised RENAME TO stores")
        per_upload = self.con.execute(
            "SELECT upload_id, COUNT(*), MAX(uploaded_at) FROM sales_versions GROUP BY upload_id ORDER BY upload_id"
        ).fetchall()
        rows, max_invoice_date, money = self.con.execute(
            "SELECT COUNT(*), MAX(invoice_date), SUM(ABS(price)) FROM sales"
        ).fetchone()
        # Every sum of prices over a set of lines is at most this in size (narrow_money_sums).
        self._facts.money_sums_fit = money is None or money < MONEY_SUM_BOUND
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
        line, so `multi_line_invoices` is empty and `invoices` is a view (_materialise_shared).
        Otherwise `sales` is a table: the other rows copied straight, those invoices resolved.
        """
        cols = _source_columns()
        # The invoice numbers with several rows. First a screen on their 64-bit hashes: sorted, no
        # hash equals the one before it, so no two rows share an invoice number (equal numbers
        # have equal hashes) - a sort of integers, far cheaper than grouping 10M strings. Only when
        # some hashes repeat are the rows of those hashes grouped exactly, on the strings (a hash
        # collision only adds a candidate).
        (repeated_hashes,) = self.con.execute(
            "SELECT COUNT(*) FROM (SELECT h, LAG(h) OVER (ORDER BY h) AS previous "
            "FROM (SELECT hash(invoice_no) AS h FROM sales_versions) AS hashed) AS sorted WHERE h = previous"
        ).fetchone()
        self.con.execute(
            "CREATE TEMP TABLE multi_row_invoices AS "
            "SELECT invoice_no FROM sales_versions WHERE hash(invoice_no) IN ("
            "SELECT h FROM (SELECT hash(invoice_no) AS h FROM sales_versions) AS hashed "
            "GROUP BY h HAVING COUNT(*) > 1) "
            "GROUP BY invoice_no HAVING COUNT(*) > 1"
            if repeated_hashes
            else "CREATE TEMP TABLE multi_row_invoices (invoice_no VARCHAR)"
        )
        several = self.con.execute("SELECT COUNT(*) FROM multi_row_invoices").fetchone()[0]
        self.con.execute("DROP VIEW sales")
        if not several:
            self.con.execute(
                f"CREATE VIEW sales AS SELECT {_source_columns(self._dictionary_types())} FROM sales_versions"
            )
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

    def _dictionary_types(self) -> dict[str, str]:
        """An ENUM type per dictionary column (DICTIONARY_COLUMNS), made of the values it holds.

        The values pass through `sale_lines` unchanged; an ENUM is one byte per line in the join
        that builds it, and DuckDB writes it to Parquet straight from its dictionary (10M lines x
        4 columns: ~0.5 s less than hashing every string again), and reads it back as text. One
        scan finds all the values; a column with none, or with too many, stays text.
        """
        values = self.con.execute(
            "SELECT " + ", ".join(f'list(DISTINCT "{c}") FILTER (WHERE "{c}" IS NOT NULL)' for c in DICTIONARY_COLUMNS)
            + " FROM sales_versions"
        ).fetchone()
        types: dict[str, str] = {}
        for column, present in zip(DICTIONARY_COLUMNS, values, strict=True):
            if not present or len(present) > DICTIONARY_MAX_VALUES:
                continue
            name = f"{column}_values"
            self.con.execute(f"CREATE TYPE {name} AS ENUM ({', '.join(sql_literal(v) for v in sorted(present))})")
            types[column] = name
        return types

    def _parquet_relation(self, name: str, sql: str, path: Path, *, ordered: bool = False) -> int:
        """Write ``sql``'s result to a local Parquet file and make ``name`` a view over it.

        Parquet, not a table of the run's database: writing it costs less than loading a DuckDB
        table (no checkpoint), reading it back is as fast, and it holds no memory between tables.
        ``ordered`` keeps the statement's ORDER BY in the file (a result table); intermediates are
        written in whatever order the threads finish.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        # Results are published: zstd, like the rest of the lake (level 1: the 2.2M-row tables
        # write ~20 % faster than at the default level, at about the same size). Intermediates
        # live for one run and are read by many tables: lz4 decodes faster.
        compression = "COMPRESSION zstd, COMPRESSION_LEVEL 1" if ordered else "COMPRESSION lz4_raw"
        if ordered:
            self.con.execute("SET preserve_insertion_order = true")
        try:
            (rows,) = self.con.execute(
                f"COPY ({sql}) TO {sql_literal(str(path))} "
                f"(FORMAT parquet, {compression}, ROW_GROUP_SIZE 122880)"
            ).fetchone()
        finally:
            if ordered:
                self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet({sql_literal(str(path))})')
        return int(rows)

    def write_table(self, table: str, sql: str, key: str) -> int:
        sql = self._prepare(sql)
        out = Path(self._tmp.name) / "tables" / table / "part-0.parquet"
        # The result keeps its ORDER BY in the Parquet file; later tables of the run read the file.
        rows = self._parquet_relation(table, sql, out, ordered=True)
        self.storage.upload(out, key)
        return rows

    def _materialise_shared(self, name: str, sql: str) -> str:
        """Compute one shared intermediate; return the relation that holds its rows."""
        held = f"shared_{name}"
        if name == "invoices" and self._single_line:
            # Every line is its own invoice: `invoices` is a projection of sale_lines (its grouped
            # part reads no rows), so a view costs nothing and copies nothing.
            self.con.execute(f"CREATE OR REPLACE VIEW {held} AS {sql}")
            return held
        if name == "sale_lines":
            # A table of the run's database, not Parquet: its readers group and join every line by
            # customer and store / category / payment method / gender, and a table keeps those
            # columns in the ENUM types `sales` reads them as (_dictionary_types: one byte, hashed
            # and compared as an integer), where a Parquet file gives them back as text to hash
            # again in every grouping. The file is in the run's temp folder and DuckDB writes the
            # table's row groups there compressed, so memory stays with the aggregations. Measured
            # at 2M lines (one thread): 0.25 s more to write, about 1 s less in the tables reading it.
            self.con.execute(f"CREATE OR REPLACE TABLE {held} AS {sql}")
            return held
        path = Path(self._tmp.name) / "shared" / f"{name}.parquet"
        rows = self._parquet_relation(held, sql, path)
        if name == "customer_keys":
            self._facts.customer_key_bound = _compiled.key_bound(rows)  # keys are 1..rows
        return held

    def _hold(self, name: str, relation: str) -> None:
        """Record that ``relation`` holds the rows of the shared intermediate ``name``."""
        self._facts.held[name] = relation
        self._facts.definitions[name] = shared_body(name)

    def _prepare(self, sql: str, before: str | None = None) -> str:
        """``sql`` with the enabled rewrites applied (see _rewrites).

        With ``shared_intermediates`` on, each shared intermediate the statement defines as a CTE is
        first computed once per run (in dependency order, each reading the relations of the earlier
        ones; ``before``: only those earlier than this one) into a Parquet file of the run's temp
        folder, so several tables share one aggregation. ``bitmap_distinct_customers`` needs the
        number of customers: customer_keys' rows, or one count when intermediates are not held.
        """
        if not self._rewrites:
            return sql
        if "shared_intermediates" in self._rewrites:
            defined = self._memo.ctes_defined(sql)
            for name in SHARED_RELATIONS:
                if name == before:
                    break
                if name in defined and name not in self._facts.held:
                    relation = self._materialise_shared(name, self._prepare(render_shared(name), before=name))
                    self._hold(name, relation)
        elif "bitmap_distinct_customers" in self._rewrites and not self._facts.customer_key_bound:
            (customers,) = self.con.execute(
                "SELECT COUNT(*) FROM (SELECT customer_id FROM sales GROUP BY customer_id) AS customers"
            ).fetchone()
            self._facts.customer_key_bound = _compiled.key_bound(customers)
        return self._memo.compiled(sql, self._rewrites, self._facts)

    def close(self) -> None:
        # The run's database file is deleted right after: no checkpoint of sale_lines into it.
        self.con.execute("PRAGMA disable_checkpoint_on_shutdown")
        self.con.close()
        self._tmp.cleanup()
        self._memo.save()


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
