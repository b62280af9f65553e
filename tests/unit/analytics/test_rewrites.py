"""The optimisations of analytics/_rewrites.py: each one rewrites what its docstring says, and every
table comes out exactly the same with each rewrite on and off (ANALYTICS_REWRITES)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from sqlglot import exp

from retail_lake.analytics import _rewrites
from retail_lake.analytics._rewrites import REWRITES, RunFacts, enabled_rewrites, relations_read
from retail_lake.analytics._sql import SHARED_RELATIONS, render_shared, render_sql, shared_body
from retail_lake.analytics._tables import TABLE_NAMES
from retail_lake.config import Settings

from .conftest import compute, sale


def _rewritten(sql: str, name: str, facts: RunFacts) -> str:
    return _rewrites.to_sql(REWRITES[name](_rewrites.parse(sql), facts))


def test_bitmap_rewrites_only_aggregate_distinct_customer_keys() -> None:
    sql = ("SELECT COUNT(DISTINCT customer_key), count( distinct i.customer_key ), COUNT(DISTINCT invoice_no), "
           "COUNT(customer_key), COUNT(DISTINCT customer_key) OVER () FROM t AS i")
    out = _rewritten(sql, "bitmap_distinct_customers", RunFacts(customer_key_bound=8))
    assert out == ("SELECT COALESCE(BIT_COUNT(BITSTRING_AGG(customer_key, 1, 8)), 0), "
                   "COALESCE(BIT_COUNT(BITSTRING_AGG(i.customer_key, 1, 8)), 0), "
                   "COUNT(DISTINCT invoice_no), COUNT(customer_key), COUNT(DISTINCT customer_key) OVER () FROM t AS i")


@pytest.mark.parametrize("customers", [0, _rewrites.BITMAP_CUSTOMER_LIMIT + 1])
def test_bitmap_rewrite_does_not_apply_without_a_small_known_customer_count(customers: int) -> None:
    sql = "SELECT COUNT(DISTINCT customer_key) FROM t"
    assert _rewritten(sql, "bitmap_distinct_customers", RunFacts(customer_key_bound=customers)) == sql


@pytest.mark.parametrize("name", [*TABLE_NAMES, *SHARED_RELATIONS])
def test_every_distinct_customer_count_is_rewritten(name: str) -> None:
    """No spelling of a distinct customer count escapes the rewrite (it would only be slower, but
    the bench figures would not be what the docs say)."""
    sql = render_sql(name) if name in TABLE_NAMES else render_shared(name)
    tree = REWRITES["bitmap_distinct_customers"](_rewrites.parse(sql), RunFacts(customer_key_bound=16))
    left = [c for c in tree.find_all(exp.Count) if isinstance(c.this, exp.Distinct)
            and any(isinstance(a, exp.Column) and a.name == "customer_key" for a in c.this.expressions)]
    assert not left


def test_shared_intermediate_is_read_from_its_held_relation_only_when_its_definition_matches() -> None:
    facts = RunFacts(held={"customer_keys": "shared_customer_keys"},
                     definitions={"customer_keys": shared_body("customer_keys")})
    out = _rewritten(render_sql("customer_value"), "shared_intermediates", facts)
    assert "customer_keys AS NOT MATERIALIZED (SELECT * FROM shared_customer_keys)" in out
    assert "customer_totals AS (" in out  # not held: computed inline, as written
    other = "WITH customer_keys AS (SELECT 1 AS customer_key) SELECT * FROM customer_keys"
    assert _rewritten(other, "shared_intermediates", facts) == other  # same name, other definition


def test_relations_are_read_from_the_parsed_sql() -> None:
    sql = ("-- reads sale_lines? no: a comment\nWITH t AS (SELECT 'invoices' AS customer_totals FROM sales) "
           "SELECT * FROM t JOIN stores s ON TRUE")
    assert relations_read(sql) == {"sales", "stores"}


def test_rewrites_setting() -> None:
    assert enabled_rewrites("all") == enabled_rewrites(None) == tuple(REWRITES)
    assert enabled_rewrites("none") == ()
    assert enabled_rewrites(" Bitmap_Distinct_Customers ") == ("bitmap_distinct_customers",)
    with pytest.raises(ValueError, match=r"unknown rewrite.*no_such.*known: all, none"):
        enabled_rewrites("shared_intermediates,no_such")


def _lines() -> list[dict]:
    """Customers across stores, months, categories and payment methods, a customer with a single
    purchase and one with a missing gender: every distinct count sees groups of different sizes and
    customers in several groups."""
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


@pytest.mark.parametrize("rewrites", [*REWRITES, "all"])
@pytest.mark.parametrize("multi_line", [False, True], ids=["one-line invoices", "a multi-line invoice"])
def test_every_table_is_the_same_with_and_without_the_rewrite(tmp_path: Path, settings: Settings,
                                                              multi_line: bool, rewrites: str) -> None:
    rows = _lines()
    if multi_line:  # a second line on C1's first invoice: the lake takes the general path
        rows.append(sale("I1", "C1", "2023-01-05", 5, category="Books", shopping_mall="Kanyon"))
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    on = compute(tmp_path / "on", rows, dataclasses.replace(settings, analytics_rewrites=rewrites))
    off = compute(tmp_path / "off", rows, dataclasses.replace(settings, analytics_rewrites="none"))
    for table in TABLE_NAMES:
        assert _table_rows(on, table) == _table_rows(off, table), table
    # and the counts are the hand-worked ones
    assert dict(on.execute("SELECT store, customers FROM store_performance").fetchall()) == {
        "Kanyon": 3, "Metrocity": 2, "Zorlu Center": 1, "Unknown Mall": 1}


def test_one_line_customer_totals_applies_only_to_lakes_of_one_line_invoices() -> None:
    sql = render_sql("customer_value")
    assert _rewritten(sql, "one_line_customer_totals", RunFacts()) == _rewrites.to_sql(_rewrites.parse(sql))
    out = _rewrites.parse(_rewritten(sql, "one_line_customer_totals", RunFacts(one_line_invoices=True)))
    (totals,) = [c for c in out.find_all(exp.CTE) if c.alias_or_name == "customer_totals"]
    assert {t.name for t in totals.this.find_all(exp.Table)} == {"customer_keys"}


_TOP_AND_GROUPING = """
WITH counts AS (SELECT k, v, COUNT(*) AS n FROM t GROUP BY k, v),
top AS (SELECT k, v, n FROM (SELECT k, v, n, ROW_NUMBER() OVER (PARTITION BY k ORDER BY n DESC, v) AS pos
                             FROM counts) AS ranked WHERE pos = 1),
breadth AS (SELECT k, COUNT(v) AS vs, SUM(n) AS total FROM {source} GROUP BY k)
SELECT d.k, a.v, b.vs, b.total FROM d LEFT JOIN top AS a ON a.k = d.k LEFT JOIN breadth AS b ON b.k = d.k
"""


def test_partition_aggregates_moves_a_grouping_into_the_top_row_window() -> None:
    out = _rewritten(_TOP_AND_GROUPING.format(source="counts"), "partition_aggregates", RunFacts())
    assert "JOIN breadth" not in out
    assert "COUNT(v) OVER (PARTITION BY k) AS vs, SUM(n) OVER (PARTITION BY k) AS total FROM counts" in out
    assert out.endswith("SELECT d.k, a.v, a.vs, a.total FROM d LEFT JOIN top AS a ON a.k = d.k")


@pytest.mark.parametrize("sql", [
    _TOP_AND_GROUPING.format(source="counts WHERE n > 1"),  # other rows than the window's
    _TOP_AND_GROUPING.format(source="other"),
    _TOP_AND_GROUPING.format(source="(SELECT DISTINCT k, v, n FROM counts) AS c"),
    _TOP_AND_GROUPING.format(source="counts").replace("COUNT(v)", "COUNT(DISTINCT v)"),  # not a window aggregate
    _TOP_AND_GROUPING.format(source="counts").replace("b.k = d.k", "b.k = d.j"),  # joined on another value
    _TOP_AND_GROUPING.format(source="counts").replace("LEFT JOIN breadth", "JOIN breadth"),
])
def test_partition_aggregates_leaves_other_shapes_alone(sql: str) -> None:
    assert _rewritten(sql, "partition_aggregates", RunFacts()) == _rewrites.to_sql(_rewrites.parse(sql))


def test_partition_aggregates_applies_to_customer_profile() -> None:
    out = _rewrites.parse(_rewritten(render_sql("customer_profile"), "partition_aggregates", RunFacts()))
    joined = {j.this.name for j in out.find_all(exp.Join)}
    assert not joined & {"category_breadth", "store_breadth", "payment_breadth"}
    assert {"favourite_category", "favourite_store", "favourite_payment"} <= joined


def test_empty_multi_line_join_drops_the_join_only_in_lakes_of_one_line_invoices() -> None:
    sql = render_shared("sale_lines")
    assert _rewritten(sql, "empty_multi_line_join", RunFacts()) == _rewrites.to_sql(_rewrites.parse(sql))
    out = _rewritten(sql, "empty_multi_line_join", RunFacts(one_line_invoices=True))
    assert "JOIN multi_line_invoices" not in out
    assert "CAST(NULL AS TEXT) AS multi_invoice_no" in out
    assert "LEFT JOIN customer_keys AS k ON k.customer_id = s.customer_id" in out


@pytest.mark.parametrize("sql", [
    # another relation of that name
    "WITH multi_line_invoices AS (SELECT 'x' AS invoice_no) "
    "SELECT s.a, mi.invoice_no FROM s LEFT JOIN multi_line_invoices AS mi ON mi.invoice_no = s.b",
    # a column that does not say which relation it reads
    "WITH multi_line_invoices AS ({shared}) "
    "SELECT a, mi.invoice_no FROM s LEFT JOIN multi_line_invoices AS mi ON mi.invoice_no = s.b",
    # an inner join filters rows
    "WITH multi_line_invoices AS ({shared}) "
    "SELECT s.a, mi.invoice_no FROM s JOIN multi_line_invoices AS mi ON mi.invoice_no = s.b",
])
def test_empty_multi_line_join_leaves_other_shapes_alone(sql: str) -> None:
    sql = sql.replace("{shared}", shared_body("multi_line_invoices").strip())
    facts = RunFacts(one_line_invoices=True)
    assert _rewritten(sql, "empty_multi_line_join", facts) == _rewrites.to_sql(_rewrites.parse(sql))


def test_empty_multi_line_join_applies_after_the_intermediate_is_held() -> None:
    """Where the run holds multi_line_invoices, sale_lines' own statement still drops the join, and
    a table's statement still reads sale_lines from its held relation (the CTE still matches its
    definition when shared_intermediates looks at it: the rewrite comes after)."""
    held = {name: f"shared_{name}" for name in ("customer_keys", "multi_line_invoices", "sale_lines")}
    facts = RunFacts(one_line_invoices=True, held=held,
                     definitions={name: shared_body(name) for name in held})
    assert list(REWRITES).index("shared_intermediates") < list(REWRITES).index("empty_multi_line_join")
    names = ("shared_intermediates", "empty_multi_line_join")
    own = _rewrites.rewrite(render_shared("sale_lines"), dataclasses.replace(facts, held={
        k: v for k, v in held.items() if k != "sale_lines"}), names)
    assert "JOIN multi_line_invoices" not in own
    table = _rewrites.rewrite(render_sql("profitability"), facts, names)
    assert "sale_lines AS NOT MATERIALIZED (SELECT * FROM shared_sale_lines)" in table


def test_narrow_money_sums_narrows_the_price_sums_of_sale_lines_and_invoices() -> None:
    sql = render_sql("customer_profile")
    assert _rewritten(sql, "narrow_money_sums", RunFacts()) == _rewrites.to_sql(_rewrites.parse(sql))
    out = _rewritten(sql, "narrow_money_sums", RunFacts(money_sums_fit=True))
    assert "COUNT(*) AS purchases, CAST(SUM(price) AS DECIMAL(18, 4)) AS revenue FROM sale_lines" in out
    assert out.count("COUNT(*) AS transactions, CAST(SUM(revenue) AS DECIMAL(18, 4)) AS revenue FROM invoices") == 2
    # the multi-line invoices' revenue in invoices' own statement, read from the held sale_lines
    held = RunFacts(money_sums_fit=True, held={"sale_lines": "shared_sale_lines"})
    names = ("shared_intermediates", "narrow_money_sums")
    own = _rewrites.rewrite(render_shared("invoices"), dataclasses.replace(
        held, definitions={"sale_lines": shared_body("sale_lines")}), names)
    assert "sale_lines AS NOT MATERIALIZED (SELECT * FROM shared_sale_lines)" in own
    assert "CAST(SUM(price) AS DECIMAL(18, 4)) AS revenue" in own


@pytest.mark.parametrize("sql", [
    # another relation of that name
    "WITH sale_lines AS (SELECT 1.5 AS price, 1 AS k) SELECT k, SUM(price) FROM sale_lines GROUP BY k",
    # not a grouping of sale_lines alone
    "WITH sale_lines AS ({shared}) SELECT s.k, SUM(price) FROM sale_lines AS s JOIN t ON t.k = s.k GROUP BY s.k",
    "WITH sale_lines AS ({shared}) SELECT SUM(price) OVER () FROM sale_lines",
    # another column, or an expression of it
    "WITH sale_lines AS ({shared}) SELECT k, SUM(discount), SUM(price * quantity) FROM sale_lines GROUP BY k",
])
def test_narrow_money_sums_leaves_other_shapes_alone(sql: str) -> None:
    sql = sql.replace("{shared}", shared_body("sale_lines").strip())
    facts = RunFacts(money_sums_fit=True)
    assert _rewritten(sql, "narrow_money_sums", facts) == _rewrites.to_sql(_rewrites.parse(sql))


def test_narrow_money_sums_needs_the_bound(tmp_path: Path, settings: Settings, monkeypatch) -> None:
    """A lake whose prices add up to the bound or more is left as written (and the answers stay)."""
    from retail_lake.analytics import _engine

    seen: list[bool] = []
    prepare = _engine.DuckDBEngine._prepare

    def spy(self, sql, before=None):
        seen.append(self._facts.money_sums_fit)
        return prepare(self, sql, before)

    monkeypatch.setattr(_engine, "MONEY_SUM_BOUND", 100)  # the lines' prices add up to 360
    monkeypatch.setattr(_engine.DuckDBEngine, "_prepare", spy)
    con = compute(tmp_path, _lines(), dataclasses.replace(settings, analytics_rewrites="all"),
                  tables=["customer_profile"])
    assert seen and not any(seen)
    assert con.execute("SELECT SUM(lines) FROM customer_profile").fetchone() == (8,)
