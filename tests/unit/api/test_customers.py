"""customers/*: answers worked out by hand from sales.csv (see conftest.py)."""

from __future__ import annotations

import pytest

API = "/api/v1/customers"


def test_insights_by_hand(client) -> None:
    body = client.get(f"{API}/insights/C1").json()
    assert {k: body[k] for k in ("customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                                 "m_score", "segment")} == {
        "customer_id": "C1", "recency_days": 1, "frequency": 3, "monetary": 1200, "r_score": 4, "f_score": 5,
        "m_score": 5, "segment": "Loyal Customers"}
    assert (body["spend_tier"], body["is_top_10_pct"]) == ("high", True)
    assert (body["first_purchase"], body["last_purchase"]) == ("2022-01-05", "2022-03-01")
    assert (body["favourite_category"], body["favourite_store"], body["favourite_payment_method"]) == (
        "Clothing", "Kanyon", "Credit Card")
    # No training yet: the prediction fields are there, empty.
    assert body["predicted_clv"] is None and body["probability_alive"] is None
    assert body["predictions_available"] is False


def test_insights_match_the_rfm_table(client) -> None:
    rfm = {r["customer_id"]: r for r in client.get("/api/v1/analytics/rfm").json()["items"]}
    for customer in ("C2", "C5", "@C6"):
        body = client.get(f"{API}/insights/{customer}").json()
        for field in ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"):
            assert body[field] == rfm[customer][field], (customer, field)


def test_unknown_customer_is_404_with_a_message(client) -> None:
    response = client.get(f"{API}/insights/C999")
    assert response.status_code == 404
    assert response.json()["message"] == "unknown customer 'C999'"


def test_high_value_is_the_top_10_pct_or_a_tier(client) -> None:
    top = client.get(f"{API}/high-value").json()
    assert [r["customer_id"] for r in top["items"]] == ["C1"] and top["total"] == 1
    high = client.get(f"{API}/high-value", params={"spend_tier": "high"}).json()
    assert [r["customer_id"] for r in high["items"]] == ["C1", "C3"]
    low = client.get(f"{API}/high-value", params={"spend_tier": "low"}).json()
    assert [r["customer_id"] for r in low["items"]] == ["C5", "C4", "@C6"]


def test_segments_list_every_segment(client) -> None:
    body = client.get(f"{API}/segments").json()
    assert body["total"] == 10 and sum(r["customers"] for r in body["items"]) == 6
    loyal = client.get(f"{API}/segments", params={"segment": "Loyal Customers"}).json()["items"]
    # C1 (r4 fm5), C2 (r3 fm4), C5 (r4 fm4): 1200 + 345 + 330.
    assert [(r["segment"], r["customers"], r["revenue"]) for r in loyal] == [("Loyal Customers", 3, 1875)]


def test_loyalty_analysis_by_hand(client) -> None:
    rows = client.get(f"{API}/loyalty-analysis").json()["items"]
    # repeat: C1 (3 invoices), C2 (2), C5 (2) -> 1875; one-time: C3, C4, @C6 -> 620.
    assert [(r["customer_type"], r["customers"], r["revenue"]) for r in rows] == [
        ("repeat", 3, 1875), ("one_time", 3, 620)]


def test_retention_curve_by_hand(client) -> None:
    rows = client.get(f"{API}/retention-analysis").json()["items"]
    curve = {r["months_since_first"]: r for r in rows}
    assert (curve[0]["cohorts"], curve[0]["cohort_customers"], curve[0]["customers"]) == (3, 6, 6)
    # month 1: January (3 customers, C1 C2 back) and February (2, C5 back) -> 3 / 5.
    assert (curve[1]["cohort_customers"], curve[1]["customers"]) == (5, 3)
    assert curve[1]["retention_rate"] == pytest.approx(0.6)
    # month 2: only January is old enough; C1 came back -> 1 / 3.
    assert (curve[2]["cohort_customers"], curve[2]["customers"]) == (3, 1)
    capped = client.get(f"{API}/retention-analysis", params={"max_months": 1}).json()["items"]
    assert [r["months_since_first"] for r in capped] == [0, 1]
