"""run_analytics: compact the curated sales, then compute every analytics table in order.

Each table is written as a new version and published by swapping its pointer (see _versions), and
one row per table goes to analytics_runs. A table that fails leaves its previous version current;
tables that read it are skipped; the others still run.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from retail_lake import schemas
from retail_lake.analytics._compact import CompactionReport, compact_sales
from retail_lake.analytics._engine import Engine, SourceSnapshot, make_engine
from retail_lake.analytics._lock import LakeLock
from retail_lake.analytics._sql import render_sql, typed_select
from retail_lake.analytics._tables import RUNS_TABLE, dependencies, resolve_tables
from retail_lake.analytics._versions import swap_pointer, table_prefix, version_key
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, sql_literal, sql_value
from retail_lake.storage import Storage, open_storage
from retail_lake.versions import new_run_id

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


class EmptyLakeError(RuntimeError):
    """The lake has no sales yet: there is nothing to compute (not a failure of the job)."""


@dataclass(frozen=True)
class TableRun:
    """The outcome of one table in one run (also the row written to analytics_runs)."""

    table: str
    status: str  # 'succeeded' | 'failed' | 'skipped'
    rows: int | None
    duration_ms: int
    run_id: str
    started_at: datetime
    finished_at: datetime
    version_key: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def run_analytics(
    lake: str | Storage,
    tables: list[str] | None = None,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
    reference_date: date | None = None,
    compact: bool = True,
) -> list[TableRun]:
    """Compute the analytics tables (all, or ``tables`` plus the tables they read) from the lake.

    ``reference_date`` overrides the date recency is measured from (default: latest invoice date).
    Raises EmptyLakeError when the lake has no sales, AnalyticsBusyError when another run holds the
    lock, ValueError for an unknown table name. Per-table failures are reported, not raised.
    """
    settings = settings or Settings.from_env()
    storage = open_storage(lake) if isinstance(lake, str) else lake
    say = progress or (lambda line: None)
    names = resolve_tables(tables)
    run_id = new_run_id()
    with LakeLock(storage, settings.analytics_lock_stale_seconds):
        if compact:
            report: CompactionReport = compact_sales(storage, settings)
            say(report.summary())
        engine = make_engine(settings.analytics_engine, storage, settings)
        try:
            snapshot = engine.load_sources()
            if snapshot.rows == 0:
                raise EmptyLakeError(
                    f"the lake {storage.uri} has no sales yet: ingest a file first "
                    f"(retail-lake ingest FILE --lake {storage.uri}); no analytics table was written"
                )
            say(f"sources: {snapshot.rows} sales lines from {snapshot.files} files (snapshot {snapshot.digest})")
            results = _run_tables(engine, storage, names, run_id, reference_date, say)
        finally:
            engine.close()
        _append_run_log(storage, settings, results, engine.name, snapshot, reference_date)
    return results


def _run_tables(engine: Engine, storage: Storage, names: list[str], run_id: str,
                reference_date: date | None, say: Progress) -> list[TableRun]:
    results: list[TableRun] = []
    failed: set[str] = set()
    for position, table in enumerate(names, 1):
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()
        blocked = [dep for dep in dependencies(table) if dep in failed]
        rows: int | None = None
        key: str | None = None
        message: str | None = None
        if blocked:
            status, message = "skipped", f"not computed: {', '.join(blocked)} failed in this run"
        else:
            try:
                key = version_key(table, run_id)
                rows = engine.write_table(table, typed_select(table, render_sql(table, reference_date)), key)
                swap_pointer(storage, table, run_id, key, rows)
                status = "succeeded"
            except Exception as exc:  # one table's failure must not stop the others
                logger.exception("analytics table %s failed", table)
                status, message, rows = "failed", f"{type(exc).__name__}: {exc}", None
        if status != "succeeded":
            failed.add(table)
        seconds = time.perf_counter() - t0
        result = TableRun(table, status, rows, int(seconds * 1000), run_id, started_at, datetime.now(UTC),
                          key if status == "succeeded" else None, message)
        results.append(result)
        detail = f"{rows} rows" if result.ok else f"{status.upper()}: {message}"
        say(f"[{position}/{len(names)}] {table}: {detail} in {seconds:.2f}s")
    return results


def _append_run_log(storage: Storage, settings: Settings, results: list[TableRun], engine_name: str,
                    snapshot: SourceSnapshot, reference_date: date | None) -> None:
    """One Parquet file per run under analytics/analytics_runs/ (append-only, never rewritten)."""
    if not results:
        return
    spec = schemas.table(RUNS_TABLE)
    effective_reference = reference_date or snapshot.max_invoice_date
    rows = [
        {
            "run_id": r.run_id, "table_name": r.table, "status": r.status, "rows": r.rows,
            "duration_ms": r.duration_ms, "started_at": r.started_at.replace(tzinfo=None),
            "finished_at": r.finished_at.replace(tzinfo=None), "engine": engine_name,
            "version_key": r.version_key, "reference_date": effective_reference,
            "source_files": snapshot.files, "source_snapshot": snapshot.digest, "source_rows": snapshot.rows,
            "source_max_uploaded_at": snapshot.max_uploaded_at, "message": r.message,
        }
        for r in results
    ]
    columns = spec.column_names
    con = new_duckdb(settings)
    try:
        con.execute("CREATE TABLE runs (" + ", ".join(f'"{c.name}" {c.duckdb_type}' for c in spec.columns) + ")")
        # Literals, not executemany: DuckDB's executemany imports pandas to inspect its parameters
        # (half a second of every run).
        con.execute("INSERT INTO runs VALUES " + ", ".join(
            "(" + ", ".join(sql_value(row[c]) for c in columns) + ")" for row in rows))
        with tempfile.TemporaryDirectory(prefix="retail-lake-runs-", dir=settings.tmp_dir) as tmp:
            out = Path(tmp) / "runs.parquet"
            con.execute(f"COPY runs TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
            storage.upload(out, f"{table_prefix(RUNS_TABLE)}{results[0].run_id}.parquet")
    finally:
        con.close()
