"""The analytics tables written the way a data engineer would first write them with pandas.

Same definitions as retail_lake/analytics/sql (revenue = sum(price), transaction = distinct
invoice_no, tie-aware RFM quintiles + the segment grid, cohorts, seasonality, payment mix,
store/region performance, customer value, repeat vs one-time, profitability with the same cost
assumptions, category insights), with groupby/merge over the curated Parquet. It reads the lake's
curated/sales files directly (the bench lake is compacted: one upload, no superseded rows).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from retail_lake.analytics._sql import DEFAULT_CATEGORY, age_bands, cost_assumptions, rfm_segment_rules

COLUMNS = ["invoice_no", "customer_id", "gender", "age", "category", "quantity", "price", "payment_method",
           "invoice_date", "shopping_mall", "discount", "unit_cost"]


def load(lake: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    sales = pd.read_parquet(Path(lake) / "curated" / "sales", columns=COLUMNS)
    sales["invoice_date"] = pd.to_datetime(sales["invoice_date"])
    stores_dir = Path(lake) / "curated" / "stores"
    if stores_dir.exists() and any(stores_dir.rglob("*.parquet")):
        stores = pd.read_parquet(stores_dir)
    else:
        stores = pd.read_csv(Path(__file__).resolve().parents[1] / "layers" / "retail_lake" / "reference"
                             / "stores_default.csv")
    return sales, stores


def _scores(values: pd.Series, ascending: bool) -> pd.Series:
    """Tie-aware quintile: 1 + floor(5 * (rank_low - 1 + rank_high) / (2n))."""
    v = values if ascending else -values
    low = v.rank(method="min")
    high = v.rank(method="max")
    return (1 + np.floor(5 * (low - 1 + high) / (2 * len(v)))).astype(int)


def compute(lake: str) -> dict[str, pd.DataFrame]:
    sales, stores = load(lake)
    out: dict[str, pd.DataFrame] = {}
    store_map = stores.groupby("shopping_mall").agg(district=("district", "max"), region=("region", "max"))
    sales = sales.merge(store_map, left_on="shopping_mall", right_index=True, how="left")
    sales["region"] = sales["region"].fillna("Unassigned")

    # store and region performance
    st = sales.groupby("shopping_mall").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"),
                                            customers=("customer_id", "nunique"), units=("quantity", "sum"))
    st["avg_transaction_value"] = st.revenue / st.transactions
    st["revenue_per_customer"] = st.revenue / st.customers
    st["revenue_share"] = st.revenue / st.revenue.sum()
    st["rank"] = st.revenue.rank(ascending=False, method="min")
    out["store_performance"] = st.reset_index()
    rg = sales.groupby("region").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"),
                                     customers=("customer_id", "nunique"), stores=("shopping_mall", "nunique"))
    rg["revenue_share"] = rg.revenue / rg.revenue.sum()
    out["region_performance"] = rg.reset_index()

    # RFM
    reference = sales.invoice_date.max()
    cust = sales.groupby("customer_id").agg(first=("invoice_date", "min"), last=("invoice_date", "max"),
                                            frequency=("invoice_no", "nunique"), monetary=("price", "sum"))
    cust["recency_days"] = (reference - cust["last"]).dt.days
    cust["r_score"] = _scores(cust.recency_days, ascending=False)
    cust["f_score"] = _scores(cust.frequency, ascending=True)
    cust["m_score"] = _scores(cust.monetary, ascending=True)
    cust["fm_score"] = (cust.f_score + cust.m_score + 1) // 2
    cust["segment"] = "Unclassified"
    for rule in rfm_segment_rules():
        hit = cust.r_score.between(rule["r_min"], rule["r_max"]) & cust.fm_score.between(rule["fm_min"], rule["fm_max"])
        cust.loc[hit, "segment"] = rule["segment"]
    out["customer_rfm"] = cust.reset_index()
    seg = cust.groupby("segment").agg(customers=("monetary", "size"), revenue=("monetary", "sum"))
    out["rfm_segments"] = seg.reindex([r["segment"] for r in rfm_segment_rules()], fill_value=0).reset_index()

    # customer value, repeat vs one-time
    cv = cust.reset_index().sort_values(["monetary", "customer_id"], ascending=[False, True])
    n = len(cv)
    cv["revenue_rank"] = np.arange(1, n + 1)
    cv["is_top_10_pct"] = cv.revenue_rank <= math.ceil(n / 10)
    cv["spend_tier"] = np.where(cv.revenue_rank <= math.ceil(n * 2 / 10), "high",
                                np.where(cv.revenue_rank <= math.ceil(n * 5 / 10), "medium", "low"))
    cv["tier_revenue_share"] = cv.groupby("spend_tier").monetary.transform("sum") / cv.monetary.sum()
    out["customer_value"] = cv
    cust["customer_type"] = np.where(cust.frequency >= 2, "repeat", "one_time")
    rv = cust.groupby("customer_type").agg(customers=("monetary", "size"), revenue=("monetary", "sum"))
    rv = rv.reindex(["repeat", "one_time"], fill_value=0)
    rv["revenue_share"] = rv.revenue / rv.revenue.sum()
    out["repeat_vs_onetime"] = rv.reset_index()

    # profitability and discount impact (assumed costs unless uploaded)
    costs = cost_assumptions()
    default = costs[DEFAULT_CATEGORY]
    ratio = sales.category.map({k: v["cost_ratio"] for k, v in costs.items()}).fillna(default["cost_ratio"])
    rate = sales.category.map({k: v["discount_rate"] for k, v in costs.items()}).fillna(default["discount_rate"])
    sales["discount_value"] = sales["discount"].fillna(sales.price * rate / (1 - rate))
    sales["gross"] = sales.price + sales.discount_value
    sales["cost"] = (sales.unit_cost * sales.quantity).fillna(sales.gross * ratio)
    sales["line_rate"] = np.where(sales["discount"].isna(), rate, sales["discount"] / (sales.price + sales["discount"]))
    prof = []
    for keys in ([], ["category"], ["shopping_mall", "region"], ["category", "shopping_mall", "region"]):
        g = (sales.groupby(keys) if keys else sales.assign(_all=1).groupby("_all")).agg(
            transactions=("invoice_no", "nunique"), units=("quantity", "sum"), revenue=("price", "sum"),
            gross_revenue=("gross", "sum"), discount=("discount_value", "sum"), cost=("cost", "sum"))
        g["margin"] = g.revenue - g.cost
        g["margin_pct"] = g.margin / g.revenue
        g["breakdown"] = {0: "overall", 1: "category", 2: "store", 3: "category_store"}[len(keys)]
        prof.append(g.reset_index())
    out["profitability"] = pd.concat(prof, ignore_index=True)
    sales["discount_band"] = pd.cut(sales.line_rate.fillna(0), [-np.inf, 0, 0.1, 0.2, 0.3, np.inf], right=False,
                                    labels=["none", "0-10%", "10-20%", "20-30%", "30%+"])
    sales.loc[sales.line_rate.fillna(0) <= 0, "discount_band"] = "none"
    di = sales.groupby(["category", "discount_band"], observed=True).agg(
        lines=("price", "size"), transactions=("invoice_no", "nunique"), revenue=("price", "sum"),
        cost=("cost", "sum"))
    out["discount_impact"] = di.reset_index()

    # seasonality
    sales["month"] = sales.invoice_date.dt.to_period("M")
    mo = sales.groupby("month").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"),
                                    customers=("customer_id", "nunique"), units=("quantity", "sum"),
                                    days_with_sales=("invoice_date", "nunique"))
    mo["seasonality_index"] = mo.revenue / mo.revenue.mean()
    mo["revenue_mom_growth"] = mo.revenue / mo.revenue.shift(1) - 1
    out["seasonality_monthly"] = mo.reset_index()
    sales["quarter"] = sales.invoice_date.dt.to_period("Q")
    qu = sales.groupby("quarter").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"),
                                      customers=("customer_id", "nunique"), units=("quantity", "sum"))
    qu["seasonality_index"] = qu.revenue / qu.revenue.mean()
    out["seasonality_quarterly"] = qu.reset_index()
    daily = sales.groupby("invoice_date").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"))
    daily["day_of_week"] = daily.index.dayofweek + 1
    wd = daily.groupby("day_of_week").agg(revenue=("revenue", "sum"), days=("revenue", "size"))
    wd["seasonality_index"] = (wd.revenue / wd.days) / (wd.revenue.sum() / wd.days.sum())
    out["seasonality_weekday"] = wd.reset_index()

    # payment methods (age bands as in reference/age_bands.yaml)
    sales["age_band"] = "Unknown"
    for band in age_bands():
        sales.loc[sales.age.between(band["min_age"], band["max_age"]), "age_band"] = band["age_band"]
    sales["payment_method"] = sales.payment_method.fillna("Unknown")
    sales["gender"] = sales.gender.fillna("Unknown")
    pay = []
    for name, col in (("overall", None), ("age_band", "age_band"), ("gender", "gender"), ("store", "shopping_mall"),
                      ("region", "region")):
        keys = [col, "payment_method"] if col else ["payment_method"]
        g = sales.groupby(keys).agg(transactions=("invoice_no", "nunique"), revenue=("price", "sum")).reset_index()
        g["breakdown"] = name
        g["breakdown_value"] = g[col] if col else "all"
        g["share"] = g.transactions / g.groupby("breakdown_value").transactions.transform("sum")
        pay.append(g[["breakdown", "breakdown_value", "payment_method", "transactions", "revenue", "share"]])
    out["payment_methods"] = pd.concat(pay, ignore_index=True)

    # category insights
    lines = sales.merge(cust[["segment"]], left_on="customer_id", right_index=True)
    ca = sales.groupby("category").agg(revenue=("price", "sum"), transactions=("invoice_no", "nunique"),
                                       units=("quantity", "sum"), customers=("customer_id", "nunique"))
    top_seg = lines.groupby(["category", "segment"]).price.sum().reset_index().sort_values(
        ["category", "price", "segment"], ascending=[True, False, True]).groupby("category").first()
    ca["top_segment"] = top_seg.segment
    out["category_insights"] = ca.reset_index()

    # cohorts
    sales["cohort"] = sales.customer_id.map(cust["first"].dt.to_period("M"))
    co = sales.groupby(["cohort", "month"]).agg(customers=("customer_id", "nunique"), revenue=("price", "sum"))
    co = co.reset_index()
    sizes = co[co.cohort == co.month].set_index("cohort").customers
    co["retention_rate"] = co.customers / co.cohort.map(sizes)
    out["cohort_retention"] = co
    return out


def headline(tables: dict[str, pd.DataFrame]) -> dict:
    """The figures the bench compares with the project's tables."""
    st = tables["store_performance"]
    seg = tables["rfm_segments"]
    pay = tables["payment_methods"]
    co = tables["cohort_retention"]
    return {
        "store_revenue": {r.shopping_mall: float(r.revenue) for r in st.itertuples()},
        "store_transactions": {r.shopping_mall: int(r.transactions) for r in st.itertuples()},
        "segment_customers": {r.segment: int(r.customers) for r in seg.itertuples()},
        "repeat_customers": int(tables["repeat_vs_onetime"].set_index("customer_type").customers["repeat"]),
        "overall_payment_transactions": {
            r.payment_method: int(r.transactions) for r in pay[pay.breakdown == "overall"].itertuples()},
        "cohort_month0_customers": int(co[co.cohort == co.month].customers.sum()),
        "total_cost": float(tables["profitability"].query("breakdown == 'overall'").cost.iloc[0]),
        "tables": len(tables),
    }
