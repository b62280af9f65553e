"""stores/*: answers worked out by hand from sales.csv (see conftest.py)."""

from __future__ import annotations

import pytest

API = "/api/v1/stores"


def test_performance_by_hand(client) -> None:
    body = client.get(f"{API}/performance").json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (3, 100, 0)
    got = [(r["store"], r["region"], r["revenue"], r["transactions"], r["customers"], r["rank"]) for r in body["items"]]
    assert got == [
        ("Kanyon", "European Side", 915, 3, 2, 1),
        ("Zorlu Center", "European Side", 905, 3, 3, 2),
        ("Metropol AVM", "Asian Side", 675, 4, 2, 3),
    ]
    kanyon = body["items"][0]
    assert kanyon["avg_transaction_value"] == pytest.approx(305)
    assert kanyon["revenue_share"] == pytest.approx(915 / 2495)


def test_items_carry_every_lake_schemas_column(client) -> None:
    from retail_lake import schemas

    item = client.get(f"{API}/performance").json()["items"][0]
    assert list(item) == schemas.table("store_performance").column_names


def test_filters_sort_and_paging(client) -> None:
    asian = client.get(f"{API}/performance", params={"region": "Asian Side"}).json()
    assert [r["store"] for r in asian["items"]] == ["Metropol AVM"] and asian["total"] == 1
    by_transactions = client.get(f"{API}/performance", params={"sort": "-transactions", "limit": 1}).json()
    assert [r["store"] for r in by_transactions["items"]] == ["Metropol AVM"]
    assert (by_transactions["total"], by_transactions["limit"]) == (3, 1)
    second = client.get(f"{API}/performance", params={"limit": 1, "offset": 1}).json()
    assert [r["store"] for r in second["items"]] == ["Zorlu Center"] and second["total"] == 3
    several = client.get(f"{API}/performance", params={"store": "Kanyon,Metropol AVM"}).json()
    assert [r["store"] for r in several["items"]] == ["Kanyon", "Metropol AVM"]
    past_the_end = client.get(f"{API}/performance", params={"offset": 10}).json()
    assert past_the_end["items"] == [] and past_the_end["total"] == 3


def test_comparison_keeps_the_order_asked_and_404s_unknown_stores(client) -> None:
    body = client.get(f"{API}/comparison", params={"stores": "Metropol AVM,Kanyon"}).json()
    assert [(r["store"], r["revenue"]) for r in body["items"]] == [("Metropol AVM", 675), ("Kanyon", 915)]
    assert body["total"] == 2
    missing = client.get(f"{API}/comparison", params={"stores": "Kanyon,Atlantis Mall"})
    assert missing.status_code == 404
    assert "Atlantis Mall" in missing.json()["message"]
    assert client.get(f"{API}/comparison").status_code == 422


def test_top_performers_by_n_percent_and_metric(client) -> None:
    top = client.get(f"{API}/top-performers", params={"n": 2}).json()
    assert [r["store"] for r in top["items"]] == ["Kanyon", "Zorlu Center"]
    # 34 % of 3 stores -> ceil(1.02) = 2 stores.
    pct = client.get(f"{API}/top-performers", params={"top_pct": 34}).json()
    assert [r["store"] for r in pct["items"]] == ["Kanyon", "Zorlu Center"]
    by_customers = client.get(f"{API}/top-performers", params={"n": 1, "metric": "customers"}).json()
    assert [r["store"] for r in by_customers["items"]] == ["Zorlu Center"]
    # Both: n caps the percentage's count (100 % of 3 stores, at most 1).
    both = client.get(f"{API}/top-performers", params={"n": 1, "top_pct": 100}).json()
    assert [r["store"] for r in both["items"]] == ["Kanyon"]


def test_regional_analysis_by_hand(client) -> None:
    body = client.get(f"{API}/regional-analysis").json()
    assert [(r["region"], r["stores"], r["revenue"], r["top_store"]) for r in body["items"]] == [
        ("European Side", 2, 1820, "Kanyon"),
        ("Asian Side", 1, 675, "Metropol AVM"),
    ]
