"""analytics/*: answers worked out by hand from sales.csv (see conftest.py), the campaign simulation."""

from __future__ import annotations

import math

import pytest

API = "/api/v1/analytics"


def test_rfm_filters_by_score_and_segment(client) -> None:
    body = client.get(f"{API}/rfm", params={"f_score": 5}).json()
    assert [(r["customer_id"], r["frequency"], r["monetary"]) for r in body["items"]] == [("C1", 3, 1200)]
    # C2: r 3 (position 3), f 4 (positions 4-5), m 3 (position 4) -> fm 4; C5: r 4, f 4, m 3 -> fm 4.
    loyal = client.get(f"{API}/rfm", params={"segment": "Loyal Customers"}).json()
    assert [r["customer_id"] for r in loyal["items"]] == ["C1", "C2", "C5"]
    by_recency = client.get(f"{API}/rfm", params={"sort": "-recency_days", "limit": 2}).json()
    assert [(r["customer_id"], r["recency_days"]) for r in by_recency["items"]] == [("C3", 36), ("C4", 27)]
    assert by_recency["total"] == 6


def test_seasonality_monthly_by_hand_and_month_range(client) -> None:
    rows = client.get(f"{API}/seasonality").json()["items"]
    assert [(r["month"], r["revenue"], r["transactions"]) for r in rows] == [
        ("2022-01-01", 1245, 3), ("2022-02-01", 915, 4), ("2022-03-01", 335, 3)]
    ranged = client.get(f"{API}/seasonality", params={"from": "2022-02", "to": "2022-02"}).json()["items"]
    assert [r["month"] for r in ranged] == ["2022-02-01"]
    quarterly = client.get(f"{API}/seasonality", params={"period": "quarterly"}).json()["items"]
    assert [(r["quarter_label"], r["revenue"]) for r in quarterly] == [("2022-Q1", 2495)]
    weekday = client.get(f"{API}/seasonality", params={"period": "weekday"}).json()
    assert sum(r["revenue"] for r in weekday["items"]) == 2495
    assert client.get(f"{API}/seasonality", params={"period": "yearly"}).status_code == 422


def test_payment_methods_overall_by_hand(client) -> None:
    rows = client.get(f"{API}/payment-methods", params={"breakdown": "overall"}).json()["items"]
    assert [(r["payment_method"], r["transactions"], r["share"]) for r in rows] == [
        ("Cash", 5, 0.5), ("Credit Card", 4, 0.4), ("Debit Card", 1, 0.1)]
    female = client.get(f"{API}/payment-methods", params={"breakdown": "gender", "breakdown_value": "Female"}).json()
    # Female invoices: I1 I2 (Credit Card), I3 (Cash), I6 (Debit Card), I8 I9 (Credit Card).
    assert {r["payment_method"]: r["transactions"] for r in female["items"]} == {
        "Credit Card": 4, "Cash": 1, "Debit Card": 1}


def test_profitability_and_category_insights(client) -> None:
    overall = client.get(f"{API}/profitability", params={"breakdown": "overall"}).json()["items"]
    assert len(overall) == 1 and overall[0]["revenue"] == 2495 and overall[0]["cost_basis"] == "assumed"
    categories = client.get(f"{API}/category-insights").json()["items"]
    # Clothing 600 + 300 + 300 + 300 = 1500, Shoes 900, Books 45 + 15 + 30 + 5 = 95.
    assert [(r["category"], r["revenue"], r["rank"]) for r in categories] == [
        ("Clothing", 1500, 1), ("Shoes", 900, 2), ("Books", 95, 3)]


def test_cohort_analysis_by_hand(client) -> None:
    rows = client.get(f"{API}/cohort-analysis").json()["items"]
    got = {(r["cohort_month"], r["months_since_first"]): (r["cohort_size"], r["customers"]) for r in rows}
    assert got[("2022-01-01", 0)] == (3, 3)
    assert got[("2022-01-01", 1)] == (3, 2)
    assert got[("2022-01-01", 2)] == (3, 1)
    assert got[("2022-02-01", 1)] == (2, 1)
    assert got[("2022-03-01", 0)] == (1, 1)
    february = client.get(f"{API}/cohort-analysis", params={"from": "2022-02", "to": "2022-02"}).json()["items"]
    assert {r["cohort_month"] for r in february} == {"2022-02-01"}
    month_one = client.get(f"{API}/cohort-analysis", params={"months_since_first": 1}).json()["items"]
    assert [r["cohort_month"] for r in month_one] == ["2022-01-01", "2022-02-01"]


# --- campaign simulation ------------------------------------------------------------------------------

def simulate_via_api(client, **body):
    response = client.post(f"{API}/campaign-simulation", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_campaign_on_a_spend_tier_from_history(client) -> None:
    """High tier = C1 (1200) + C3 (600). History runs 2022-01-05..2022-03-02 = 57 days, so a 57-day
    horizon's baseline is exactly their revenue, 1800."""
    from retail_lake.api.simulation import CampaignInputs, simulate

    result = simulate_via_api(client, target={"spend_tier": "high"}, discount_rate=0.1, response_rate=0.5,
                              uplift=0.2, cost_per_contact=2, horizon_days=57)
    assert result["customers_targeted"] == 2
    assert result["baseline_revenue"] == pytest.approx(1800)
    assert result["baseline_source"] == "history"
    margin = client.get(f"{API}/profitability", params={"breakdown": "overall"}).json()["items"][0]
    assert result["margin_rate"] == pytest.approx(margin["margin_pct"])
    assert result["margin_basis"] == "assumed"
    expected = simulate(CampaignInputs(2, 1800, margin["margin_pct"], 0.1, 0.5, 0.2, 2)).as_dict()
    for key, value in expected.items():
        assert result[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    # Responders' purchases: 1800 * 0.5 * 1.2 = 1080; discount 108; contacts 2 * 2 = 4.
    assert (result["discount_cost"], result["contact_cost"]) == (pytest.approx(108), 4)
    assert result["assumptions"]["horizon_days"] == 57 and result["assumptions"]["notes"]
    assert set(result["tables"]) == {"customer_profile", "profitability"}


def test_campaign_targets_segments_and_top_percent(client) -> None:
    loyal = simulate_via_api(client, target={"segments": ["Loyal Customers"]}, horizon_days=57)
    assert (loyal["customers_targeted"], loyal["baseline_revenue"]) == (3, pytest.approx(1875))
    # top 34 % of 6 customers -> ceil(2.04) = 3: C1, C3, C2 (2145).
    top = simulate_via_api(client, target={"top_pct": 34}, horizon_days=57)
    assert (top["customers_targeted"], top["baseline_revenue"]) == (3, pytest.approx(2145))
    assert top["target"]["kind"] == "top_pct"
    # The flat form and case-insensitive segment names are accepted too.
    flat = simulate_via_api(client, segments=["loyal customers"], horizon_days=57)
    assert flat["customers_targeted"] == 3 and flat["target"]["segments"] == ["Loyal Customers"]
    nobody = simulate_via_api(client, target={"segments": ["Champions"]})
    assert nobody["customers_targeted"] == 0 and nobody["roi"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"target": {"spend_tier": "gold"}}, "target"),
    ({"target": {"segments": ["Nobody"]}}, "target"),
    ({"target": {"top_pct": 10}, "response_rate": 1.5}, "response_rate"),
    ({"target": {"top_pct": 10}, "uplift": -0.1}, "uplift"),
    ({"target": {"top_pct": 10}, "cost_per_contact": -1}, "cost_per_contact"),
    ({"target": {"top_pct": 10}, "horizon_days": 0}, "horizon_days"),
    ({"discount_rate": 0.1}, "target"),
])
def test_campaign_rejects_bad_input_naming_the_field(client, body, field) -> None:
    response = client.post(f"{API}/campaign-simulation", json=body)
    assert response.status_code == 422
    assert field in response.json()["message"]


def test_campaign_body_over_1_mb_is_413(client) -> None:
    body = b'{"target": {"top_pct": 10}, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post(f"{API}/campaign-simulation", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "bytes" in response.json()["message"]

    def chunks():  # no Content-Length: counted while it is read
        yield body[: len(body) // 2]
        yield body[len(body) // 2:]

    streamed = client.post(f"{API}/campaign-simulation", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_break_even_response_rate_is_where_margin_is_zero(client) -> None:
    result = simulate_via_api(client, target={"spend_tier": "high"}, discount_rate=0.01, response_rate=0.3,
                              uplift=0.5, cost_per_contact=5, horizon_days=57)
    rate = result["break_even_response_rate"]
    assert rate is not None and rate > 0
    again = simulate_via_api(client, target={"spend_tier": "high"}, discount_rate=0.01, response_rate=min(rate, 1),
                             uplift=0.5, cost_per_contact=5, horizon_days=57)
    if rate <= 1:
        assert math.isclose(again["incremental_margin"], 0, abs_tol=1e-6)
