"""Compaction of curated sales: winners only, lineage kept, only the files read are deleted, files
landing meanwhile survive, and the `sales` view answers the same before and after."""

from __future__ import annotations

from datetime import datetime

import pytest

from retail_lake.analytics import compact_sales, run_analytics
from retail_lake.query import connect
from retail_lake.storage import LocalStorage

from .conftest import make_lake, sale, write_sales

EARLY, LATE = datetime(2024, 1, 1), datetime(2024, 2, 1)
SALES_COLUMNS = ("invoice_no, customer_id, price, invoice_date, shopping_mall, source, upload_id, uploaded_at, "
                 '"row_number"')


def sales_rows(storage, settings) -> list[tuple]:
    return connect(storage, settings).execute(f"SELECT {SALES_COLUMNS} FROM sales ORDER BY ALL").fetchall()


def files(storage: LocalStorage, partition: str = "year=2022/month=01") -> list[str]:
    return sorted(p.name for p in (storage.root / "curated/sales" / partition).glob("*.parquet"))


@pytest.fixture
def lake(tmp_path):
    """January 2022 holds two uploads: u2 (later) replaces invoice I1 (two lines -> one line).
    I5 moved from January (u1) to February (u2): the view must still pick u2's row."""
    rows = [
        sale("I1", "C1", "2022-01-05", 100, upload_id="u1", uploaded_at=EARLY, row_number=1),
        sale("I1", "C1", "2022-01-05", 50, upload_id="u1", uploaded_at=EARLY, row_number=2),
        sale("I2", "C2", "2022-01-06", 30, upload_id="u1", uploaded_at=EARLY, row_number=3),
        sale("I5", "C5", "2022-01-30", 9, upload_id="u1", uploaded_at=EARLY, row_number=4),
        sale("I1", "C1", "2022-01-05", 120, upload_id="u2", uploaded_at=LATE, row_number=1, source="fix.csv"),
        sale("I5", "C5", "2022-02-01", 9, upload_id="u2", uploaded_at=LATE, row_number=2, source="fix.csv"),
        sale("I9", "C9", "2022-03-03", 7, upload_id="u1", uploaded_at=EARLY, row_number=5),
    ]
    return make_lake(tmp_path, rows)


def test_compaction_keeps_winners_and_lineage(lake, settings) -> None:
    before = sales_rows(lake, settings)
    untouched = (lake.root / "curated/sales/year=2022/month=03/u1.parquet").stat().st_mtime_ns
    report = compact_sales(lake, settings)
    assert [c.partition for c in report.compacted] == ["curated/sales/year=2022/month=01/"]
    assert report.partitions_seen == 3
    (only,) = files(lake)
    assert only.startswith("compacted-")
    assert (lake.root / "curated/sales/year=2022/month=03/u1.parquet").stat().st_mtime_ns == untouched
    kept = connect(lake, settings).execute(
        f"SELECT {SALES_COLUMNS} FROM read_parquet(?) ORDER BY invoice_no, price",
        [str(lake.root / "curated/sales/year=2022/month=01" / only)]).fetchall()
    # I1 of u2 replaces both u1 lines; I2 and (within this partition) I5 of u1 stay, lineage intact.
    assert [(r[0], r[2], r[6], r[8]) for r in kept] == [("I1", 120, "u2", 1), ("I2", 30, "u1", 3), ("I5", 9, "u1", 4)]
    assert kept[0][5] == "fix.csv" and kept[0][7] == LATE
    assert report.rows_dropped == 2
    assert sales_rows(lake, settings) == before
    assert [r[0] for r in before] == ["I1", "I2", "I5", "I9"]
    assert next(r for r in before if r[0] == "I5")[6] == "u2"


def test_second_compaction_has_nothing_to_do(lake, settings) -> None:
    compact_sales(lake, settings)
    report = compact_sales(lake, settings)
    assert report.compacted == [] and "nothing to do" in report.summary()


def test_new_upload_after_compaction_is_merged_next_time(lake, settings) -> None:
    compact_sales(lake, settings)
    write_sales(lake.root, [sale("I2", "C2", "2022-01-06", 35, upload_id="u3", uploaded_at=datetime(2024, 3, 1))])
    assert len(files(lake)) == 2
    compact_sales(lake, settings)
    assert len(files(lake)) == 1
    assert dict((r[0], r[2]) for r in sales_rows(lake, settings))["I2"] == 35


def test_file_landing_during_compaction_survives(lake, settings, monkeypatch) -> None:
    """An ingest writes a new file into the partition while compaction is working on it."""
    real_upload = LocalStorage.upload

    def upload_with_a_concurrent_ingest(self, src, key):
        if "compacted-" in key:
            write_sales(lake.root, [sale("I7", "C7", "2022-01-07", 77, upload_id="u-late", uploaded_at=LATE)])
        real_upload(self, src, key)

    monkeypatch.setattr(LocalStorage, "upload", upload_with_a_concurrent_ingest)
    report = compact_sales(lake, settings)
    assert "curated/sales/year=2022/month=01/u-late.parquet" not in report.compacted[0].files_read
    assert "u-late.parquet" in files(lake)
    assert "I7" in [r[0] for r in sales_rows(lake, settings)]


def test_redelivery_after_compaction_changes_nothing(lake, settings) -> None:
    """A redelivered upload rewrites its original file beside the compacted one: rows count once."""
    before = sales_rows(lake, settings)
    compact_sales(lake, settings)
    write_sales(lake.root, [sale("I2", "C2", "2022-01-06", 30, upload_id="u1", uploaded_at=EARLY, row_number=3)])
    assert sales_rows(lake, settings) == before


def test_analytics_equal_before_and_after_compaction(lake, settings) -> None:
    run_analytics(lake, ["store_performance", "customer_rfm"], settings=settings, compact=False)
    con = connect(lake, settings)
    before = con.execute("SELECT * FROM store_performance ORDER BY store").fetchall()
    rfm_before = con.execute("SELECT * EXCLUDE (reference_date) FROM customer_rfm ORDER BY 1").fetchall()
    run_analytics(lake, ["store_performance", "customer_rfm"], settings=settings)  # compacts first
    assert len(files(lake)) == 1
    con = connect(lake, settings)
    assert con.execute("SELECT * FROM store_performance ORDER BY store").fetchall() == before
    assert con.execute("SELECT * EXCLUDE (reference_date) FROM customer_rfm ORDER BY 1").fetchall() == rfm_before
