"""DuckDB connections and SQL text helpers shared by every job (ingest, analytics, readers).

Importing this module does not import duckdb: the API's cold start pays for DuckDB only when the
first connection is opened.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.config import Settings

if TYPE_CHECKING:
    import duckdb

    from retail_lake import schemas

__all__ = ["new_duckdb", "parquet_files", "read_sql", "register_parquet", "sql_identifier", "sql_literal"]


def sql_literal(value: str) -> str:
    """A SQL string literal ('it''s')."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier ("rank")."""
    return '"' + name.replace('"', '""') + '"'


def read_sql(relative: str) -> str:
    """Text of a SQL file shipped in the package (``views/sales.sql``)."""
    return resources.files("retail_lake").joinpath("sql", relative).read_text(encoding="utf-8")


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


def parquet_files(root: Path) -> list[str]:
    """The Parquet files under a local folder (sorted; temp files of a writer in progress excluded)."""
    return sorted(str(p) for p in root.rglob("*.parquet") if not p.name.startswith(".tmp-"))


def register_parquet(con: duckdb.DuckDBPyConnection, name: str, files: list[str], spec: schemas.Table,
                     hive: bool) -> None:
    """A view ``name`` over Parquet files, typed by the table's schema (an empty typed view for no files)."""
    if not files:
        con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {spec.empty_select_sql()}")
        return
    file_list = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    hive_opts = ", hive_partitioning = true, hive_types_autocast = false" if hive else ""
    source = f"read_parquet({file_list}, union_by_name = true{hive_opts})"
    con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {spec.typed_select(source)}")
