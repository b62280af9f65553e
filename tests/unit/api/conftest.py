"""A small lake built the way users build one: the hand-written ``sales.csv`` through the real ingest
and analytics, once per session; the API tests answer from it.

The right answers, worked out by hand from sales.csv (reference date = latest invoice 2022-03-02):

stores        Kanyon 600 + 300 + 15 = 915 (I1 I2 I7; customers C1 C4), Zorlu Center 300 + 600 + 5 = 905
              (I3 I6 I10; C1 C3 @C6), Metropol AVM 45 + 300 + 300 + 30 = 675 (I4 I5 I8 I9; C2 C5);
              total 2495; ranks Kanyon 1, Zorlu Center 2, Metropol AVM 3.
regions       European Side (Kanyon, Zorlu Center) 1820, Asian Side (Metropol AVM) 675.
customers     C1: 3 invoices (01-05, 02-10, 03-01), 1200, recency 1 | C2: 2 (01-15, 02-20), 345, recency 10
              C3: 1 (01-25), 600, recency 36 | C4: 1 (02-03), 15, recency 27 | C5: 2 (02-28, 03-01), 330,
              recency 1 | @C6: 1 (03-02), 5, recency 0.
value         by revenue C1 1200, C3 600, C2 345, C5 330, C4 15, @C6 5; 6 customers: top 10 % = ceil(0.6)
              = 1 (C1); high = ceil(1.2) = 2 (C1, C3), medium up to ceil(3.0) = 3 (C2), low C5 C4 @C6.
C1 scores     recency (worst first) C3 36, C4 27, C2 10, C1/C5 1 (positions 4-5), @C6 0:
              r = 1 + floor(5 (3 + 5) / 12) = 4; frequency 3 is position 6: f = 1 + floor(5 (5 + 6) / 12)
              = 5; monetary 1200 position 6: m = 5; fm = floor((5 + 5 + 1) / 2) = 5 -> Loyal Customers
              (r 3-4, fm 4-5).
C1 favourites Clothing (2 lines) over Shoes (1); Kanyon (2 invoices) over Zorlu Center (1); Credit Card
              (2) over Cash (1).
payments      overall: Cash I3 I4 I5 I7 I10 = 5 (0.5), Credit Card I1 I2 I8 I9 = 4 (0.4), Debit Card 1 (0.1).
months        2022-01: 600 + 45 + 600 = 1245; 2022-02: 300 + 300 + 15 + 300 = 915; 2022-03: 300 + 30 + 5 = 335.
cohorts       January C1 C2 C3 (3): month 1 C1 C2 (2/3), month 2 C1 (1/3); February C4 C5 (2): month 1
              C5 (1/2); March @C6 (1).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SALES_CSV = HERE / "sales.csv"


def build_lake(root: Path) -> Path:
    """Ingest sales.csv into a new local lake and compute every analytics table."""
    from retail_lake.analytics import run_analytics
    from retail_lake.config import Settings
    from retail_lake.ingest import ingest_file

    lake = root / "lake"
    settings = Settings(lake=str(lake), tmp_dir=root / "tmp", duckdb_threads=2)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    result = ingest_file(SALES_CSV, str(lake), settings=settings)
    assert result.ok and result.rows_accepted == 10, result
    runs = run_analytics(str(lake), settings=settings)
    assert all(r.ok for r in runs), [r for r in runs if not r.ok]
    return lake


@pytest.fixture(scope="session")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lake of sales.csv, built once per test session (never changed: tests copy it to change it)."""
    return build_lake(tmp_path_factory.mktemp("api-lake"))


def api_settings(lake: Path, tmp: Path, **changes):
    from retail_lake.config import Settings

    tmp.mkdir(parents=True, exist_ok=True)
    return Settings(lake=str(lake), tmp_dir=tmp, duckdb_threads=2, reader_revalidate_seconds=0, **changes)


def make_client(lake: Path, tmp: Path, **changes):
    """A TestClient of a fresh app (its own reader, caches) over ``lake``."""
    from fastapi.testclient import TestClient

    from retail_lake.api._lake import ApiLake
    from retail_lake.api.app import create_app

    settings = api_settings(lake, tmp, **changes)
    return TestClient(create_app(settings, lake=ApiLake(str(lake), settings)))


@pytest.fixture(scope="session")
def client(built_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with make_client(built_lake, tmp_path_factory.mktemp("api-tmp")) as test_client:
        yield test_client


def publish(lake: Path, table: str, rows: list[dict], tmp: Path) -> None:
    """Publish ``rows`` as the table's current version the way training does (retail_lake.versions)."""
    import duckdb

    from retail_lake import schemas
    from retail_lake.storage import LocalStorage
    from retail_lake.versions import new_run_id, publish_version

    spec = schemas.table(table)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({', '.join(f'{chr(34)}{c.name}{chr(34)} {c.duckdb_type}' for c in spec.columns)})")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in spec.columns)})",
                    [[r.get(c.name) for c in spec.columns] for r in rows])
    path = tmp / f"{table}.parquet"
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    con.close()
    publish_version(LocalStorage(lake), table, path, new_run_id(), len(rows))


@pytest.fixture(scope="session")
def trained_lake(built_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built lake plus the three prediction tables, published as training would (tiny, by hand)."""
    root = tmp_path_factory.mktemp("trained")
    lake = root / "lake"
    shutil.copytree(built_lake, lake)
    publish(lake, "customer_clv", [
        {"customer_id": c, "horizon_days": 90, "predicted_spend": spend, "probability_alive": alive,
         "model_version": "v1", "historical_spend": spend, "purchases": 1, "recency_days": 1, "tenure_days": 30,
         "method": "xgboost"} for c, spend, alive in (("C1", 640.0, 0.9), ("C2", 90.0, 0.5))], root)
    publish(lake, "sales_forecast", [
        {"store": store, "period_start": date(2022, 3, 7), "forecast": 100.0, "lower": 80.0, "upper": 120.0,
         "model_version": "v1", "horizon_weeks": 1, "interval_level": 0.9, "method": "xgboost"}
        for store in ("ALL", "Kanyon")], root)
    publish(lake, "customer_segments_ml", [
        {"customer_id": "C1", "cluster": 0, "segment_name": "Big spenders", "recency_days": 1, "frequency": 3,
         "monetary": 1200.0, "tenure_days": 55, "category_breadth": 2, "avg_basket": 400.0, "model_version": "v1"}],
        root)
    return lake


@pytest.fixture
def lake_copy(built_lake: Path, tmp_path: Path) -> Path:
    """A private copy of the built lake, for tests that publish or remove tables."""
    target = tmp_path / "lake"
    shutil.copytree(built_lake, target)
    return target
