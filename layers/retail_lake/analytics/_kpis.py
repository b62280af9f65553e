"""Headline KPIs over a connected lake (the CLI's closing lines and the README's main command)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def headline_kpis(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Total revenue, transactions and customers, the top store and the share of repeat customers.

    Read from the computed tables, never by scanning `sales` again: every customer is in exactly one
    row of repeat_vs_onetime ('repeat' or 'one_time'), so its sums are the lake's exact totals.
    """
    revenue, transactions, customers = con.execute(
        "SELECT COALESCE(SUM(revenue), 0), COALESCE(SUM(transactions), 0), COALESCE(SUM(customers), 0) "
        "FROM repeat_vs_onetime"
    ).fetchone()
    top = con.execute(
        'SELECT store, revenue_share FROM store_performance ORDER BY "rank", store LIMIT 1'
    ).fetchone()
    repeat = con.execute(
        "SELECT customer_share FROM repeat_vs_onetime WHERE customer_type = 'repeat'"
    ).fetchone()
    return {
        "total_revenue": float(revenue),
        "transactions": int(transactions),
        "customers": int(customers),
        "top_store": top[0] if top else None,
        "top_store_revenue_share": top[1] if top else None,
        "repeat_customer_share": repeat[0] if repeat else None,
    }


def format_kpis(kpis: dict[str, Any]) -> list[str]:
    """Human lines for a terminal."""
    lines = [
        f"total revenue:       {kpis['total_revenue']:,.2f}",
        f"transactions:        {kpis['transactions']:,}",
        f"customers:           {kpis['customers']:,}",
    ]
    if kpis.get("top_store"):
        share = kpis.get("top_store_revenue_share") or 0.0
        lines.append(f"top store:           {kpis['top_store']} ({share:.1%} of revenue)")
    if kpis.get("repeat_customer_share") is not None:
        lines.append(f"repeat customers:    {kpis['repeat_customer_share']:.1%}")
    return lines
