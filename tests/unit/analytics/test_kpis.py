"""The CLI's headline KPIs come from the computed tables and equal the totals of `sales`."""

from __future__ import annotations

from retail_lake.analytics import headline_kpis
from tests.unit.analytics.conftest import compute, sale

# C1 buys twice (repeat), C2 once: revenue 100 + 50 + 30 = 180, 3 invoices (I1 has two lines).
ROWS = [
    sale("I1", "C1", "2024-01-05", 60, shopping_mall="Kanyon"),
    sale("I1", "C1", "2024-01-05", 40, shopping_mall="Kanyon", category="Shoes"),
    sale("I2", "C1", "2024-02-01", 50, shopping_mall="Zorlu Center"),
    sale("I3", "C2", "2024-02-02", 30, shopping_mall="Kanyon"),
]


def test_headline_kpis_from_tables(tmp_path, settings) -> None:
    con = compute(tmp_path, ROWS, settings, ["repeat_vs_onetime", "store_performance"])
    kpis = headline_kpis(con)
    assert kpis["total_revenue"] == 180.0
    assert kpis["transactions"] == 3 and kpis["customers"] == 2
    assert kpis["top_store"] == "Kanyon" and abs(kpis["top_store_revenue_share"] - 130 / 180) < 1e-9
    assert kpis["repeat_customer_share"] == 0.5
