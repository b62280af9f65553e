"""Analytics: the business tables of DESIGN, one portable SQL file each, computed by a nightly job.

``run_analytics(lake)`` compacts the curated sales, computes every table (or a named subset) and
publishes each one atomically under ``analytics/<table>/``; ``register_analytics(con, storage)``
makes the current versions queryable in DuckDB (``retail_lake.query.connect`` calls it). Importing
this package imports nothing: each name loads its module on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

# Name -> the module that defines it, imported on first use (PEP 562): `retail-lake ingest` builds
# its parser with ``retail_lake.analytics.cli`` and would otherwise import the whole engine.
_EXPORTS = {
    "CompactionReport": "_compact", "compact_sales": "_compact",
    "ENGINES": "_engine", "DuckDBEngine": "_engine", "Engine": "_engine", "SourceSnapshot": "_engine",
    "make_engine": "_engine",
    "format_kpis": "_kpis", "headline_kpis": "_kpis",
    "AnalyticsBusyError": "_lock", "LakeLock": "_lock",
    "EmptyLakeError": "_runner", "TableRun": "_runner", "run_analytics": "_runner",
    "render_sql": "_sql", "typed_select": "_sql",
    "ANALYTICS_TABLES": "_tables", "RUNS_TABLE": "_tables", "TABLE_NAMES": "_tables", "resolve_tables": "_tables",
    "read_pointer": "_versions", "register_analytics": "_versions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
