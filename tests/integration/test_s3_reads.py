"""A lake larger than the function's /tmp (issue 10 item 8), on a real S3 endpoint (moto's server,
LocalStack): with httpfs, DuckDB reads the curated sales and the table versions as ``s3://`` URLs,
so analytics and the readers work with a mirror budget of zero bytes, while the mirror itself
refuses that lake with a message that says what to do.

The lake is a few hand-made rows (right answers below); the budget, not the data, is made small:
``MIRROR_MAX_MB=0`` is far below any lake.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import boto3
import pytest

from retail_lake.analytics import run_analytics
from retail_lake.analytics._tables import TABLE_NAMES
from retail_lake.config import Settings
from retail_lake.duck import s3_reads_mode
from retail_lake.mirror import MirrorTooLarge
from retail_lake.query import LakeReader, connect
from retail_lake.storage import open_storage
from tests.unit.analytics.conftest import sale, write_sales

# I1 is re-sent by a later upload with a new price: the later one wins (Kanyon 90 + 30).
ROWS = [
    sale("I1", "C1", "2022-01-05", 100, shopping_mall="Kanyon", upload_id="u1"),
    sale("I2", "C1", "2022-02-01", 50, shopping_mall="Zorlu Center", upload_id="u1"),
    sale("I3", "C2", "2022-02-03", 30, shopping_mall="Kanyon", upload_id="u1"),
    sale("I1", "C1", "2022-01-05", 90, shopping_mall="Kanyon", upload_id="u2", uploaded_at=datetime(2024, 6, 1)),
]


@pytest.fixture
def s3_lake(endpoint_stack, tmp_path: Path) -> str:
    """The rows as ingest lays them out (one file per upload and partition) in the stack's lake bucket."""
    local = tmp_path / "local-lake"
    for upload in ("u1", "u2"):
        write_sales(local, [r for r in ROWS if r["upload_id"] == upload])
    s3 = boto3.client("s3")
    for path in sorted(local.rglob("*.parquet")):
        s3.upload_file(str(path), endpoint_stack.lake_bucket, path.relative_to(local).as_posix())
    return endpoint_stack.lake_uri


def tmp_files(settings: Settings) -> list[str]:
    """Files left in the temp folder (the mirror would leave curated/... under retail-lake-cache)."""
    return sorted(p.relative_to(settings.tmp_dir).as_posix() for p in settings.tmp_dir.rglob("*") if p.is_file())


def test_analytics_runs_with_a_mirror_budget_far_below_the_lake(s3_lake, monkeypatch) -> None:
    monkeypatch.setenv("MIRROR_MAX_MB", "0")
    settings = Settings.from_env()
    assert s3_reads_mode(settings) == "httpfs"  # the pinned DuckDB has its httpfs package

    results = run_analytics(s3_lake, settings=settings)  # every table

    assert [r.table for r in results if not r.ok] == []
    assert {r.table for r in results} == set(TABLE_NAMES)
    con = connect(s3_lake, settings, tables=["store_performance", "sales_versions"])
    assert con.execute("SELECT store, revenue, transactions FROM store_performance ORDER BY store").fetchall() == [
        ("Kanyon", 120.0, 2), ("Zorlu Center", 50.0, 1)]
    # Compaction read January's two files from S3 and left one file with the winning row.
    assert con.execute("SELECT COUNT(*), MIN(price) FROM sales_versions "
                       "WHERE invoice_date < DATE '2022-02-01'").fetchone() == (1, 90.0)
    assert [f for f in tmp_files(settings) if "curated" in f or f.endswith(".parquet")] == []


def test_the_mirror_refuses_the_same_lake_with_the_way_out(s3_lake, monkeypatch) -> None:
    monkeypatch.setenv("S3_READS", "mirror")
    monkeypatch.setenv("MIRROR_MAX_MB", "0")
    with pytest.raises(MirrorTooLarge, match="more than MIRROR_MAX_MB=0: read S3 with DuckDB's httpfs instead"):
        run_analytics(s3_lake, ["store_performance"], settings=Settings.from_env(), compact=False)

    monkeypatch.delenv("MIRROR_MAX_MB")  # without a budget the mirror copies the curated sales
    settings = Settings.from_env()
    assert run_analytics(s3_lake, ["store_performance"], settings=settings, compact=False)[0].ok
    assert any(f.startswith("retail-lake-cache/") and "/curated/sales/" in f for f in tmp_files(settings))


def test_reader_answers_from_s3_without_mirroring(s3_lake, monkeypatch) -> None:
    run_analytics(s3_lake, ["customer_rfm"], settings=Settings.from_env())
    monkeypatch.setenv("MIRROR_MAX_MB", "0")
    settings = Settings.from_env()
    reader = LakeReader(open_storage(s3_lake), settings)

    row = reader.read("customer_rfm", where="customer_id = ?", params=["C1"]).rows[0]
    # Reference date = the latest invoice (2022-02-03); C1 bought I1 (90, the later upload) and I2 (50).
    assert (row["recency_days"], row["frequency"], row["monetary"]) == (2, 2, 140.0)
    sales = reader.read("sales", order_by="invoice_no").rows
    assert [(r["invoice_no"], r["price"], r["invoice_date"]) for r in sales] == [
        ("I1", 90.0, date(2022, 1, 5)), ("I2", 50.0, date(2022, 2, 1)), ("I3", 30.0, date(2022, 2, 3))]
    assert tmp_files(settings) == []
    reader.close()
