"""Prediction tables: numpy columns -> a typed Parquet file (DuckDB COPY) -> a published version.

The columns and types come from the table's lake_schemas file (``typed_select``), so a prediction
table cannot drift from its Glue definition; publishing goes through ``versions.publish_version`` like
the analytics tables (the pointer is swapped last, readers never see half a table).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from retail_lake import schemas
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, sql_literal
from retail_lake.storage import Storage
from retail_lake.versions import publish_version

__all__ = ["publish_table", "write_parquet"]


def write_parquet(table: str, columns: dict[str, Any], path: Path, settings: Settings | None = None) -> int:
    """Write ``columns`` (name -> array, same length) as ``table``'s Parquet file; returns the row count.

    A column the schema has but ``columns`` lacks is written as NULL; a non-nullable column with
    NULLs fails here rather than in a reader.
    """
    import numpy as np

    spec = schemas.table(table)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{table}: columns of different lengths {sorted(lengths)}")
    frame = {
        name: (np.asarray(values) if not isinstance(values, np.ndarray) else values) for name, values in columns.items()
    }
    con = new_duckdb(settings)
    try:
        con.register("frame", frame)
        present = set(frame)
        select = spec.typed_select("frame", partitions=False, present=present)
        con.execute(f"CREATE TEMP TABLE typed AS {select}")
        for col in spec.columns:
            if not col.nullable:
                nulls = con.execute(f'SELECT count(*) FROM typed WHERE "{col.name}" IS NULL').fetchone()[0]
                if nulls:
                    raise ValueError(f"{table}.{col.name}: {nulls} NULL value(s) in a non-nullable column")
        con.execute(f"COPY typed TO {sql_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        return int(con.execute("SELECT count(*) FROM typed").fetchone()[0])
    finally:
        con.close()


def publish_table(
    storage: Storage, table: str, columns: dict[str, Any], run_id: str, settings: Settings | None = None
) -> int:
    """Write and publish a new version of a prediction table; returns its row count."""
    settings = settings or Settings.from_env()
    workdir = Path(tempfile.mkdtemp(prefix=f"retail-lake-{table}-", dir=settings.tmp_dir))
    try:
        path = workdir / "part-0.parquet"
        rows = write_parquet(table, columns, path, settings)
        publish_version(storage, table, path, run_id, rows)
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
