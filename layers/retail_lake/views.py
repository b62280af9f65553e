"""The curated tables as DuckDB views: sales_versions, sales, stores, quarantine_sales, ingest_log.

A table with no files yet is an empty view with its lake_schemas columns, so queries on a new lake
answer instead of failing; `stores` falls back to the shipped default mall list.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from retail_lake import schemas
from retail_lake.config import Settings
from retail_lake.duck import read_sql, register_parquet, sql_literal
from retail_lake.layout import CURATED_PREFIXES
from retail_lake.mirror import readable_files
from retail_lake.storage import Storage

if TYPE_CHECKING:
    import duckdb

__all__ = ["CURATED_TABLES", "register_curated", "register_default_stores", "sales_view_sql"]

# sales is the view over sales_versions (latest upload wins per invoice_no).
CURATED_TABLES: tuple[str, ...] = ("sales", *CURATED_PREFIXES)


def sales_view_sql() -> str:
    """The portable SQL of the `sales` view (the same text is the Athena view)."""
    return read_sql("views/sales.sql")


def register_default_stores(con: duckdb.DuckDBPyConnection) -> None:
    """`stores` from the shipped reference CSV (until a stores file is uploaded)."""
    spec = schemas.table("stores")
    default = resources.files("retail_lake").joinpath("reference", "stores_default.csv")
    header = set(default.read_text(encoding="utf-8").splitlines()[0].split(","))
    source = f"read_csv({sql_literal(str(default))}, header = true, all_varchar = true)"
    con.execute(f"CREATE OR REPLACE VIEW stores AS {spec.typed_select(source, present=header)}")


def register_curated(
    con: duckdb.DuckDBPyConnection,
    storage: Storage,
    settings: Settings | None = None,
    tables: tuple[str, ...] | list[str] = tuple(CURATED_PREFIXES),
) -> None:
    """Create the curated views named in ``tables`` (`sales` implies `sales_versions`).

    Only what is asked for is registered, so a job that reads only sales and stores does not mirror
    the quarantine and audit files of an S3 lake. On S3 with httpfs the views read the ``s3://``
    objects listed now (nothing is copied to the temp folder; see retail_lake.mirror).
    """
    wanted = set(tables)
    if "sales" in wanted:
        wanted.add("sales_versions")
    for name, prefix in CURATED_PREFIXES.items():
        if name not in wanted:
            continue
        spec = schemas.table("sales" if name == "sales_versions" else name)
        files = readable_files(con, storage, prefix, settings)
        if name == "stores" and not files:
            register_default_stores(con)
            continue
        register_parquet(con, name, files, spec, hive=name == "sales_versions")
    if "sales_versions" in wanted:
        con.execute(f"CREATE OR REPLACE VIEW sales AS {sales_view_sql()}")
