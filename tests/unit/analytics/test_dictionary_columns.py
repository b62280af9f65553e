"""Dimension columns read as ENUMs of the values present (DuckDB engine) come out exactly as sent."""

from __future__ import annotations

from retail_lake.analytics import _engine

from .conftest import compute, sale


def test_values_with_quotes_nulls_and_many_distinct_values_pass_through(tmp_path, settings, monkeypatch) -> None:
    monkeypatch.setattr(_engine, "DICTIONARY_MAX_VALUES", 3)  # category has 4 values: stays text
    rows = [
        sale("I1", "C1", "2023-01-05", 10, shopping_mall="O'Neil Mall", gender=None, category="Books"),
        sale("I2", "C2", "2023-01-06", 20, shopping_mall="Kanyon", gender=None, category="Toys"),
        sale("I3", "C3", "2023-01-07", 30, shopping_mall="O'Neil Mall", gender=None, category="Shoes"),
        sale("I4", "C1", "2023-01-08", 40, shopping_mall="Kanyon", gender=None, category="Clothing",
             payment_method=None),
    ]
    con = compute(tmp_path, rows, settings)
    assert dict(con.execute("SELECT store, revenue FROM store_performance").fetchall()) == {
        "O'Neil Mall": 40.0, "Kanyon": 60.0}
    assert sorted(con.execute("SELECT category, revenue FROM category_insights").fetchall()) == [
        ("Books", 10.0), ("Clothing", 40.0), ("Shoes", 30.0), ("Toys", 20.0)]
    by_gender = con.execute(
        "SELECT breakdown_value, SUM(transactions) FROM payment_methods WHERE breakdown = 'gender' GROUP BY 1"
    ).fetchall()
    assert dict(by_gender) == {"Unknown": 4}
    assert dict(con.execute(
        "SELECT payment_method, transactions FROM payment_methods WHERE breakdown = 'overall'").fetchall()
    ) == {"Cash": 3, "Unknown": 1}
