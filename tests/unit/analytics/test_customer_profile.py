"""customer_profile (the table behind the API's customers/insights) on a fixture worked out by hand."""

from __future__ import annotations

import pytest

from .conftest import compute, records, sale

# A: Clothing twice (100 + 50), Shoes once (300, 3 units): favourite category Clothing (most purchases,
#    though Shoes earned more), 150 / 450 of A's revenue. Kanyon twice, Zorlu Center once -> Kanyon
#    (European Side). Credit Card twice, Cash once -> Credit Card.
# B: one Books line (40, Cevahir AVM, Cash), one Toys line (60, Kanyon, Debit Card): every count ties,
#    so the higher revenue wins everywhere: Toys, Kanyon, Debit Card.
# C: Books 20 at Cevahir AVM (Cash), Clothing 20 at Kanyon (Credit Card): counts and revenue tie, so
#    the alphabetically first name wins: Books, Cevahir AVM, Cash.
# D: one invoice of two lines (Clothing 10, Shoes 30): two purchases, one transaction at its store.
# Revenue: A 450, B 100, C 40, D 40 -> ranks A 1, B 2, C 3, D 4 (customer_id breaks the tie); top 10 %
# = ceil(0.4) = 1 customer (A); high = ceil(0.8) = 1 (A), medium up to ceil(2.0) = 2 (B), low: C, D.
ROWS = [
    sale("A1", "A", "2022-01-05", 100, category="Clothing", shopping_mall="Kanyon", payment_method="Cash"),
    sale("A2", "A", "2022-02-01", 300, category="Shoes", quantity=3, shopping_mall="Kanyon",
         payment_method="Credit Card"),
    sale("A3", "A", "2022-03-01", 50, category="Clothing", shopping_mall="Zorlu Center",
         payment_method="Credit Card"),
    sale("B1", "B", "2022-02-10", 40, category="Books", shopping_mall="Cevahir AVM", payment_method="Cash"),
    sale("B2", "B", "2022-02-11", 60, category="Toys", shopping_mall="Kanyon", payment_method="Debit Card"),
    sale("C1", "C", "2022-01-20", 20, category="Books", shopping_mall="Cevahir AVM", payment_method="Cash"),
    sale("C2", "C", "2022-01-21", 20, category="Clothing", shopping_mall="Kanyon", payment_method="Credit Card"),
    sale("D1", "D", "2022-02-15", 10, category="Clothing", shopping_mall="Metropol AVM"),
    sale("D1", "D", "2022-02-15", 30, category="Shoes", shopping_mall="Metropol AVM"),
]
FAVOURITES = ["customer_id", "favourite_category", "favourite_category_purchases", "favourite_store",
              "favourite_store_region", "favourite_store_transactions", "favourite_payment_method",
              "favourite_payment_method_transactions", "categories", "stores", "payment_methods", "lines", "units"]


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    from retail_lake.config import Settings

    tmp = tmp_path_factory.mktemp("profile")
    return compute(tmp, ROWS, Settings(tmp_dir=tmp), ["customer_profile"])


def test_favourites_and_counts_by_hand(con) -> None:
    rows = records(con, "SELECT * FROM customer_profile ORDER BY customer_id")
    assert [tuple(r[c] for c in FAVOURITES) for r in rows] == [
        ("A", "Clothing", 2, "Kanyon", "European Side", 2, "Credit Card", 2, 2, 2, 2, 3, 5),
        ("B", "Toys", 1, "Kanyon", "European Side", 1, "Debit Card", 1, 2, 2, 2, 2, 2),
        ("C", "Books", 1, "Cevahir AVM", "European Side", 1, "Cash", 1, 2, 2, 2, 2, 2),
        ("D", "Shoes", 1, "Metropol AVM", "Asian Side", 1, "Cash", 1, 2, 1, 1, 2, 2),
    ]
    assert rows[0]["favourite_category_revenue_share"] == pytest.approx(150 / 450)
    assert rows[3]["favourite_category_revenue_share"] == pytest.approx(30 / 40)


def test_value_fields_by_hand(con) -> None:
    rows = records(con, "SELECT * FROM customer_profile ORDER BY customer_id")
    assert [(r["customer_id"], r["revenue"], r["transactions"], r["revenue_rank"], r["spend_tier"],
             r["is_top_10_pct"]) for r in rows] == [
        ("A", 450, 3, 1, "high", True),
        ("B", 100, 2, 2, "medium", False),
        ("C", 40, 2, 3, "low", False),
        ("D", 40, 1, 4, "low", False),
    ]
    assert [(str(r["first_invoice_date"]), str(r["last_invoice_date"])) for r in rows] == [
        ("2022-01-05", "2022-03-01"), ("2022-02-10", "2022-02-11"), ("2022-01-20", "2022-01-21"),
        ("2022-02-15", "2022-02-15"),
    ]


def test_rfm_fields_are_customer_rfm_s(con) -> None:
    """The profile carries the RFM fields of the same run unchanged (one lookup answers insights)."""
    cols = ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment", "rfm_score",
            "reference_date"]
    profile = records(con, f"SELECT customer_id, {', '.join(cols)} FROM customer_profile ORDER BY 1")
    rfm = records(con, f"SELECT customer_id, {', '.join(cols)} FROM customer_rfm ORDER BY 1")
    assert profile == rfm
    # Reference date 2022-03-01 (A's last invoice): B last bought 2022-02-11 -> 18 days.
    assert [r["recency_days"] for r in profile] == [0, 18, 39, 14]
