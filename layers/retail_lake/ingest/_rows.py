"""Python rows into a DuckDB table without DuckDB's Python conversion (which imports numpy and pandas).

Binding a Python list as a parameter makes DuckDB's Python package import numpy and pandas: +90 MB
of memory and ~0.3 s, paid by every ingest for a few small join tables. Rows go through a small CSV
file in the connection's temp folder instead (the ingest's own work folder), read back as text.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from retail_lake.duck import sql_identifier, sql_literal

if TYPE_CHECKING:
    import duckdb

_NULL = "\\N"


def _field(value: object) -> str:
    if value is None:
        return _NULL
    return '"' + str(value).replace('"', '""') + '"'


def table_from_rows(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: Iterable[Sequence[object]]
) -> None:
    """``CREATE OR REPLACE TEMP TABLE name`` with ``columns`` (name -> SQL type) holding ``rows``."""
    folder = con.execute("SELECT current_setting('temp_directory')").fetchone()[0] or tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="rows-", suffix=".csv", dir=folder)
    try:
        longest = 0
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            for row in rows:
                line = ",".join(_field(v) for v in row) + "\n"
                longest = max(longest, len(line.encode("utf-8")))
                fh.write(line)
        if os.path.getsize(path) == 0:
            typed = ", ".join(f"CAST(NULL AS {t}) AS {sql_identifier(c)}" for c, t in columns.items())
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {typed} WHERE false")
            return
        spec = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in columns) + "}"
        casts = ", ".join(f"CAST({sql_identifier(c)} AS {t}) AS {sql_identifier(c)}" for c, t in columns.items())
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {casts} FROM read_csv({sql_literal(path)}, "
            f"header = false, columns = {spec}, quote = '\"', escape = '\"', nullstr = {sql_literal(_NULL)}, "
            f"allow_quoted_nulls = false, delim = ',', strict_mode = true, parallel = false, "
            # Every option is given: no sniffing (a quoted value starting with a carriage return
            # made the sniffer give up on the file).
            f"auto_detect = false, new_line = '\\n', "
            f"max_line_size = {max(longest + 16, 2_097_152)})"
        )
    finally:
        os.unlink(path)
