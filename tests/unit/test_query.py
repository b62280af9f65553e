"""The readers' query layer: tables by DESIGN name, pages, sorting, pointer revalidation, light imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from retail_lake.analytics import run_analytics
from retail_lake.config import Settings
from retail_lake.query import LakeReader, TableNotReady, UnknownColumn, connect, versioned_tables
from tests.unit.analytics.conftest import make_lake, sale

# Three stores; revenue Kanyon 300 (2 invoices), Zorlu 150, Akmerkez 50 -> ranks 1, 2, 3.
ROWS = [
    sale("I1", "C1", "2024-01-05", 100, shopping_mall="Kanyon"),
    sale("I2", "C2", "2024-01-06", 200, shopping_mall="Kanyon"),
    sale("I3", "C1", "2024-02-01", 150, shopping_mall="Zorlu Center"),
    sale("I4", "C3", "2024-02-02", 50, shopping_mall="Akmerkez"),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return Settings(lake=str(tmp_path / "lake"), tmp_dir=tmp, duckdb_threads=1)


@pytest.fixture
def lake(tmp_path: Path, settings: Settings):
    storage = make_lake(tmp_path, ROWS)
    assert all(r.ok for r in run_analytics(storage, ["store_performance", "customer_rfm"], settings=settings))
    return storage


def test_read_pages_sorts_and_counts(lake, settings) -> None:
    reader = LakeReader(lake, settings, revalidate_seconds=0)
    page = reader.read("store_performance", order_by="-revenue", limit=2)
    assert [(r["store"], r["revenue"], r["rank"]) for r in page.rows] == [("Kanyon", 300.0, 1),
                                                                           ("Zorlu Center", 150.0, 2)]
    assert page.total == 3 and page.limit == 2 and page.offset == 0
    second = reader.read("store_performance", order_by="-revenue", limit=2, offset=2)
    assert [r["store"] for r in second.rows] == ["Akmerkez"] and second.total == 3
    one = reader.read("customer_rfm", where="customer_id = ?", params=["C1"], columns=["customer_id", "frequency"])
    assert one.rows == [{"customer_id": "C1", "frequency": 2}] and one.total == 1
    assert page.versions["store_performance"].run_id is not None


def test_unknown_sort_column_and_unpublished_table(lake, settings) -> None:
    reader = LakeReader(lake, settings)
    with pytest.raises(UnknownColumn, match="cannot sort store_performance by 'nope'"):
        reader.read("store_performance", order_by="nope")
    with pytest.raises(TableNotReady, match="cohort_retention"):
        reader.read("cohort_retention")
    assert reader.read("cohort_retention", require=False).rows == []


def test_reader_serves_a_new_version_once_the_pointer_changes(tmp_path, lake, settings) -> None:
    reader = LakeReader(lake, settings, revalidate_seconds=0)
    first = reader.version("store_performance").run_id
    assert reader.read("store_performance", where="store = ?", params=["Kanyon"]).rows[0]["revenue"] == 300.0
    # A later upload adds a Kanyon invoice; the next run publishes a new version.
    make_lake(tmp_path, [sale("I5", "C4", "2024-02-03", 25, shopping_mall="Kanyon", upload_id="upload-2")])
    run_analytics(lake, ["store_performance"], settings=settings)
    assert reader.version("store_performance").run_id != first
    assert reader.read("store_performance", where="store = ?", params=["Kanyon"]).rows[0]["revenue"] == 325.0


def test_reader_keeps_its_version_between_revalidations(tmp_path, lake, settings) -> None:
    reader = LakeReader(lake, settings, revalidate_seconds=3600)
    first = reader.version("store_performance").run_id
    run_analytics(lake, ["store_performance"], settings=settings)
    assert reader.version("store_performance").run_id == first  # not checked again within the hour


def test_connect_registers_only_the_tables_asked_for(lake, settings) -> None:
    con = connect(lake, settings, tables=["sales", "store_performance"])
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert names == {"sales", "sales_versions", "store_performance"}
    assert con.execute("SELECT SUM(revenue) FROM store_performance").fetchone()[0] == 500.0
    assert con.execute("SELECT COUNT(DISTINCT invoice_no) FROM sales").fetchone()[0] == 4


def test_curated_tables_read_through_the_reader(tmp_path, lake, settings) -> None:
    reader = LakeReader(lake, settings, revalidate_seconds=0)
    assert reader.read("sales", columns=["invoice_no"], order_by="invoice_no").total == 4
    make_lake(tmp_path, [sale("I9", "C9", "2024-03-01", 10, upload_id="upload-3")])
    assert reader.read("sales", columns=["invoice_no"], order_by="invoice_no").total == 5
    stores = reader.read("stores", columns=["shopping_mall"])  # the shipped default list
    assert stores.total == 10


def test_every_analytics_table_is_versioned_but_the_run_log() -> None:
    names = versioned_tables()
    assert "store_performance" in names and "customer_rfm" in names
    assert "analytics_runs" not in names and "sales" not in names


def test_query_imports_nothing_heavy() -> None:
    code = ("import sys, retail_lake.query; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'sqlglot', 'awswrangler', 'duckdb', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
