"""Six analytics tables written the plain way a Polars user writes them (issue 11's reference).

Store performance, RFM with tie-aware quintile scores and the segment grid, payment mix, monthly
revenue, repeat vs one-time and the cohort retention matrix: ``group_by().agg()``, ``n_unique``,
``rank`` and a window ``min().over("customer_id")`` for cohorts, over the lake's curated Parquet
(the bench lake is compacted: one upload, no superseded rows). Same definitions as the SQL files.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from retail_lake.analytics._sql import rfm_segment_rules

COLUMNS = ["invoice_no", "customer_id", "category", "price", "payment_method", "invoice_date", "shopping_mall"]


def _score(value: pl.Expr, descending: bool) -> pl.Expr:
    """Tie-aware quintile: 1 + floor(5 * (rank_low - 1 + rank_high) / (2n))."""
    low = value.rank("min", descending=descending)
    high = value.rank("max", descending=descending)
    return (1 + (5 * (low - 1 + high) / (2 * pl.len())).floor()).cast(pl.Int32)


def compute(lake: str) -> dict[str, pl.DataFrame]:
    sales = pl.read_parquet(str(Path(lake) / "curated" / "sales" / "**" / "*.parquet"), columns=COLUMNS,
                            hive_partitioning=False)
    out: dict[str, pl.DataFrame] = {}

    out["store_performance"] = (
        sales.group_by("shopping_mall")
        .agg(revenue=pl.col("price").sum(), transactions=pl.col("invoice_no").n_unique(),
             customers=pl.col("customer_id").n_unique())
        .with_columns(avg_transaction_value=pl.col("revenue") / pl.col("transactions"),
                      revenue_share=pl.col("revenue") / pl.col("revenue").sum(),
                      rank=pl.col("revenue").rank("min", descending=True))
    )

    reference_date = sales["invoice_date"].max()
    rfm = (
        sales.group_by("customer_id")
        .agg(last=pl.col("invoice_date").max(), frequency=pl.col("invoice_no").n_unique(),
             monetary=pl.col("price").sum())
        .with_columns(recency_days=(pl.lit(reference_date) - pl.col("last")).dt.total_days())
        .with_columns(r_score=_score(pl.col("recency_days"), descending=True),
                      f_score=_score(pl.col("frequency"), descending=False),
                      m_score=_score(pl.col("monetary"), descending=False))
        .with_columns(fm_score=((pl.col("f_score") + pl.col("m_score") + 1) // 2))
    )
    rules = pl.DataFrame(rfm_segment_rules()).select("segment", "r_min", "r_max", "fm_min", "fm_max")
    grid = (
        pl.DataFrame({"r_score": list(range(1, 6))}).join(pl.DataFrame({"fm_score": list(range(1, 6))}),
                                                          how="cross")
        .join(rules, how="cross")
        .filter(pl.col("r_score").is_between("r_min", "r_max") & pl.col("fm_score").is_between("fm_min", "fm_max"))
        .select(pl.col("r_score").cast(pl.Int32), pl.col("fm_score").cast(pl.Int32), "segment")
    )
    out["customer_rfm"] = rfm.join(grid, on=["r_score", "fm_score"], how="left")

    out["payment_methods"] = (
        sales.group_by("payment_method")
        .agg(transactions=pl.col("invoice_no").n_unique(), revenue=pl.col("price").sum())
        .with_columns(share=pl.col("transactions") / pl.col("transactions").sum())
    )

    monthly = sales.with_columns(month=pl.col("invoice_date").dt.truncate("1mo"))
    out["seasonality_monthly"] = (
        monthly.group_by("month")
        .agg(revenue=pl.col("price").sum(), transactions=pl.col("invoice_no").n_unique())
        .with_columns(seasonality_index=pl.col("revenue") / pl.col("revenue").mean())
        .sort("month")
    )

    per_customer = sales.group_by("customer_id").agg(transactions=pl.col("invoice_no").n_unique(),
                                                     revenue=pl.col("price").sum())
    out["repeat_vs_onetime"] = (
        per_customer.with_columns(customer_type=pl.when(pl.col("transactions") >= 2).then(pl.lit("repeat"))
                                  .otherwise(pl.lit("one_time")))
        .group_by("customer_type").agg(customers=pl.len(), revenue=pl.col("revenue").sum())
        .with_columns(revenue_share=pl.col("revenue") / pl.col("revenue").sum())
    )

    cohorts = monthly.with_columns(cohort_month=pl.col("month").min().over("customer_id"))
    sizes = cohorts.group_by("cohort_month").agg(cohort_size=pl.col("customer_id").n_unique())
    out["cohort_retention"] = (
        cohorts.group_by("cohort_month", "month")
        .agg(customers=pl.col("customer_id").n_unique(), revenue=pl.col("price").sum())
        .join(sizes, on="cohort_month")
        .with_columns(retention_rate=pl.col("customers") / pl.col("cohort_size"))
        .sort("cohort_month", "month")
    )
    return out


def headline(tables: dict[str, pl.DataFrame]) -> dict:
    """The figures the bench compares with the project's tables (those these six tables have)."""
    st = tables["store_performance"]
    co = tables["cohort_retention"]
    repeat = tables["repeat_vs_onetime"].filter(pl.col("customer_type") == "repeat")
    by_segment = tables["customer_rfm"].group_by("segment").agg(customers=pl.len())
    segments = dict(zip(by_segment["segment"], by_segment["customers"], strict=True))
    return {
        "store_revenue": dict(zip(st["shopping_mall"], st["revenue"].cast(pl.Float64), strict=True)),
        "store_transactions": dict(zip(st["shopping_mall"], st["transactions"], strict=True)),
        "segment_customers": {rule["segment"]: segments.get(rule["segment"], 0) for rule in rfm_segment_rules()},
        "repeat_customers": int(repeat["customers"][0]) if repeat.height else 0,
        "overall_payment_transactions": dict(zip(tables["payment_methods"]["payment_method"],
                                                 tables["payment_methods"]["transactions"], strict=True)),
        "cohort_month0_customers": int(co.filter(pl.col("cohort_month") == pl.col("month"))["customers"].sum()),
        "tables": len(tables),
    }
