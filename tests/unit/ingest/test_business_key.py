"""Idempotency and the business key: re-delivery changes nothing, the latest upload wins."""

from __future__ import annotations

import random
import shutil
from concurrent.futures import ThreadPoolExecutor

from retail_lake.ingest import ingest_file

from .conftest import GOOD, at, query

SNAPSHOT = ("SELECT invoice_no, customer_id, category, quantity, price, invoice_date, source, uploaded_at "
            "FROM sales ORDER BY invoice_no, row_number")


def lake_files(lake):
    return {p.relative_to(lake).as_posix(): p.read_bytes() for p in sorted(lake.rglob("*.parquet"))}


def test_reingesting_the_same_file_changes_nothing(write_file, lake):
    path = write_file("a.csv", GOOD)
    first = ingest_file(path, str(lake), uploaded_at=at(1))
    before = lake_files(lake)
    again = ingest_file(path, str(lake), uploaded_at=at(2))
    assert again.status == "skipped" and again.ok
    assert (again.rows_accepted, again.upload_id) == (first.rows_accepted, first.upload_id)
    assert lake_files(lake) == before


def test_reprocessing_after_lost_log_rewrites_identical_bytes(write_file, lake):
    """A redelivery that finds no log (the first run died before it) rewrites the same files."""
    path = write_file("a.csv", [*GOOD, "I9,,F,1,Books,1,1,Cash,1/1/2022,Kanyon"])
    ingest_file(path, str(lake), uploaded_at=at(1))
    before = {k: v for k, v in lake_files(lake).items() if not k.startswith("audit/")}
    shutil.rmtree(lake / "audit")
    ingest_file(path, str(lake), uploaded_at=at(1))
    after = {k: v for k, v in lake_files(lake).items() if not k.startswith("audit/")}
    assert after == before
    assert query(lake, "SELECT count(*) FROM sales") == [(3,)]


def test_later_upload_replaces_invoice(write_file, lake):
    old = write_file("old.csv", ["I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon", GOOD[1]])
    new = write_file("new.csv", ["I1,C1,Female,28,Clothing,2,600.16,Cash,6/8/2022,Kanyon"])
    ingest_file(old, str(lake), uploaded_at=at(1))
    ingest_file(new, str(lake), uploaded_at=at(2))
    assert query(lake, "SELECT invoice_no, quantity, price FROM sales ORDER BY 1") == [
        ("I1", 2, 600.16), ("I101", 3, 1800.51)
    ]


def test_upload_time_wins_not_processing_order(write_file, lake):
    """An old upload delivered late does not overwrite a newer one."""
    old = write_file("old.csv", ["I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon"])
    new = write_file("new.csv", ["I1,C1,Female,28,Clothing,2,600.16,Cash,5/9/2022,Kanyon"])
    ingest_file(new, str(lake), uploaded_at=at(2))
    ingest_file(old, str(lake), uploaded_at=at(1))
    assert query(lake, "SELECT invoice_no, quantity, invoice_date FROM sales") == [
        ("I1", 2, __import__("datetime").date(2022, 9, 5))
    ]
    # the invoice moved partition (August -> September): both versions are stored, one is shown
    assert query(lake, "SELECT count(*) FROM sales_versions") == [(2,)]


def test_duplicates_across_files_count_once(write_file, lake):
    ingest_file(write_file("a.csv", GOOD), str(lake), uploaded_at=at(1))
    ingest_file(write_file("b.csv", GOOD[1:]), str(lake), uploaded_at=at(2))
    assert query(lake, "SELECT count(*), count(DISTINCT invoice_no), round(sum(price), 2) FROM sales") == [
        (3, 3, 3316.06)
    ]


def _files(write_file):
    """Six uploads over overlapping invoices, each with its own upload time."""
    uploads = []
    for n in range(6):
        lines = [
            f"I{inv},C{inv % 4},Female,30,Books,{n + 1},{15.15 * (n + 1):.2f},Cash,{1 + n}/3/2022,Kanyon"
            for inv in range(n, n + 5)
        ]
        uploads.append((write_file(f"u{n}.csv", lines), at(1 + n)))
    return uploads


def test_concurrent_ingests_equal_sequential_in_upload_time_order(write_file, tmp_path):
    uploads = _files(write_file)
    sequential = tmp_path / "sequential"
    for path, when in uploads:
        ingest_file(path, str(sequential), uploaded_at=when)

    shuffled = uploads[:]
    random.Random(7).shuffle(shuffled)
    concurrent = tmp_path / "concurrent"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda u: ingest_file(u[0], str(concurrent), uploaded_at=u[1]), shuffled))
    assert all(r.status == "succeeded" for r in results)
    assert query(concurrent, SNAPSHOT) == query(sequential, SNAPSHOT)
    # every invoice shows the version of the last upload that carried it
    assert query(concurrent, "SELECT invoice_no, quantity FROM sales ORDER BY invoice_no") == [
        ("I0", 1), ("I1", 2), ("I2", 3), ("I3", 4), ("I4", 5), ("I5", 6), ("I6", 6), ("I7", 6), ("I8", 6),
        ("I9", 6),
    ]


def test_partition_files_keep_file_row_order(write_file, lake):
    """Rows inside each partition file follow the uploaded file's order (deterministic bytes)."""
    import duckdb

    lines = [f"I{n},C{n % 7},Female,30,Books,1,15.15,Cash,{1 + n % 28}/{1 + n % 2}/2022,Kanyon" for n in range(3000)]
    ingest_file(write_file("many.csv", lines), str(lake))
    for path in lake.rglob("curated/sales/*/*/*.parquet"):
        numbers = [r[0] for r in duckdb.sql(f"SELECT row_number FROM read_parquet('{path}')").fetchall()]
        assert numbers == sorted(numbers)


def test_partition_files_are_in_file_order_and_identical_at_scale(write_file, tmp_path):
    """Big enough for DuckDB to work in parallel (several row groups, both threads): every partition
    file is in file-row order, and two ingests of the same file write the same bytes."""
    import duckdb

    lines = [f"I{n},C{n % 977},Female,{20 + n % 50},Books,{1 + n % 5},{15.15 * (1 + n % 5):.2f},Cash,"
             f"{1 + n % 28}/{1 + n % 12}/{2021 + (n // 7) % 2},Kanyon" for n in range(300_000)]
    path = write_file("many.csv", lines)
    one, two = tmp_path / "one", tmp_path / "two"
    ingest_file(path, str(one), uploaded_at=at(1))
    ingest_file(path, str(two), uploaded_at=at(1))
    files = sorted(one.rglob("curated/sales/*/*/*.parquet"))
    assert len(files) == 24
    for file in files:
        numbers = [r[0] for r in duckdb.sql(f"SELECT row_number FROM read_parquet('{file}')").fetchall()]
        assert numbers == sorted(numbers)
        assert file.read_bytes() == (two / file.relative_to(one)).read_bytes()
