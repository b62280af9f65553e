"""Writing an upload's results: curated Parquet per partition, quarantine, and the ingest_log row.

Every file is named by the upload_id, so a redelivery rewrites the same files with the same bytes.
The log row is written last: its presence means the upload is complete.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.duck import sql_literal
from retail_lake.layout import ingest_log_key, quarantine_key, sales_file_key, sales_partition_prefix
from retail_lake.schemas import Table, table
from retail_lake.storage import Storage

if TYPE_CHECKING:
    import duckdb

# zstd level 1: about as small as the default level 3 on these files, and cheaper to write.
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, ROW_GROUP_SIZE 122880"
WRITE_WORKERS = 2


@dataclass(frozen=True)
class Lineage:
    source: str
    upload_id: str
    uploaded_at: datetime  # naive UTC

    def select_sql(self, *, dictionary: bool = False) -> str:
        """The lineage columns as constants; ``dictionary``: the two texts as one-value ENUMs, which
        the Parquet writer writes straight from their dictionary instead of hashing the same string
        again on every row (read back, they are text)."""
        source, upload_id = sql_literal(self.source), sql_literal(self.upload_id)
        if dictionary:
            source, upload_id = f"CAST({source} AS ENUM({source}))", f"CAST({upload_id} AS ENUM({upload_id}))"
        return (
            f"{source} AS source, {upload_id} AS upload_id, "
            f"TIMESTAMP {sql_literal(self.uploaded_at.isoformat(sep=' '))} AS uploaded_at"
        )


def partition_key(year: int, month: int, upload_id: str) -> str:
    return sales_file_key(year, month, upload_id)


def write_accepted(
    con: duckdb.DuckDBPyConnection, storage: Storage, lineage: Lineage, workdir: Path
) -> list[str]:
    """One zstd Parquet file per (year, month) partition of the ``accepted`` rows (a view over
    ``checked``, see build_checked), rows in file order; returns the keys written."""
    spec = table("sales")
    lineage_cols = {"source", "upload_id", "uploaded_at", "row_number"}
    # Text columns that ``accepted`` holds as ENUMs (the small dimensions, flags) are written as
    # they are: DuckDB writes an ENUM to Parquet as text straight from its dictionary, without
    # hashing every row's string again (1M rows: ~40 % of the write). Everything else is cast to
    # the lake_schemas type.
    held = {name: kind for (name, kind, *_rest) in con.execute("DESCRIBE accepted").fetchall()}
    columns = ", ".join(
        c.name if c.name in lineage_cols or (c.duckdb_type == "VARCHAR" and held[c.name].startswith("ENUM("))
        else f"CAST({c.name} AS {c.duckdb_type}) AS {c.name}"
        for c in spec.columns
    )
    months = con.execute(
        "SELECT DISTINCT year(invoice_date), month(invoice_date) FROM accepted ORDER BY ALL"
    ).fetchall()

    def write_month(year: int, month: int) -> str:
        local = workdir / f"sales-{year}-{month:02d}.parquet"
        after = (year + 1, 1) if month == 12 else (year, month + 1)
        # DATE bounds (not DATE + INTERVAL, a TIMESTAMP) so the filter reaches the table scan, whose
        # zone maps skip every row group of other months: ``checked`` is stored month by month.
        in_month = (f"invoice_date >= DATE '{year:04d}-{month:02d}-01' "
                    f"AND invoice_date < DATE '{after[0]:04d}-{after[1]:02d}-01'")
        with con.cursor() as cur:  # one cursor per thread: DuckDB runs them side by side
            cur.execute(
                f"COPY (SELECT {columns} FROM (SELECT *, {lineage.select_sql(dictionary=True)} FROM accepted "
                f"WHERE {in_month})) "
                f"TO {sql_literal(str(local))} ({PARQUET_OPTIONS})"
            )
        key = partition_key(year, month, lineage.upload_id)
        storage.upload(local, key)
        local.unlink(missing_ok=True)
        return key

    # Each month is filtered out of ``checked``, which build_checked stores by month and then row
    # number: DuckDB keeps a table's order in a query without ORDER BY (preserve_insertion_order), so
    # every file is in file-row order and a redelivery writes the same bytes.
    # Two months at a time keep both cores busy.
    with ThreadPoolExecutor(max_workers=WRITE_WORKERS) as pool:
        return list(pool.map(lambda ym: write_month(*ym), months))


def formula_safe(expr: str) -> str:
    """SQL: the text with a leading apostrophe when a spreadsheet would run it as a formula (starts
    with = + - @, tab or CR) and it is not a plain number such as -2 (OWASP's CSV-injection advice)."""
    return (
        f"CASE WHEN left({expr}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"AND NOT regexp_full_match({expr}, '[-+]?[0-9][0-9.,]*') THEN chr(39) || {expr} ELSE {expr} END"
    )


def count_replaced(
    con: duckdb.DuckDBPyConnection, storage: Storage, lineage: Lineage, workdir: Path
) -> tuple[int, int]:
    """(invoices this upload replaces, invoices already newer in the lake), looked up in the
    partitions the upload writes (an invoice that moved to another month is not counted).

    Reads only the other uploads' files there: on S3 those are downloaded, so the count costs what
    the partitions weigh, not the whole lake. A fresh partition costs one listing.
    """
    months = con.execute("SELECT DISTINCT year(invoice_date), month(invoice_date) FROM accepted").fetchall()
    files: list[str] = []
    for year, month in months:
        for info in storage.list(sales_partition_prefix(year, month)):
            name = info.key.rsplit("/", 1)[-1]
            if not name.endswith(".parquet") or name.startswith(".tmp-") or name == f"{lineage.upload_id}.parquet":
                continue
            local = storage.local_path(info.key)
            if local is None:
                local = storage.download(info.key, workdir / "existing" / info.key)
            files.append(str(local))
    if not files:
        return 0, 0
    file_list = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    me = (f"TIMESTAMP {sql_literal(lineage.uploaded_at.isoformat(sep=' '))}, {sql_literal(lineage.source)}, "
          f"{sql_literal(lineage.upload_id)}")
    replaced, newer = con.execute(
        f"""
        WITH mine AS (SELECT DISTINCT invoice_no FROM accepted),
        other AS (
            SELECT invoice_no, bool_or((uploaded_at, source, upload_id) > ({me})) AS newer
            FROM read_parquet({file_list}, union_by_name = true)
            WHERE invoice_no IN (SELECT invoice_no FROM mine) AND upload_id <> {sql_literal(lineage.upload_id)}
            GROUP BY invoice_no
        )
        SELECT count(*) FILTER (WHERE NOT newer), count(*) FILTER (WHERE newer) FROM other
        """
    ).fetchone()
    return int(replaced), int(newer)


def write_quarantine(
    con: duckdb.DuckDBPyConnection, storage: Storage, lineage: Lineage, workdir: Path, spec: Table,
    kind: str = "sales",
) -> str:
    """The ``quarantined`` rows (a view the validation made: row_number, rule, detail, raw_line and
    the fields as received, ``q_<column>``), formula cells escaped, with their reason, which names
    the file, the row and the rule: ``<source> row <n>: <rule>: <detail>``."""
    text_cols = [c.name for c in spec.input_columns]
    if spec.name == "sales":  # keep the quarantine_sales column order from lake_schemas
        text_cols = [c.name for c in table("quarantine_sales").columns if c.name in text_cols]
    selects = ", ".join(f"{formula_safe(f'q_{c}')} AS {c}" for c in text_cols)
    reason = f"{sql_literal(lineage.source)} || ' row ' || row_number || ': ' || rule || ': ' || detail"
    local = workdir / "quarantine.parquet"
    # The rejected rows are materialised before they are sorted: sorting straight from the view (the
    # layered validation over ``raw``, evaluated again) ran out of the 256 MB budget with 500,000 bad
    # prices, the sort and the view's operators holding memory together; from a table the sort
    # spills as it should (the file was recorded as failed, and every retry failed the same way).
    con.execute("CREATE OR REPLACE TEMP TABLE quarantined_rows AS SELECT * FROM quarantined")
    con.execute(
        f"COPY (SELECT {selects}, {formula_safe('raw_line')} AS raw_line, rule, "
        f"{reason} AS reason, "
        f"{lineage.select_sql()}, row_number "
        f"FROM quarantined_rows ORDER BY row_number) TO {sql_literal(str(local))} ({PARQUET_OPTIONS})"
    )
    con.execute("DROP TABLE quarantined_rows")
    key = quarantine_key(lineage.upload_id, kind)
    storage.upload(local, key)
    return key


def write_log(con: duckdb.DuckDBPyConnection, storage: Storage, row: dict, workdir: Path) -> str:
    """The upload's ingest_log row (typed by lake_schemas/ingest_log.yaml)."""
    spec = table("ingest_log")
    values = []
    for col in spec.columns:
        value = row.get(col.name)
        if value is None:
            values.append(f"CAST(NULL AS {col.duckdb_type}) AS {col.name}")
        elif isinstance(value, datetime):
            values.append(f"TIMESTAMP {sql_literal(value.isoformat(sep=' '))} AS {col.name}")
        elif isinstance(value, int | float):
            values.append(f"CAST({value} AS {col.duckdb_type}) AS {col.name}")
        else:
            values.append(f"CAST({sql_literal(str(value))} AS {col.duckdb_type}) AS {col.name}")
    local = workdir / "ingest_log.parquet"
    con.execute(f"COPY (SELECT {', '.join(values)}) TO {sql_literal(str(local))} ({PARQUET_OPTIONS})")
    key = ingest_log_key(row["upload_id"])
    storage.upload(local, key)
    return key


def read_log(con: duckdb.DuckDBPyConnection, storage: Storage, upload_id: str, workdir: Path) -> dict | None:
    """The ingest_log row of an upload that already completed, else None."""
    key = ingest_log_key(upload_id)
    if not storage.exists(key):
        return None
    local = storage.local_path(key) or storage.download(key, workdir / "previous_log.parquet")
    cur = con.execute(f"SELECT * FROM read_parquet({sql_literal(str(local))})")
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    return dict(zip(names, row, strict=True)) if row else None
