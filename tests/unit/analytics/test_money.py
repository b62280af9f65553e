"""profitability, discount_impact and category_insights: actual vs assumed costs and discounts."""

from __future__ import annotations

import pytest

from .conftest import compute, records, sale

# Clothing line without cost/discount -> assumed (reference/cost_assumptions.yaml: cost_ratio 0.50,
# discount_rate 0.10): discount = 90 * 0.1 / 0.9 = 10, gross 100, cost 0.5 * 100 = 50, margin 40.
# Books line with discount 20 and unit_cost 10 x 3 units -> actual: gross 100, cost 30, margin 50.
ROWS = [
    sale("I1", "C1", "2022-01-01", 90, category="Clothing"),
    sale("I2", "C2", "2022-01-01", 80, category="Books", quantity=3, discount=20.0, unit_cost=10.0,
         shopping_mall="Metropol AVM"),
]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    from retail_lake.config import Settings

    tmp = tmp_path_factory.mktemp("money")
    return compute(tmp, ROWS, Settings(tmp_dir=tmp), ["profitability", "discount_impact", "category_insights"])


def test_profitability_actual_and_assumed(con) -> None:
    rows = {(r["breakdown"], r["category"], r["store"]): r for r in records(con, "SELECT * FROM profitability")}
    clothing = rows[("category", "Clothing", "All")]
    assert (clothing["revenue"], clothing["cost_basis"], clothing["discount_basis"]) == (90, "assumed", "assumed")
    assert clothing["discount"] == pytest.approx(10)
    assert clothing["gross_revenue"] == pytest.approx(100)
    assert clothing["cost"] == pytest.approx(50)
    assert clothing["margin"] == pytest.approx(40)
    assert clothing["margin_pct"] == pytest.approx(40 / 90)
    books = rows[("category", "Books", "All")]
    assert (books["cost"], books["margin"], books["discount"], books["cost_basis"], books["discount_basis"]) == (
        30, 50, 20, "actual", "actual")
    overall = rows[("overall", "All", "All")]
    assert overall["revenue"] == 170
    assert overall["cost"] == pytest.approx(80)
    assert overall["margin"] == pytest.approx(90)
    assert overall["cost_basis"] == "assumed"  # part of it rests on an assumption
    assert overall["actual_cost_share"] == pytest.approx(80 / 170)
    store = rows[("store", "All", "Metropol AVM")]
    assert (store["region"], store["cost_basis"], store["revenue"]) == ("Asian Side", "actual", 80)
    assert rows[("category_store", "Clothing", "Kanyon")]["region"] == "European Side"
    assert {r["breakdown"] for r in rows.values()} == {"overall", "category", "store", "category_store"}


def test_discount_impact_bands(con) -> None:
    rows = records(con, "SELECT * FROM discount_impact ORDER BY category, band_order")
    got = [(r["category"], r["discount_band"], r["lines"], r["discount_basis"]) for r in rows]
    assert got == [
        ("All", "10-20%", 1, "assumed"),
        ("All", "20-30%", 1, "actual"),
        ("Books", "20-30%", 1, "actual"),
        ("Clothing", "10-20%", 1, "assumed"),
    ]
    books = rows[2]
    assert books["discount_rate"] == pytest.approx(0.2)
    assert books["revenue_share"] == pytest.approx(1)


def test_category_insights_margin_matches_profitability(con) -> None:
    rows = {r["category"]: r for r in records(con, "SELECT * FROM category_insights")}
    assert rows["Books"]["avg_unit_price"] == pytest.approx(80 / 3)
    assert rows["Books"]["margin"] == pytest.approx(50)
    assert rows["Clothing"]["margin"] == pytest.approx(40)
    assert rows["Clothing"]["cost_basis"] == "assumed"
    assert rows["Clothing"]["rank"] == 1


def test_category_insights_mix_by_hand(tmp_path, settings) -> None:
    """Clothing: C1 (Female, 30) 100 + C2 (Male, 40) 50; Books: C2 25 for 5 units. Both customers
    tie on recency, so both score r3; f/m give fm 3 -> both 'Need Attention'."""
    rows = [
        sale("I1", "C1", "2022-01-01", 100, category="Clothing", gender="Female", age=30),
        sale("I2", "C2", "2022-01-01", 50, category="Clothing", gender="Male", age=40),
        sale("I3", "C2", "2022-01-01", 25, category="Books", gender="Male", age=40, quantity=5),
    ]
    con = compute(tmp_path, rows, settings, ["category_insights"])
    got = {r["category"]: r for r in records(con, "SELECT * FROM category_insights")}
    clothing, books = got["Clothing"], got["Books"]
    assert (clothing["revenue"], clothing["units"], clothing["customers"], clothing["rank"]) == (150, 2, 2, 1)
    assert clothing["revenue_share"] == pytest.approx(150 / 175)
    assert clothing["female_revenue_share"] == pytest.approx(2 / 3)
    assert clothing["male_revenue_share"] == pytest.approx(1 / 3)
    assert (clothing["top_age_band"], clothing["avg_age"]) == ("25-34", 35)
    assert clothing["top_age_band_revenue_share"] == pytest.approx(2 / 3)
    assert (clothing["top_segment"], clothing["top_segment_revenue_share"]) == ("Need Attention", 1)
    assert (books["avg_unit_price"], books["top_age_band"], books["male_revenue_share"]) == (5, "35-44", 1)
