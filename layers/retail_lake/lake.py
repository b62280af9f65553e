"""The lake as DuckDB tables: ``connect(lake)`` answers SQL with DESIGN's table names.

Tables are views over the Parquet files (a local folder, or an S3 lake mirrored into a local cache
with boto3, because DuckDB's httpfs cannot be installed here). A table with no files yet is an
empty view with the schema from lake_schemas/, so queries on a new lake answer instead of failing.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake import schemas
from retail_lake.config import Settings
from retail_lake.storage import LocalStorage, Storage, open_storage

if TYPE_CHECKING:
    import duckdb

__all__ = ["CURATED_PREFIXES", "connect", "local_root", "new_duckdb", "parquet_files", "read_sql", "register_curated",
           "register_parquet", "sql_literal"]

# Table -> prefix of its Parquet files (relative to the lake root).
CURATED_PREFIXES = {
    "sales_versions": "curated/sales/",
    "stores": "curated/stores/",
    "quarantine_sales": "quarantine/sales/",
    "ingest_log": "audit/ingest_log/",
}


def read_sql(relative: str) -> str:
    """Text of a SQL file shipped in the package (``views/sales.sql``)."""
    return resources.files("retail_lake").joinpath("sql", relative).read_text(encoding="utf-8")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def new_duckdb(
    settings: Settings | None = None, database: str = ":memory:", *, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the memory limit, threads and spill folder from settings.

    ``memory_limit`` is the caller's default when settings do not set one: DuckDB spills to the temp
    folder beyond it, which is what keeps memory flat as files grow.
    """
    import duckdb

    settings = settings or Settings.from_env()
    con = duckdb.connect(database)
    # No progress bar drawn on the terminal by DuckDB itself: callers report progress their way.
    con.execute("SET enable_progress_bar = false")
    spill = settings.tmp_dir / "retail-lake-duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {sql_literal(str(spill))}")
    limit = settings.duckdb_memory_limit or memory_limit
    if limit:
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
    if settings.duckdb_threads:
        con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    return con


def local_root(storage: Storage, prefix: str, settings: Settings | None = None) -> Path:
    """A local folder holding the files under ``prefix``: the folder itself for a local lake,
    else a cache mirrored from S3 (only new or changed objects are downloaded)."""
    direct = storage.local_path(prefix)
    if direct is not None:
        return direct
    settings = settings or Settings.from_env()
    lake_hash = hashlib.sha1(storage.uri.encode()).hexdigest()[:12]
    cache = settings.tmp_dir / "retail-lake-cache" / lake_hash / prefix
    manifest_path = cache / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    remote = {o.key: o for o in storage.list(prefix)}
    for key, info in remote.items():
        rel = key[len(prefix) :]
        if manifest.get(rel) != info.etag or not (cache / rel).exists():
            storage.download(key, cache / rel)
            manifest[rel] = info.etag
    for rel in list(manifest):
        if prefix + rel not in remote:
            (cache / rel).unlink(missing_ok=True)
            del manifest[rel]
    cache.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest))
    return cache


def parquet_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.parquet") if not p.name.startswith(".tmp-"))


def register_parquet(con: duckdb.DuckDBPyConnection, name: str, files: list[str], spec: schemas.Table,
                      hive: bool) -> None:
    if not files:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {spec.empty_select_sql()}")
        return
    file_list = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    cols = ", ".join(f"CAST({c.name} AS {c.duckdb_type}) AS {c.name}" for c in spec.all_columns)
    hive_opts = ", hive_partitioning = true, hive_types_autocast = false" if hive else ""
    con.execute(
        f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} "
        f"FROM read_parquet({file_list}, union_by_name = true{hive_opts})"
    )


def register_curated(
    con: duckdb.DuckDBPyConnection,
    storage: Storage,
    settings: Settings | None = None,
    tables: tuple[str, ...] = tuple(CURATED_PREFIXES),
) -> None:
    """Create the curated views (sales_versions, sales, stores, quarantine_sales, ingest_log).

    ``tables`` limits which are registered, so a job that reads only sales and stores does not
    mirror the quarantine and audit files of an S3 lake.
    """
    for name in tables:
        prefix = CURATED_PREFIXES[name]
        spec = schemas.table("sales" if name == "sales_versions" else name)
        files = parquet_files(local_root(storage, prefix, settings))
        if name == "stores" and not files:
            default = resources.files("retail_lake").joinpath("reference", "stores_default.csv")
            header = default.read_text(encoding="utf-8").splitlines()[0].split(",")
            cols = ", ".join(
                f"CAST({c.name if c.name in header else 'NULL'} AS {c.duckdb_type}) AS {c.name}"
                for c in spec.columns
            )
            con.execute(
                f"CREATE OR REPLACE VIEW stores AS SELECT {cols} FROM read_csv({sql_literal(str(default))}, "
                "header = true, all_varchar = true)"
            )
            continue
        register_parquet(con, name, files, spec, hive=name == "sales_versions")
    if "sales_versions" in tables:
        con.execute(f"CREATE OR REPLACE VIEW sales AS {read_sql('views/sales.sql')}")


def connect(lake: str | Storage | None = None, settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where the lake's tables answer SQL by their DESIGN names."""
    settings = settings or Settings.from_env()
    storage = lake if lake is not None and not isinstance(lake, str) else open_storage(lake or settings.lake)
    con = new_duckdb(settings)
    register_curated(con, storage, settings)
    try:  # analytics tables arrive with the analytics package; absent until then
        from retail_lake.analytics import register_analytics
    except ImportError:
        pass
    else:
        register_analytics(con, storage, settings)
    return con


def is_local(storage: Storage) -> bool:
    return isinstance(storage, LocalStorage)
