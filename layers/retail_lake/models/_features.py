"""Feature SQL: per-customer features at a cut-off date, weekly revenue series, straight into numpy.

A *purchase* is a customer-day with spend: two invoices of one customer on one day are one purchase
(what BG/NBD counts) in the calibration period and in the holdout window alike, so the holdout is
aggregated exactly like the history it is compared with (a pitfall of mixing per-invoice targets
with per-period features).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from retail_lake.models._data import fetch_arrays

if TYPE_CHECKING:
    import duckdb

__all__ = ["SEGMENTATION_FEATURES", "customer_windows", "prepare", "segmentation_features", "weekly_revenue"]

SEGMENTATION_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "days_between_purchases",
    "category_breadth",
    "avg_basket",
)


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Customer-day purchases and first dates per category/store (built once per run from ``lines``).

    Spend stays DECIMAL (exact, so every run on the same lake gives the same numbers) until the
    feature queries hand it out as DOUBLE.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE customer_days AS
        SELECT customer_id, day, sum(price) AS spend, count(DISTINCT invoice_no) AS invoices
        FROM lines GROUP BY customer_id, day
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE customer_category_firsts AS
        SELECT customer_id, category, min(day) AS first_day FROM lines GROUP BY customer_id, category
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE customer_store_firsts AS
        SELECT customer_id, store, min(day) AS first_day FROM lines GROUP BY customer_id, store
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE customer_profile AS
        SELECT customer_id,
               arg_max(age, day) FILTER (WHERE age IS NOT NULL) AS age,
               arg_max(CASE gender WHEN 'Female' THEN 1.0 WHEN 'Male' THEN 0.0 END, day)
                   FILTER (WHERE gender IS NOT NULL) AS female
        FROM lines GROUP BY customer_id
    """)


def _cutoffs_sql(cutoffs: Sequence[date]) -> str:
    rows = ", ".join(f"({k}, DATE '{c.isoformat()}')" for k, c in enumerate(cutoffs))
    return f"SELECT * FROM (VALUES {rows}) AS t(k, cutoff)"


def customer_windows(
    con: duckdb.DuckDBPyConnection, cutoffs: Sequence[date], window_days: int, with_target: bool = True
) -> dict[str, np.ndarray]:
    """One row per (cut-off k, customer known at that cut-off), ordered by k then customer_id.

    History columns use purchases on or before the cut-off; ``target_spend``/``target_purchases`` are
    the spend and purchase days in (cut-off, cut-off + window] of the same customers, aggregated the
    same way (0 for customers who did not come back).
    """
    w = int(window_days)
    target_cols = (
        ", CAST(coalesce(t.target_spend, 0) AS DOUBLE) AS target_spend, "
        "coalesce(t.target_purchases, 0) AS target_purchases"
    )
    target_join = (
        f"""
        LEFT JOIN (
            SELECT c.k, d.customer_id, sum(d.spend) AS target_spend, count(*) AS target_purchases
            FROM customer_days d JOIN cut c ON d.day > c.cutoff AND d.day <= c.cutoff + {w}
            GROUP BY c.k, d.customer_id
        ) t ON t.k = h.k AND t.customer_id = h.customer_id"""
        if with_target
        else ""
    )
    sql = f"""
        WITH cut AS ({_cutoffs_sql(cutoffs)}),
        h AS (
            SELECT c.k, c.cutoff, d.customer_id,
                   count(*) AS purchase_days, sum(d.invoices) AS invoices,
                   min(d.day) AS first_day, max(d.day) AS last_day,
                   sum(d.spend) AS monetary, max(d.spend) AS max_day_spend,
                   coalesce(sum(d.spend) FILTER (WHERE d.day > c.cutoff - {w}), 0) AS spend_recent,
                   count(*) FILTER (WHERE d.day > c.cutoff - {w}) AS days_recent,
                   coalesce(sum(d.spend) FILTER (WHERE d.day > c.cutoff - {2 * w} AND d.day <= c.cutoff - {w}), 0)
                       AS spend_previous
            FROM customer_days d JOIN cut c ON d.day <= c.cutoff
            GROUP BY c.k, c.cutoff, d.customer_id
        ),
        cats AS (
            SELECT c.k, f.customer_id, count(*) AS category_breadth
            FROM customer_category_firsts f JOIN cut c ON f.first_day <= c.cutoff GROUP BY c.k, f.customer_id
        ),
        shops AS (
            SELECT c.k, f.customer_id, count(*) AS stores
            FROM customer_store_firsts f JOIN cut c ON f.first_day <= c.cutoff GROUP BY c.k, f.customer_id
        )
        SELECT h.k, h.customer_id,
               date_diff('day', h.last_day, h.cutoff) AS recency_days,
               date_diff('day', h.first_day, h.cutoff) AS tenure_days,
               date_diff('day', h.first_day, h.last_day) AS active_days,
               h.purchase_days, h.invoices, CAST(h.monetary AS DOUBLE) AS monetary,
               CAST(h.monetary AS DOUBLE) / h.purchase_days AS avg_day_spend,
               CAST(h.max_day_spend AS DOUBLE) AS max_day_spend, CAST(h.spend_recent AS DOUBLE) AS spend_recent,
               h.days_recent, CAST(h.spend_previous AS DOUBLE) AS spend_previous,
               cats.category_breadth, shops.stores,
               CAST(p.age AS DOUBLE) AS age, p.female{target_cols if with_target else ""}
        FROM h
        JOIN cats ON cats.k = h.k AND cats.customer_id = h.customer_id
        JOIN shops ON shops.k = h.k AND shops.customer_id = h.customer_id
        LEFT JOIN customer_profile p ON p.customer_id = h.customer_id
        {target_join}
        ORDER BY h.k, h.customer_id
    """
    out = fetch_arrays(con, sql)
    for name in (
        "recency_days",
        "tenure_days",
        "active_days",
        "purchase_days",
        "invoices",
        "days_recent",
        "category_breadth",
        "stores",
        "k",
    ):
        out[name] = out[name].astype(np.int64)
    return out


def segmentation_features(con: duckdb.DuckDBPyConnection, reference: date) -> dict[str, np.ndarray]:
    """RFM and behaviour per customer at the reference date (the lake's latest invoice date).

    frequency counts distinct invoices and monetary sums line totals (DESIGN's definitions);
    days_between_purchases is the mean gap between purchase days, NaN for one-time buyers.
    """
    cols = customer_windows(con, [reference], 1, with_target=False)
    days = cols["purchase_days"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where(days > 1, cols["active_days"] / (days - 1), np.nan)
    return {
        "customer_id": cols["customer_id"],
        "recency_days": cols["recency_days"].astype(float),
        "frequency": cols["invoices"].astype(float),
        "monetary": cols["monetary"].astype(float),
        "tenure_days": cols["tenure_days"].astype(float),
        "days_between_purchases": between,
        "category_breadth": cols["category_breadth"].astype(float),
        "avg_basket": cols["monetary"] / np.maximum(cols["invoices"], 1),
    }


def weekly_revenue(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """Revenue per (store, Monday-starting week), 'ALL' included; missing weeks are not filled here."""
    return fetch_arrays(
        con,
        """
        WITH w AS (SELECT store, CAST(date_trunc('week', day) AS DATE) AS week, sum(price) AS revenue
                   FROM lines GROUP BY 1, 2)
        SELECT store, week, CAST(revenue AS DOUBLE) AS revenue FROM w
        UNION ALL
        SELECT 'ALL', week, CAST(sum(revenue) AS DOUBLE) FROM w GROUP BY week
        ORDER BY 1, 2
    """,
    )


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
