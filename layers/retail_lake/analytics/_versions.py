"""Versioned analytics tables: each run writes a new folder, a small pointer object says which is current.

    analytics/<table>/run=<run_id>/part-0.parquet   one immutable version per run
    analytics/<table>/_current.json                 {"run_id", "key", "rows", ...}, replaced last

Readers follow the pointer, so they never see a half-written table; the version the pointer named
before stays until the next run, so a reader that read the old pointer can still finish.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_lake import schemas
from retail_lake.analytics._tables import RUNS_TABLE, TABLE_NAMES
from retail_lake.config import Settings
from retail_lake.lake import local_root, parquet_files, register_parquet, sql_literal
from retail_lake.storage import Storage

if TYPE_CHECKING:
    import duckdb

POINTER_NAME = "_current.json"
_RUN_FOLDER = re.compile(r"/run=([^/]+)/")


def table_prefix(table: str) -> str:
    return f"analytics/{table}/"


def version_key(table: str, run_id: str) -> str:
    return f"{table_prefix(table)}run={run_id}/part-0.parquet"


def read_pointer(storage: Storage, table: str) -> dict[str, Any] | None:
    key = table_prefix(table) + POINTER_NAME
    try:
        return json.loads(storage.read_bytes(key))
    except FileNotFoundError:
        return None
    except Exception as exc:  # S3: a botocore ClientError carrying NoSuchKey
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def swap_pointer(storage: Storage, table: str, run_id: str, key: str, rows: int) -> dict[str, Any] | None:
    """Make ``key`` the current version of ``table`` and drop versions older than the previous one.

    Returns the previous pointer (None on the first run).
    """
    previous = read_pointer(storage, table)
    pointer = {
        "table": table,
        "run_id": run_id,
        "key": key,
        "rows": rows,
        "written_at": datetime.now(UTC).isoformat(),
        "previous": {"run_id": previous["run_id"], "key": previous["key"]} if previous else None,
    }
    storage.write_bytes(table_prefix(table) + POINTER_NAME, json.dumps(pointer, indent=1).encode())
    keep = {run_id, previous["run_id"] if previous else None}
    stale = []
    for info in storage.list(table_prefix(table)):
        match = _RUN_FOLDER.search(info.key)
        # Only older runs: a concurrent newer run's folder is never touched.
        if match and match.group(1) not in keep and match.group(1) < run_id:
            stale.append(info.key)
    if stale:
        storage.delete(stale)
        _remove_empty_folders(storage, stale)
    return previous


def _remove_empty_folders(storage: Storage, deleted_keys: list[str]) -> None:
    """A local lake keeps folders after their files go; drop the emptied run= folders (S3 has none)."""
    for key in deleted_keys:
        path = storage.local_path(key)
        if path is not None:
            with contextlib.suppress(OSError):  # not empty (another file landed) or already gone
                path.parent.rmdir()


def _local_copy(storage: Storage, key: str, settings: Settings) -> Path:
    """The version's file on this machine; S3 versions are immutable, so a cached copy is reused."""
    direct = storage.local_path(key)
    if direct is not None:
        return direct
    lake_hash = hashlib.sha1(storage.uri.encode()).hexdigest()[:12]
    cached = settings.tmp_dir / "retail-lake-cache" / lake_hash / key
    if not cached.exists():
        storage.download(key, cached)
    return cached


def register_analytics(con: duckdb.DuckDBPyConnection, storage: Storage, settings: Settings | None = None) -> None:
    """Create a DuckDB view per analytics table (its current version) and `analytics_runs`.

    A table not computed yet is an empty view with its lake_schemas columns, so queries answer
    instead of failing. Imports nothing beyond duckdb/boto3/pyyaml (the API's cold start).
    """
    settings = settings or Settings.from_env()
    for table in TABLE_NAMES:
        spec = schemas.table(table)
        pointer = read_pointer(storage, table)
        if pointer is None:
            con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {spec.empty_select_sql()}')
            continue
        path = _local_copy(storage, pointer["key"], settings)
        if not path.exists():  # removed by two newer runs since the pointer was read: read it again
            pointer = read_pointer(storage, table) or pointer
            path = _local_copy(storage, pointer["key"], settings)
        cols = ", ".join(f'CAST("{c.name}" AS {c.duckdb_type}) AS "{c.name}"' for c in spec.columns)
        con.execute(f'CREATE OR REPLACE VIEW "{table}" AS SELECT {cols} FROM read_parquet({sql_literal(str(path))})')
    runs = parquet_files(local_root(storage, table_prefix(RUNS_TABLE), settings))
    register_parquet(con, RUNS_TABLE, runs, schemas.table(RUNS_TABLE), hive=False)
