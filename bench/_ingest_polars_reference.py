"""The same plainest pipeline in Polars (issue 10, item 9): where a user who outgrew pandas goes.

    python bench/_ingest_polars_reference.py CSV OUT_DIR

read_csv; drop_nulls on invoice_no, customer_id, invoice_date; str.to_date('%d/%m/%Y', strict=False);
keep quantity > 0 and price >= 0; unique('invoice_no', keep='last', maintain_order=True);
write_parquet partitioned by year and month with zstd.
"""

import json
import shutil
import sys

import polars as pl

csv_path, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
df = pl.read_csv(csv_path)
rows_in = df.height
df = df.drop_nulls(["invoice_no", "customer_id", "invoice_date"])
df = df.with_columns(pl.col("invoice_date").str.to_date("%d/%m/%Y", strict=False))
df = df.filter((pl.col("quantity") > 0) & (pl.col("price") >= 0))
df = df.unique("invoice_no", keep="last", maintain_order=True)
df = df.with_columns(year=pl.col("invoice_date").dt.year(), month=pl.col("invoice_date").dt.month())
df.write_parquet(out, compression="zstd", partition_by=["year", "month"])
print(json.dumps({"rows_in": rows_in, "accepted": df.height, "quarantined": rows_in - df.height}))
