"""store_performance and region_performance on a fixture whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from .conftest import compute, records, sale

# Kanyon (European Side): I1 100 + I2 (two lines) 50 + 30 = 180, 2 transactions, 2 customers, 3 units.
# Metropol AVM (Asian Side): I3 200. Mystery Mall is not in `stores`: region 'Unassigned', I4 20.
ROWS = [
    sale("I1", "C1", "2022-01-03", 100, shopping_mall="Kanyon"),
    sale("I2", "C2", "2022-01-04", 50, shopping_mall="Kanyon"),
    sale("I2", "C2", "2022-01-04", 30, shopping_mall="Kanyon"),
    sale("I3", "C1", "2022-01-05", 200, shopping_mall="Metropol AVM"),
    sale("I4", "C3", "2022-01-05", 20, shopping_mall="Mystery Mall"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    from retail_lake.config import Settings

    tmp = tmp_path_factory.mktemp("stores")
    return compute(tmp, ROWS, Settings(tmp_dir=tmp), ["store_performance", "region_performance"])


def test_store_performance_by_hand(con) -> None:
    rows = records(con, 'SELECT * FROM store_performance ORDER BY "rank"')
    assert [(r["store"], r["region"], r["district"], r["rank"]) for r in rows] == [
        ("Metropol AVM", "Asian Side", "Atasehir", 1),
        ("Kanyon", "European Side", "Besiktas", 2),
        ("Mystery Mall", "Unassigned", None, 3),
    ]
    kanyon = rows[1]
    assert kanyon["revenue"] == 180
    assert kanyon["transactions"] == 2
    assert kanyon["customers"] == 2
    assert kanyon["units"] == 3
    assert kanyon["avg_transaction_value"] == 90
    assert kanyon["revenue_per_customer"] == 90
    assert kanyon["revenue_share"] == pytest.approx(0.45)
    assert [r["revenue_share"] for r in rows] == pytest.approx([0.5, 0.45, 0.05])
    assert [r["region_rank"] for r in rows] == [1, 1, 1]


def test_region_performance_by_hand(con) -> None:
    rows = records(con, 'SELECT * FROM region_performance ORDER BY "rank"')
    assert [(r["region"], r["revenue"], r["stores"], r["customers"], r["top_store"]) for r in rows] == [
        ("Asian Side", 200, 1, 1, "Metropol AVM"),
        ("European Side", 180, 1, 2, "Kanyon"),
        ("Unassigned", 20, 1, 1, "Mystery Mall"),
    ]
    assert sum(r["revenue_share"] for r in rows) == pytest.approx(1)


def test_store_revenue_sums_to_total(con) -> None:
    total = con.execute("SELECT SUM(price) FROM sales").fetchone()[0]
    assert con.execute("SELECT SUM(revenue) FROM store_performance").fetchone()[0] == pytest.approx(total)
    assert con.execute("SELECT SUM(revenue) FROM region_performance").fetchone()[0] == pytest.approx(total)
