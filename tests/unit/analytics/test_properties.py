"""Cross-table properties on a random (seeded) lake, every table's nullability against lake_schemas,
the segment rules' grid, and the edge cases of issue 3: one customer, one day, one store, a single
purchase, an empty lake."""

from __future__ import annotations

import argparse
import math
import random
from datetime import date, timedelta

import pytest

from retail_lake import schemas
from retail_lake.analytics import TABLE_NAMES, EmptyLakeError, run_analytics
from retail_lake.analytics import cli as analytics_cli
from retail_lake.analytics._sql import rfm_segment_rules
from retail_lake.config import Settings
from retail_lake.storage import LocalStorage

from .conftest import compute, records, sale

DESIGN_SEGMENTS = {"Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
                   "Need Attention", "At Risk", "Can't Lose Them", "Hibernating", "Lost"}
MALLS = ["Kanyon", "Zorlu Center", "Metropol AVM", "Unknown Plaza"]
CATEGORIES = ["Clothing", "Shoes", "Books", "Toys", "Technology"]


def random_rows(seed: int = 7, invoices: int = 400) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(invoices):
        customer = f"C{rng.randint(1, 120)}"
        day = date(2021, 1, 1) + timedelta(days=rng.randint(0, 800))
        extra = {"discount": round(rng.uniform(0, 20), 2), "unit_cost": 5.0} if rng.random() < 0.3 else {}
        # Store, payment and customer attributes belong to the invoice, not the line.
        extra.update(shopping_mall=rng.choice(MALLS), payment_method=rng.choice(["Cash", "Credit Card", "Debit Card"]),
                     gender=rng.choice(["Female", "Male", None]), age=rng.choice([None, 17, 25, 44, 70]))
        for _ in range(rng.choice([1, 1, 2])):
            quantity = rng.randint(1, 5)
            rows.append(sale(f"I{i}", customer, day, round(quantity * rng.uniform(5, 300), 2),
                             quantity=quantity, category=rng.choice(CATEGORIES), **extra))
    return rows


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("props")
    return compute(tmp, random_rows(), Settings(tmp_dir=tmp))


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_totals_agree_across_tables(con) -> None:
    total = scalar(con, "SELECT SUM(price) FROM sales")
    customers = scalar(con, "SELECT COUNT(DISTINCT customer_id) FROM sales")
    for sql in [
        "SELECT SUM(revenue) FROM store_performance",
        "SELECT SUM(revenue) FROM region_performance",
        "SELECT SUM(monetary) FROM customer_rfm",
        "SELECT SUM(revenue) FROM rfm_segments",
        "SELECT SUM(revenue) FROM customer_value",
        "SELECT SUM(revenue) FROM repeat_vs_onetime",
        "SELECT revenue FROM profitability WHERE breakdown = 'overall'",
        "SELECT SUM(revenue) FROM profitability WHERE breakdown = 'category_store'",
        "SELECT SUM(revenue) FROM discount_impact WHERE category = 'All'",
        "SELECT SUM(revenue) FROM seasonality_monthly",
        "SELECT SUM(revenue) FROM seasonality_quarterly",
        "SELECT SUM(revenue) FROM seasonality_weekday",
        "SELECT SUM(revenue) FROM payment_methods WHERE breakdown = 'overall'",
        "SELECT SUM(revenue) FROM payment_methods WHERE breakdown = 'age_band'",
        "SELECT SUM(revenue) FROM category_insights",
        "SELECT SUM(revenue) FROM cohort_retention",
    ]:
        assert scalar(con, sql) == pytest.approx(total), sql
    for sql in [
        "SELECT COUNT(*) FROM customer_rfm",
        "SELECT SUM(customers) FROM rfm_segments",
        "SELECT COUNT(*) FROM customer_value",
        "SELECT SUM(customers) FROM repeat_vs_onetime",
        "SELECT SUM(customers) FROM cohort_retention WHERE months_since_first = 0",
    ]:
        assert scalar(con, sql) == customers, sql
    assert scalar(con, "SELECT SUM(transactions) FROM store_performance") == scalar(
        con, "SELECT COUNT(DISTINCT invoice_no) FROM sales")
    assert scalar(con, "SELECT COUNT(*) FROM customer_value WHERE is_top_10_pct") == math.ceil(customers / 10)
    assert scalar(con, "SELECT COUNT(*) FROM customer_rfm WHERE segment = 'Unclassified'") == 0
    assert scalar(con, "SELECT region FROM store_performance WHERE store = 'Unknown Plaza'") == "Unassigned"


def test_scores_are_quintiles(con) -> None:
    for score in ("r_score", "f_score", "m_score"):
        assert scalar(con, f"SELECT MIN({score}) >= 1 AND MAX({score}) <= 5 FROM customer_rfm")
    # Better values never score lower.
    assert scalar(con, "SELECT COUNT(*) FROM customer_rfm a JOIN customer_rfm b "
                       "ON a.monetary > b.monetary AND a.m_score < b.m_score") == 0
    assert scalar(con, "SELECT COUNT(*) FROM customer_rfm a JOIN customer_rfm b "
                       "ON a.recency_days < b.recency_days AND a.r_score < b.r_score") == 0


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_non_nullable_columns_have_no_nulls(con, table: str) -> None:
    spec = schemas.table(table)
    assert scalar(con, f'SELECT COUNT(*) FROM "{table}"') > 0
    for column in spec.columns:
        if not column.nullable:
            assert scalar(con, f'SELECT COUNT(*) FROM "{table}" WHERE "{column.name}" IS NULL') == 0, column.name


def test_segment_rules_cover_the_grid_exactly_once() -> None:
    rules = rfm_segment_rules()
    assert {r["segment"] for r in rules} == DESIGN_SEGMENTS
    for r in range(1, 6):
        for fm in range(1, 6):
            hits = [x["segment"] for x in rules if x["r_min"] <= r <= x["r_max"] and x["fm_min"] <= fm <= x["fm_max"]]
            assert len(hits) == 1, (r, fm, hits)


def test_one_customer_one_day_one_store_one_purchase(tmp_path, settings) -> None:
    """Everything still computes; a lone customer ties with themself on every axis and scores 3."""
    con = compute(tmp_path, [sale("I1", "C1", "2022-05-05", 42.5)], settings)
    rfm = records(con, "SELECT * FROM customer_rfm")
    assert [(r["recency_days"], r["frequency"], r["monetary"], r["r_score"], r["f_score"], r["m_score"],
             r["segment"]) for r in rfm] == [(0, 1, 42.5, 3, 3, 3, "Need Attention")]
    assert records(con, "SELECT customer_type, customers FROM repeat_vs_onetime") == [
        {"customer_type": "repeat", "customers": 0}, {"customer_type": "one_time", "customers": 1}]
    store = records(con, "SELECT * FROM store_performance")
    assert [(s["store"], s["revenue_share"], s["rank"]) for s in store] == [("Kanyon", 1.0, 1)]
    month = records(con, "SELECT * FROM seasonality_monthly")
    assert [(m["seasonality_index"], m["is_peak"], m["is_low"]) for m in month] == [(1.0, True, True)]
    assert records(con, "SELECT months_since_first, retention_rate FROM cohort_retention") == [
        {"months_since_first": 0, "retention_rate": 1.0}]
    value = records(con, "SELECT is_top_10_pct, spend_tier FROM customer_value")
    assert value == [{"is_top_10_pct": True, "spend_tier": "high"}]


def test_empty_lake_gives_a_clear_message(tmp_path, settings, capsys) -> None:
    storage = LocalStorage(tmp_path / "empty")
    with pytest.raises(EmptyLakeError, match="no sales yet"):
        run_analytics(storage, settings=settings)
    assert not (tmp_path / "empty" / "analytics" / "store_performance").exists()
    code = analytics_cli.run(argparse.Namespace(lake=str(tmp_path / "empty"), tables=None, reference_date=None))
    assert code == 1
    assert "no sales yet" in capsys.readouterr().err


def test_unknown_table_is_refused(tmp_path, settings) -> None:
    with pytest.raises(ValueError, match="unknown analytics table"):
        run_analytics(LocalStorage(tmp_path), ["no_such_table"], settings=settings)


def test_subset_adds_the_tables_it_reads(tmp_path, settings) -> None:
    storage_rows = [sale("I1", "C1", "2022-05-05", 10)]
    from .conftest import make_lake

    results = run_analytics(make_lake(tmp_path, storage_rows), ["category_insights"], settings=settings)
    assert [r.table for r in results] == ["customer_rfm", "profitability", "category_insights"]
