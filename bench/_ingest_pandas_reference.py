"""The issue's plainest pandas pipeline (issue 10, item 9), exactly: bench/ingest.py's reference.

    python bench/_ingest_pandas_reference.py CSV OUT_DIR

read_csv; dropna on invoice_no, customer_id, invoice_date; to_datetime(format='%d/%m/%Y',
errors='coerce'); keep quantity > 0 and price >= 0; drop_duplicates('invoice_no', keep='last');
to_parquet partitioned by year and month with zstd (pyarrow installed). Nothing more: no trimming,
no quarantine, no checks, which is what a user of pandas writes first.
"""

import json
import shutil
import sys

import pandas as pd

csv_path, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
df = pd.read_csv(csv_path)
rows_in = len(df)
df = df.dropna(subset=["invoice_no", "customer_id", "invoice_date"])
df["invoice_date"] = pd.to_datetime(df["invoice_date"], format="%d/%m/%Y", errors="coerce")
df = df[(df["quantity"] > 0) & (df["price"] >= 0)]
df = df.drop_duplicates("invoice_no", keep="last")
df["year"] = df["invoice_date"].dt.year
df["month"] = df["invoice_date"].dt.month
df.to_parquet(out, partition_cols=["year", "month"], compression="zstd")
print(json.dumps({"rows_in": rows_in, "accepted": len(df), "quarantined": rows_in - len(df)}))
