"""Atomic publication of analytics tables, the run log, and the lake lock.

A reader follows analytics/<table>/_current.json; the new version is complete before the pointer
moves, the previous version stays one run, and a failure anywhere leaves the old version current.
"""

from __future__ import annotations

import json
import time

import pytest

from retail_lake.analytics import AnalyticsBusyError, LakeLock, _runner, read_pointer, register_analytics, run_analytics
from retail_lake.analytics._versions import swap_pointer
from retail_lake.duck import new_duckdb
from retail_lake.query import connect
from retail_lake.storage import LocalStorage

from .conftest import make_lake, sale, write_sales

TABLES = ["store_performance"]


def kanyon_revenue(storage, settings) -> float:
    return connect(storage, settings).execute(
        "SELECT revenue FROM store_performance WHERE store = 'Kanyon'").fetchone()[0]


def add_sale(storage: LocalStorage, price: float, upload: str) -> None:
    write_sales(storage.root, [sale(f"X-{upload}", "C9", "2022-01-01", price, upload_id=upload)])


def test_versions_rotate_and_previous_is_kept_one_run(tmp_path, settings) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100)])
    first = run_analytics(storage, TABLES, settings=settings)[0]
    add_sale(storage, 10, "u2")
    second = run_analytics(storage, TABLES, settings=settings)[0]
    pointer = read_pointer(storage, "store_performance")
    assert pointer["run_id"] == second.run_id and pointer["previous"]["run_id"] == first.run_id
    assert storage.exists(first.version_key) and storage.exists(second.version_key)
    assert kanyon_revenue(storage, settings) == 110
    third = run_analytics(storage, TABLES, settings=settings)[0]
    assert not storage.exists(first.version_key)
    assert not (storage.root / first.version_key).parent.exists()
    assert storage.exists(second.version_key) and storage.exists(third.version_key)


def test_previous_version_readable_until_the_pointer_moves(tmp_path, settings, monkeypatch) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100)])
    run_analytics(storage, TABLES, settings=settings)
    add_sale(storage, 10, "u2")
    seen = {}

    def checking_swap(storage_, table, run_id, key, rows):
        # The new version is fully written, the pointer not moved: readers still get the old table.
        seen["new_file_exists"] = storage_.exists(key)
        seen["revenue_before_swap"] = kanyon_revenue(storage_, settings)
        return swap_pointer(storage_, table, run_id, key, rows)

    monkeypatch.setattr(_runner, "swap_pointer", checking_swap)
    run_analytics(storage, TABLES, settings=settings)
    assert seen == {"new_file_exists": True, "revenue_before_swap": 100}
    assert kanyon_revenue(storage, settings) == 110


def test_failing_table_keeps_its_old_version_and_skips_dependents(tmp_path, settings, monkeypatch) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100)])
    run_analytics(storage, ["store_performance", "customer_rfm", "rfm_segments"], settings=settings)
    before = read_pointer(storage, "customer_rfm")
    add_sale(storage, 10, "u2")
    real_render = _runner.render_sql

    def broken_render(table, reference_date=None):
        return "SELECT no_such_column FROM sales" if table == "customer_rfm" else real_render(table, reference_date)

    monkeypatch.setattr(_runner, "render_sql", broken_render)
    results = {r.table: r for r in run_analytics(
        storage, ["store_performance", "customer_rfm", "rfm_segments"], settings=settings)}
    assert results["store_performance"].status == "succeeded"
    assert results["customer_rfm"].status == "failed" and "no_such_column" in results["customer_rfm"].message
    assert results["rfm_segments"].status == "skipped"
    assert read_pointer(storage, "customer_rfm") == before
    con = connect(storage, settings)
    assert con.execute("SELECT COUNT(*) FROM customer_rfm").fetchone()[0] == 1  # the old version
    assert kanyon_revenue(storage, settings) == 110
    log = con.execute("SELECT table_name, status, message IS NOT NULL FROM analytics_runs "
                      "WHERE run_id = ? ORDER BY table_name", [results["customer_rfm"].run_id]).fetchall()
    assert log == [("customer_rfm", "failed", True), ("rfm_segments", "skipped", True),
                   ("store_performance", "succeeded", False)]


class PointerWriteFails(LocalStorage):
    """Storage whose pointer writes fail: the moment of the swap itself breaks."""

    def write_bytes(self, key: str, data: bytes) -> None:
        if key.endswith("_current.json"):
            raise OSError("disk full")
        super().write_bytes(key, data)


def test_failed_pointer_write_leaves_old_version(tmp_path, settings) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100)])
    run_analytics(storage, TABLES, settings=settings)
    add_sale(storage, 10, "u2")
    result = run_analytics(PointerWriteFails(storage.root), TABLES, settings=settings)[0]
    assert result.status == "failed" and "disk full" in result.message
    assert kanyon_revenue(storage, settings) == 100
    assert run_analytics(storage, TABLES, settings=settings)[0].ok  # the next run recovers
    assert kanyon_revenue(storage, settings) == 110


def test_run_log_records_source_snapshot(tmp_path, settings) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100), sale("I2", "C1", "2022-02-01", 5)])
    results = run_analytics(storage, ["store_performance", "customer_rfm"], settings=settings)
    rows = connect(storage, settings).execute(
        "SELECT table_name, status, \"rows\", source_files, source_rows, source_snapshot, reference_date, engine, "
        "version_key FROM analytics_runs ORDER BY table_name").fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[7]) for r in rows] == [
        ("customer_rfm", "succeeded", 1, 2, 2, "duckdb"), ("store_performance", "succeeded", 1, 2, 2, "duckdb")]
    assert rows[0][5] == rows[1][5] and len(rows[0][5]) == 16
    assert str(rows[0][6]) == "2022-02-01"
    assert {r[8] for r in rows} == {r.version_key for r in results}


def test_register_analytics_on_a_new_lake_gives_empty_typed_views(tmp_path, settings) -> None:
    con = new_duckdb(settings)
    register_analytics(con, LocalStorage(tmp_path / "new"), settings)
    assert con.execute("SELECT COUNT(*) FROM customer_rfm").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM analytics_runs").fetchone()[0] == 0
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'seasonality_monthly'").fetchall())
    assert types["month"] == "DATE" and types["is_peak"] == "BOOLEAN"


def test_register_analytics_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = ("import sys, retail_lake.analytics, retail_lake.query; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'sqlglot', 'awswrangler') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_lock_is_exclusive_and_stale_locks_are_taken_over(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    with LakeLock(storage, stale_after_seconds=60), pytest.raises(AnalyticsBusyError, match="another analytics run"):
        LakeLock(storage, stale_after_seconds=60).acquire()
    assert not storage.exists("analytics/_lock.json")  # released
    storage.write_bytes("analytics/_lock.json", json.dumps(
        {"token": "dead", "holder": "crashed", "acquired_at": time.time() - 3600}).encode())
    with LakeLock(storage, stale_after_seconds=60) as lock:
        assert json.loads(storage.read_bytes("analytics/_lock.json"))["token"] == lock.token


def test_run_refuses_while_another_holds_the_lock(tmp_path, settings) -> None:
    storage = make_lake(tmp_path, [sale("I1", "C1", "2022-01-01", 100)])
    with LakeLock(storage), pytest.raises(AnalyticsBusyError):
        run_analytics(storage, TABLES, settings=settings)
