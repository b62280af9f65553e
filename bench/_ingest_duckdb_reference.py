"""The same plainest pipeline in DuckDB (issue 10, item 9): the floor of the engine the project runs on.

    python bench/_ingest_duckdb_reference.py CSV OUT_DIR

What a DuckDB user writes first: load the CSV into a table (types and the d/m/Y dates sniffed, the
date format given as pandas is given it); drop rows without invoice_no, customer_id or invoice_date;
keep quantity > 0 and price >= 0; keep each invoice's last row (rowid is the file order); one COPY
partitioned by year and month with zstd. No trimming, no quarantine, no row numbers, no checks: it
measures what the engine needs for the reference's work alone, not a target.
"""

import json
import shutil
import sys

import duckdb

csv_path, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
con = duckdb.connect()
con.execute("CREATE TABLE sales AS SELECT * FROM read_csv(?, dateformat = '%d/%m/%Y')", [csv_path])
rows_in = con.execute("SELECT count(*) FROM sales").fetchone()[0]
(accepted,) = con.execute(
    f"""
    COPY (
        SELECT * EXCLUDE (last), year(invoice_date) AS year, month(invoice_date) AS month FROM (
            SELECT *, row_number() OVER (PARTITION BY invoice_no ORDER BY rowid DESC) = 1 AS last FROM sales
            WHERE invoice_no IS NOT NULL AND customer_id IS NOT NULL AND invoice_date IS NOT NULL
              AND quantity > 0 AND price >= 0
        ) WHERE last
    ) TO '{out}' (FORMAT parquet, PARTITION_BY (year, month), COMPRESSION zstd)
    """
).fetchone()
print(json.dumps({"rows_in": rows_in, "accepted": accepted, "quarantined": rows_in - accepted}))
