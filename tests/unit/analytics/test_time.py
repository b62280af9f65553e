"""seasonality_monthly/quarterly/weekday and cohort_retention with hand-worked answers."""

from __future__ import annotations

from datetime import date

import pytest

from .conftest import compute, records, sale


def test_seasonality_monthly_and_quarterly(tmp_path, settings) -> None:
    """2022-01: 100, 2022-02: 200, 2023-01: 300 -> mean 200, indexes 0.5, 1, 1.5."""
    rows = [sale("I1", "C1", "2022-01-10", 100), sale("I2", "C1", "2022-02-10", 200),
            sale("I3", "C2", "2023-01-10", 120), sale("I4", "C3", "2023-01-11", 180)]
    con = compute(tmp_path, rows, settings, ["seasonality_monthly", "seasonality_quarterly"])
    got = records(con, 'SELECT * FROM seasonality_monthly ORDER BY "month"')
    assert [r["month"] for r in got] == [date(2022, 1, 1), date(2022, 2, 1), date(2023, 1, 1)]
    assert [r["revenue"] for r in got] == [100, 200, 300]
    assert [r["seasonality_index"] for r in got] == pytest.approx([0.5, 1.0, 1.5])
    assert [r["is_peak"] for r in got] == [False, False, True]
    assert [r["is_low"] for r in got] == [True, False, False]
    assert [r["revenue_yoy_growth"] for r in got] == [None, None, pytest.approx(2.0)]
    assert [r["revenue_mom_growth"] for r in got] == [None, pytest.approx(1.0), None]
    assert got[2]["transactions"] == 2 and got[2]["days_with_sales"] == 2
    assert got[0]["month_of_year_index"] == pytest.approx(1.0)  # January: (100 + 300) / 2 / 200

    quarters = records(con, 'SELECT * FROM seasonality_quarterly ORDER BY quarter_start')
    assert [(q["quarter_label"], q["quarter_start"], q["revenue"]) for q in quarters] == [
        ("2022-Q1", date(2022, 1, 1), 300), ("2023-Q1", date(2023, 1, 1), 300)]
    assert [q["seasonality_index"] for q in quarters] == pytest.approx([1.0, 1.0])
    assert quarters[1]["revenue_yoy_growth"] == pytest.approx(0.0)
    assert all(q["is_peak"] and q["is_low"] for q in quarters)  # a tie is both


def test_seasonality_weekday_uses_revenue_per_trading_day(tmp_path, settings) -> None:
    """Mondays 2022-01-03 (100) and 2022-01-10 (50): 75 a day; Tuesday 2022-01-04: 150 a day;
    all days: 300 / 3 = 100 a day -> indexes 0.75 and 1.5."""
    rows = [sale("I1", "C1", "2022-01-03", 100), sale("I2", "C1", "2022-01-10", 50),
            sale("I3", "C2", "2022-01-04", 150)]
    con = compute(tmp_path, rows, settings, ["seasonality_weekday"])
    got = records(con, "SELECT * FROM seasonality_weekday ORDER BY day_of_week")
    assert [(r["day_of_week"], r["day_name"], r["days_with_sales"], r["avg_daily_revenue"]) for r in got] == [
        (1, "Monday", 2, 75), (2, "Tuesday", 1, 150)]
    assert [r["seasonality_index"] for r in got] == pytest.approx([0.75, 1.5])
    assert [(r["is_peak"], r["is_low"]) for r in got] == [(False, True), (True, False)]
    assert [r["revenue_share"] for r in got] == pytest.approx([0.5, 0.5])


def test_cohort_retention_by_hand(tmp_path, settings) -> None:
    """C1 buys in Jan, Feb, Apr; C2 in Jan; C3 in Feb and Mar. Months with no cohort activity read 0."""
    rows = [
        sale("I1", "C1", "2022-01-05", 100), sale("I2", "C1", "2022-02-05", 10), sale("I3", "C1", "2022-04-05", 5),
        sale("I4", "C2", "2022-01-20", 50),
        sale("I5", "C3", "2022-02-07", 20), sale("I6", "C3", "2022-03-07", 7),
    ]
    con = compute(tmp_path, rows, settings, ["cohort_retention"])
    got = records(con, "SELECT * FROM cohort_retention ORDER BY cohort_month, months_since_first")
    table = [(r["cohort_month"].month, r["months_since_first"], r["cohort_size"], r["customers"],
              r["retention_rate"], r["revenue"]) for r in got]
    assert table == [
        (1, 0, 2, 2, 1.0, 150), (1, 1, 2, 1, 0.5, 10), (1, 2, 2, 0, 0.0, 0), (1, 3, 2, 1, 0.5, 5),
        (2, 0, 1, 1, 1.0, 20), (2, 1, 1, 1, 1.0, 7), (2, 2, 1, 0, 0.0, 0),
    ]
    assert got[3]["cumulative_revenue_per_customer"] == pytest.approx(165 / 2)
    month0 = sum(r["customers"] for r in got if r["months_since_first"] == 0)
    assert month0 == con.execute("SELECT COUNT(DISTINCT customer_id) FROM sales").fetchone()[0]


def test_payment_methods_by_hand(tmp_path, settings) -> None:
    rows = [
        sale("I1", "C1", "2022-01-01", 100, payment_method="Cash", gender="Female", age=30),
        sale("I2", "C2", "2022-01-01", 50, payment_method="Credit Card", gender="Male", age=20),
        sale("I3", "C3", "2022-01-01", 30, payment_method="Cash", gender="Male", age=20,
             shopping_mall="Metropol AVM"),
        sale("I4", "C4", "2022-01-01", 10, payment_method=None, gender=None, age=None),
    ]
    con = compute(tmp_path, rows, settings, ["payment_methods"])
    got = {(r["breakdown"], r["breakdown_value"], r["payment_method"]): r
           for r in records(con, "SELECT * FROM payment_methods")}
    assert got[("overall", "all", "Cash")]["transactions"] == 2
    assert got[("overall", "all", "Cash")]["share"] == pytest.approx(0.5)
    assert got[("overall", "all", "Cash")]["revenue"] == 130
    assert got[("overall", "all", "Unknown")]["share"] == pytest.approx(0.25)
    assert got[("gender", "Male", "Cash")]["share"] == pytest.approx(0.5)
    assert got[("gender", "Female", "Cash")]["share"] == pytest.approx(1.0)
    assert got[("gender", "Unknown", "Unknown")]["transactions"] == 1
    assert got[("age_band", "18-24", "Credit Card")]["share"] == pytest.approx(0.5)
    assert got[("age_band", "25-34", "Cash")]["share"] == pytest.approx(1.0)
    assert got[("age_band", "Unknown", "Unknown")]["share"] == pytest.approx(1.0)
    assert got[("region", "Asian Side", "Cash")]["share"] == pytest.approx(1.0)
    assert got[("store", "Kanyon", "Credit Card")]["share"] == pytest.approx(1 / 3)
    assert {k[0] for k in got} == {"overall", "age_band", "gender", "store", "region"}
    sums = con.execute(
        "SELECT breakdown, breakdown_value, SUM(share) FROM payment_methods GROUP BY 1, 2").fetchall()
    assert all(s == pytest.approx(1) for *_, s in sums)
