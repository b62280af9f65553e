"""Distinct customers counted with bitmaps (DuckDB engine) give exactly what COUNT(DISTINCT) gives."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from retail_lake.analytics import _engine
from retail_lake.analytics._engine import count_customers_with_bitmaps
from retail_lake.analytics._sql import render_shared, render_sql, shared_ctes
from retail_lake.analytics._tables import TABLE_NAMES
from retail_lake.config import Settings

from .conftest import compute, sale


def test_rewrites_only_distinct_customer_keys() -> None:
    sql = ("SELECT COUNT(DISTINCT customer_key), count( distinct i.customer_key ), "
           "COUNT(DISTINCT invoice_no), COUNT(customer_key) FROM t")
    out = count_customers_with_bitmaps(sql, 7)
    assert out == ("SELECT COALESCE(BIT_COUNT(BITSTRING_AGG(customer_key, 1, 7)), 0), "
                   "COALESCE(BIT_COUNT(BITSTRING_AGG(i.customer_key, 1, 7)), 0), "
                   "COUNT(DISTINCT invoice_no), COUNT(customer_key) FROM t")


@pytest.mark.parametrize("name", [*TABLE_NAMES, *(c.name for c in shared_ctes())])
def test_every_distinct_customer_count_is_rewritten(name: str) -> None:
    """No spelling of a distinct customer count escapes the rewrite (it would only be slower, but
    the bench figures would not be what the docs say)."""
    sql = render_sql(name) if name in TABLE_NAMES else render_shared(name)
    left = re.findall(r"COUNT\s*\(\s*DISTINCT[^)]*customer_key", count_customers_with_bitmaps(sql, 10), re.I)
    assert not left


def _lines() -> list[dict]:
    """Customers across stores, months, categories and payment methods, a multi-line invoice, a
    customer with a single purchase and one with a missing gender: every distinct count sees
    groups of different sizes and customers in several groups."""
    rows = []
    for n, (customer, day, mall, category, method) in enumerate([
        ("C1", "2023-01-05", "Kanyon", "Clothing", "Cash"),
        ("C1", "2023-02-07", "Kanyon", "Shoes", "Credit Card"),
        ("C1", "2023-03-09", "Metrocity", "Clothing", "Cash"),
        ("C2", "2023-01-15", "Metrocity", "Books", "Debit Card"),
        ("C2", "2023-03-02", "Kanyon", "Books", "Cash"),
        ("C3", "2023-02-20", "Zorlu Center", "Toys", "Cash"),
        ("C4", "2023-03-30", "Kanyon", "Clothing", "Credit Card"),
        ("C5", "2023-01-31", "Unknown Mall", "Shoes", "Cash"),
    ], 1):
        rows.append(sale(f"I{n}", customer, day, 10 * n, shopping_mall=mall, category=category,
                         payment_method=method))
    rows[-1]["gender"] = None
    return rows


def _table_rows(con, table: str) -> list[tuple]:
    def canonical(value):
        return round(value, 9) if isinstance(value, float) and math.isfinite(value) else value

    return sorted((tuple(canonical(v) for v in row) for row in con.execute(f'SELECT * FROM "{table}"').fetchall()),
                  key=repr)


@pytest.mark.parametrize("multi_line", [False, True], ids=["one-line invoices", "a multi-line invoice"])
def test_bitmaps_and_count_distinct_agree_on_every_table(tmp_path: Path, settings: Settings, monkeypatch,
                                                         multi_line: bool) -> None:
    rows = _lines()
    if multi_line:  # a second line on C1's first invoice: the lake takes the general path
        rows.append(sale("I1", "C1", "2023-01-05", 5, category="Books", shopping_mall="Kanyon"))
    (tmp_path / "bitmaps").mkdir()
    (tmp_path / "plain").mkdir()
    with_bitmaps = compute(tmp_path / "bitmaps", rows, settings)
    monkeypatch.setattr(_engine, "BITMAP_CUSTOMER_LIMIT", 0)  # plain COUNT(DISTINCT)
    plain = compute(tmp_path / "plain", rows, settings)
    for table in TABLE_NAMES:
        assert _table_rows(with_bitmaps, table) == _table_rows(plain, table), table
    # and the counts are the hand-worked ones
    assert dict(with_bitmaps.execute("SELECT store, customers FROM store_performance").fetchall()) == {
        "Kanyon": 3, "Metrocity": 2, "Zorlu Center": 1, "Unknown Mall": 1}
