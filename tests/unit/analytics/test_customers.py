"""customer_rfm, rfm_segments, customer_value and repeat_vs_onetime with hand-worked answers."""

from __future__ import annotations

import math
from datetime import date

import pytest

from .conftest import compute, records, sale


def purchases(customer: str, invoices: int, day: str, price: float) -> list[dict]:
    return [sale(f"{customer}-{i}", customer, day, price) for i in range(invoices)]


# Reference date = latest invoice date = 2022-03-01. Customers A..E are strictly ordered on every
# axis, so scores are 1..5 and fm_score = f_score:
#   A: recency 0,  1 invoice,  10      -> r5 f1 m1 -> New Customers
#   B: recency 2,  2 invoices, 40      -> r4 f2 m2 -> Potential Loyalists
#   C: recency 9,  3 invoices, 90      -> r3 f3 m3 -> Need Attention
#   D: recency 28, 4 invoices, 160     -> r2 f4 m4 -> At Risk
#   E: recency 60, 5 invoices, 250     -> r1 f5 m5 -> Can't Lose Them
RFM_ROWS = (
    purchases("A", 1, "2022-03-01", 10)
    + purchases("B", 2, "2022-02-27", 20)
    + purchases("C", 3, "2022-02-20", 30)
    + purchases("D", 4, "2022-02-01", 40)
    + purchases("E", 5, "2021-12-31", 50)
)
RFM_TABLES = ["customer_rfm", "rfm_segments", "repeat_vs_onetime"]


@pytest.fixture(scope="module")
def rfm_con(tmp_path_factory: pytest.TempPathFactory):
    from retail_lake.config import Settings

    tmp = tmp_path_factory.mktemp("rfm")
    return compute(tmp, RFM_ROWS, Settings(tmp_dir=tmp), RFM_TABLES)


def test_customer_rfm_by_hand(rfm_con) -> None:
    rows = records(rfm_con, "SELECT * FROM customer_rfm ORDER BY customer_id")
    got = [(r["customer_id"], r["recency_days"], r["frequency"], r["monetary"], r["r_score"], r["f_score"],
            r["m_score"], r["segment"]) for r in rows]
    assert got == [
        ("A", 0, 1, 10, 5, 1, 1, "New Customers"),
        ("B", 2, 2, 40, 4, 2, 2, "Potential Loyalists"),
        ("C", 9, 3, 90, 3, 3, 3, "Need Attention"),
        ("D", 28, 4, 160, 2, 4, 4, "At Risk"),
        ("E", 60, 5, 250, 1, 5, 5, "Can't Lose Them"),
    ]
    assert {r["reference_date"] for r in rows} == {date(2022, 3, 1)}
    assert rows[4]["rfm_score"] == "155"


def test_rfm_segments_lists_every_segment_and_sums_to_customers(rfm_con) -> None:
    rows = records(rfm_con, "SELECT * FROM rfm_segments ORDER BY segment_order")
    assert len(rows) == 10
    assert rows[0]["segment"] == "Champions" and rows[0]["customers"] == 0
    assert sum(r["customers"] for r in rows) == 5
    assert sum(r["revenue"] for r in rows) == 550
    at_risk = next(r for r in rows if r["segment"] == "At Risk")
    assert (at_risk["customers"], at_risk["revenue"], at_risk["avg_recency_days"]) == (1, 160, 28)
    assert at_risk["customer_share"] == pytest.approx(0.2)


def test_repeat_vs_onetime_by_hand(rfm_con) -> None:
    rows = records(rfm_con, "SELECT * FROM repeat_vs_onetime")
    assert [(r["customer_type"], r["customers"], r["revenue"], r["transactions"]) for r in rows] == [
        ("repeat", 4, 540, 14),
        ("one_time", 1, 10, 1),
    ]
    assert [r["customer_share"] for r in rows] == pytest.approx([0.8, 0.2])
    assert [r["revenue_share"] for r in rows] == pytest.approx([540 / 550, 10 / 550])


def test_reference_date_override_ignores_later_invoices(tmp_path, settings) -> None:
    """As of 2022-02-20, A and B have not bought yet; C bought that day."""
    con = compute(tmp_path, RFM_ROWS, settings, ["customer_rfm"], reference_date=date(2022, 2, 20))
    rows = records(con, "SELECT customer_id, recency_days, reference_date FROM customer_rfm ORDER BY 1")
    assert [(r["customer_id"], r["recency_days"]) for r in rows] == [("C", 0), ("D", 19), ("E", 51)]
    assert rows[0]["reference_date"] == date(2022, 2, 20)


def test_ties_share_the_middle_quintile(tmp_path, settings) -> None:
    """frequencies 1,1,1,2,3: the three tied customers take positions 1-3, whose middle is in
    quintile 2; then 4 and 5. Equal monetary and recency everywhere: everybody scores 3."""
    rows = (purchases("P", 1, "2022-01-01", 12) + purchases("Q", 1, "2022-01-01", 12)
            + purchases("R", 1, "2022-01-01", 12)
            + [sale("S-0", "S", "2022-01-01", 6), sale("S-1", "S", "2022-01-01", 6)]
            + [sale(f"T-{i}", "T", "2022-01-01", 4) for i in range(3)])
    con = compute(tmp_path, rows, settings, ["customer_rfm"])
    got = records(con, "SELECT customer_id, r_score, f_score, m_score FROM customer_rfm ORDER BY 1")
    assert [(r["customer_id"], r["r_score"], r["f_score"], r["m_score"]) for r in got] == [
        ("P", 3, 2, 3), ("Q", 3, 2, 3), ("R", 3, 2, 3), ("S", 3, 4, 3), ("T", 3, 5, 3),
    ]


def test_customer_value_tiers_by_hand(tmp_path, settings) -> None:
    """Ten customers spending 10..100: top 10 % = 1 customer, high = 2, medium = 3, low = 5."""
    rows = [sale(f"I{i}", f"C{i:02d}", "2022-01-01", 10 * i) for i in range(1, 11)]
    con = compute(tmp_path, rows, settings, ["customer_value"])
    got = records(con, "SELECT * FROM customer_value ORDER BY revenue_rank")
    assert [r["customer_id"] for r in got if r["is_top_10_pct"]] == ["C10"]
    assert [r["spend_tier"] for r in got] == ["high"] * 2 + ["medium"] * 3 + ["low"] * 5
    assert got[0]["tier_revenue_share"] == pytest.approx(190 / 550)
    assert got[2]["tier_revenue_share"] == pytest.approx(210 / 550)
    assert got[9]["tier_revenue_share"] == pytest.approx(150 / 550)
    assert got[0]["cumulative_revenue_share"] == pytest.approx(100 / 550)
    assert got[9]["cumulative_revenue_share"] == pytest.approx(1)
    assert got[0]["revenue_share"] == pytest.approx(100 / 550)
    assert [r["revenue_rank"] for r in got] == list(range(1, 11))
    assert sum(r["is_top_10_pct"] for r in got) == math.ceil(len(got) / 10)
