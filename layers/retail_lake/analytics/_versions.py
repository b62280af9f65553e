"""Versioned analytics tables: the analytics job's view of ``retail_lake.versions``.

    analytics/<table>/run=<run_id>/part-0.parquet   one immutable version per run
    analytics/<table>/_current.json                 {"run_id", "key", "rows", ...}, replaced last

Publishing and pointer reading live in ``retail_lake.versions`` (training publishes the same way);
readers register tables through ``retail_lake.query``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retail_lake.analytics._tables import RUNS_TABLE, TABLE_NAMES
from retail_lake.config import Settings
from retail_lake.layout import version_key
from retail_lake.layout import versioned_prefix as table_prefix
from retail_lake.query import register_tables
from retail_lake.storage import Storage
from retail_lake.versions import read_pointer, swap_pointer

if TYPE_CHECKING:
    import duckdb

__all__ = ["read_pointer", "register_analytics", "swap_pointer", "table_prefix", "version_key"]


def register_analytics(con: duckdb.DuckDBPyConnection, storage: Storage, settings: Settings | None = None) -> None:
    """A DuckDB view per analytics table (its current version) and `analytics_runs`.

    A table not computed yet is an empty view with its lake_schemas columns, so queries answer
    instead of failing.
    """
    register_tables(con, storage, [*TABLE_NAMES, RUNS_TABLE], settings)
