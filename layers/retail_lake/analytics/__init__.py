"""Analytics: the business tables of DESIGN, one portable SQL file each, computed by a nightly job.

``run_analytics(lake)`` compacts the curated sales, computes every table (or a named subset) and
publishes each one atomically under ``analytics/<table>/``; ``register_analytics(con, storage)``
makes the current versions queryable in DuckDB (``retail_lake.query.connect`` calls it). Importing
this package costs duckdb/boto3/pyyaml only, so the API can use it on its cold-start path.
"""

from retail_lake.analytics._compact import CompactionReport, compact_sales
from retail_lake.analytics._engine import ENGINES, DuckDBEngine, Engine, SourceSnapshot, make_engine
from retail_lake.analytics._kpis import format_kpis, headline_kpis
from retail_lake.analytics._lock import AnalyticsBusyError, LakeLock
from retail_lake.analytics._runner import EmptyLakeError, TableRun, run_analytics
from retail_lake.analytics._sql import render_sql, typed_select
from retail_lake.analytics._tables import ANALYTICS_TABLES, RUNS_TABLE, TABLE_NAMES, resolve_tables
from retail_lake.analytics._versions import read_pointer, register_analytics

__all__ = [
    "ANALYTICS_TABLES",
    "ENGINES",
    "RUNS_TABLE",
    "TABLE_NAMES",
    "AnalyticsBusyError",
    "CompactionReport",
    "DuckDBEngine",
    "EmptyLakeError",
    "Engine",
    "LakeLock",
    "SourceSnapshot",
    "TableRun",
    "compact_sales",
    "format_kpis",
    "headline_kpis",
    "make_engine",
    "read_pointer",
    "register_analytics",
    "render_sql",
    "resolve_tables",
    "run_analytics",
    "typed_select",
]
