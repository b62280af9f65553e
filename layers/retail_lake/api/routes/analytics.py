"""/api/v1/analytics: RFM, profitability, seasonality, payment methods, categories, cohorts, campaigns."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from retail_lake import schemas
from retail_lake.api._render import json_response
from retail_lake.api.deps import LakeDep
from retail_lake.api.routes._common import (
    DEFAULT_LIMIT,
    Format,
    Limit,
    Month,
    Offset,
    list_responses,
    list_table,
    page_model,
    sort_param,
)
from retail_lake.api.schemas import ERROR_RESPONSES, CampaignRequest, CampaignResult, ListPage, table_model
from retail_lake.api.schemas.campaign import SegmentsTarget, SpendTierTarget, TopPercentTarget
from retail_lake.api.simulation import CampaignInputs, clv_baseline, history_baseline, simulate

router = APIRouter(prefix="/analytics", tags=["analytics"])

Score = Annotated[int | None, Query(ge=1, le=5)]


def month_start(value: str | None) -> date | None:
    """'2022-03' (or '2022-03-17') -> 2022-03-01."""
    if value is None:
        return None
    year, month = value[:7].split("-")
    return date(int(year), int(month), 1)


@router.get("/rfm", response_model=page_model("customer_rfm"), responses=list_responses("customer_rfm"),
            summary="Every customer's recency, frequency, monetary, scores and segment")
async def rfm(request: Request, lake: LakeDep,
        segment: Annotated[str | None, Query(description="Only these segments (comma-separated).")] = None,
        customer_id: Annotated[str | None, Query(description="Only these customers (comma-separated).")] = None,
        r_score: Score = None, f_score: Score = None, m_score: Score = None,
        sort: sort_param("customer_rfm") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
        format: Format = "json") -> Response:
    """`customer_rfm`: per customer the days since the last invoice (recency_days, from the lake's
    latest invoice date), distinct invoices (frequency), revenue (monetary), the 1-5 quintile scores
    (5 = best) and the named segment. In customer_id order unless `sort` says otherwise."""
    return list_table(request, lake, "customer_rfm",
                      filters={"segment": segment, "customer_id": customer_id, "r_score": r_score,
                               "f_score": f_score, "m_score": m_score},
                      sort=sort, limit=limit, offset=offset, fmt=format)


@router.get("/profitability", response_model=page_model("profitability"), responses=list_responses("profitability"),
            summary="Revenue, discount, cost and margin overall, per category, store and both")
async def profitability(request: Request, lake: LakeDep,
                  breakdown: Annotated[Literal["overall", "category", "store", "category_store"] | None,
                                       Query(description="One breakdown (default: all).")] = None,
                  category: Annotated[str | None, Query(description="Only these categories.")] = None,
                  store: Annotated[str | None, Query(description="Only these stores.")] = None,
                  region: Annotated[str | None, Query(description="Only stores of these regions.")] = None,
                  sort: sort_param("profitability") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                  format: Format = "json") -> Response:
    """`profitability`: revenue, gross revenue, discount, cost, margin and margin % per breakdown
    ('overall', 'category', 'store', 'category_store'; aggregated dimensions read 'All').
    `cost_basis` says whether costs are the uploads' own unit_cost ('actual') or the per-category
    assumptions of reference/cost_assumptions.yaml ('assumed')."""
    return list_table(request, lake, "profitability",
                      filters={"breakdown": breakdown, "category": category, "store": store, "region": region},
                      sort=sort, default_sort=["breakdown", "-revenue"], limit=limit, offset=offset, fmt=format)


SEASONALITY_TABLES = {"monthly": "seasonality_monthly", "quarterly": "seasonality_quarterly",
                      "weekday": "seasonality_weekday"}
SEASONALITY_ORDER = {"monthly": "month", "quarterly": "quarter_start", "weekday": "day_of_week"}
_COMMON_SEASON_COLUMNS = sorted(
    set.intersection(*(set(c.name for c in schemas.table(t).columns) for t in SEASONALITY_TABLES.values())))
SeasonSort = Literal[tuple(v for c in _COMMON_SEASON_COLUMNS for v in (c, f"-{c}"))]  # type: ignore[valid-type]
SeasonalityRow = table_model("seasonality_monthly") | table_model("seasonality_quarterly") | table_model(
    "seasonality_weekday")


@router.get("/seasonality", response_model=ListPage[SeasonalityRow],  # type: ignore[valid-type]
            responses=list_responses("seasonality_monthly"),
            summary="Revenue and seasonality index by month, quarter or weekday")
async def seasonality(request: Request, lake: LakeDep,
                period: Annotated[Literal["monthly", "quarterly", "weekday"],
                                  Query(description="monthly (default), quarterly or weekday.")] = "monthly",
                start: Annotated[Month, Query(alias="from")] = None, end: Annotated[Month, Query(alias="to")] = None,
                sort: Annotated[SeasonSort | None, Query(description="A column the three periods share; '-' for "
                                                         "descending (default: time order).")] = None,
                limit: Limit = DEFAULT_LIMIT, offset: Offset = 0, format: Format = "json") -> Response:
    """Revenue, transactions, customers and the seasonality index (revenue / the average period) per
    month (`seasonality_monthly`), quarter (`seasonality_quarterly`) or day of the week
    (`seasonality_weekday`), with peak/low flags and growth rates. `from`/`to` (YYYY-MM) limit months
    and quarters."""
    table = SEASONALITY_TABLES[period]
    key = SEASONALITY_ORDER[period]
    where, params = _month_where(key if period != "weekday" else None, start, end)
    return list_table(request, lake, table, where=where, params=params, sort=sort, default_sort=key, limit=limit,
                      offset=offset, fmt=format)


def _month_where(column: str | None, start: str | None, end: str | None) -> tuple[str | None, list[Any]]:
    if column is None:
        return None, []
    parts, params = [], []
    if start:
        parts.append(f'"{column}" >= ?')
        params.append(month_start(start))
    if end:
        parts.append(f'"{column}" <= ?')
        params.append(month_start(end))
    return (" AND ".join(parts) or None), params


@router.get("/payment-methods", response_model=page_model("payment_methods"),
            responses=list_responses("payment_methods"),
            summary="The payment mix overall and per age band, gender, store or region")
async def payment_methods(request: Request, lake: LakeDep,
                    breakdown: Annotated[Literal["overall", "age_band", "gender", "store", "region"] | None,
                                         Query(description="One breakdown (default: all of them).")] = None,
                    breakdown_value: Annotated[str | None, Query(description="Only these groups (e.g. a store).")]
                    = None,
                    payment_method: Annotated[str | None, Query(description="Only these payment methods.")] = None,
                    sort: sort_param("payment_methods") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                    format: Format = "json") -> Response:
    """`payment_methods`: transactions, revenue and share (of the transactions of its group) of each
    payment method, overall (breakdown_value 'all') and within each age band, gender, store and
    region."""
    return list_table(request, lake, "payment_methods",
                      filters={"breakdown": breakdown, "breakdown_value": breakdown_value,
                               "payment_method": payment_method},
                      sort=sort, default_sort=["breakdown", "breakdown_value", "rank_in_group"], limit=limit,
                      offset=offset, fmt=format)


@router.get("/category-insights", response_model=page_model("category_insights"),
            responses=list_responses("category_insights"),
            summary="Per category: revenue, units, margin, top segment and customer mix")
async def category_insights(request: Request, lake: LakeDep,
                      category: Annotated[str | None, Query(description="Only these categories.")] = None,
                      sort: sort_param("category_insights") = None, limit: Limit = DEFAULT_LIMIT,
                      offset: Offset = 0, format: Format = "json") -> Response:
    """`category_insights`: revenue, share, rank, transactions, units, customers, average prices,
    margin (with its cost basis), the RFM segment and age band that bring the category the most
    revenue, and its gender mix."""
    return list_table(request, lake, "category_insights", filters={"category": category}, sort=sort,
                      default_sort="rank", limit=limit, offset=offset, fmt=format)


@router.get("/cohort-analysis", response_model=page_model("cohort_retention"),
            responses=list_responses("cohort_retention"),
            summary="Monthly cohorts: customers retained and revenue per month since the first purchase")
async def cohort_analysis(request: Request, lake: LakeDep,
                    start: Annotated[Month, Query(alias="from", description="First cohort month (YYYY-MM).")] = None,
                    end: Annotated[Month, Query(alias="to", description="Last cohort month (YYYY-MM).")] = None,
                    months_since_first: Annotated[int | None, Query(ge=0, le=600, description="Only this month "
                                                                    "offset (0 = the first month).")] = None,
                    sort: sort_param("cohort_retention") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                    format: Format = "json") -> Response:
    """`cohort_retention`: customers grouped by the month of their first purchase (cohort_month); for
    each month since, how many bought again (customers, retention_rate = customers / cohort_size),
    their transactions and revenue. `from`/`to` limit the cohort months."""
    where, params = _month_where("cohort_month", start, end)
    return list_table(request, lake, "cohort_retention", where=where, params=params,
                      filters={"months_since_first": months_since_first}, sort=sort,
                      default_sort=["cohort_month", "months_since_first"], limit=limit, offset=offset, fmt=format)


# --- campaign simulation -------------------------------------------------------------------------------

PROFILE = "customer_profile"
CLV = "customer_clv"
_CAMPAIGN_EXAMPLE = {
    "target": {"kind": "segments", "segments": ["At Risk"], "top_pct": None, "spend_tier": None,
               "description": "customers in segment(s) At Risk"},
    "customers_targeted": 1200, "expected_responders": 240.0, "baseline_revenue": 90000.0,
    "baseline_source": "history", "baseline_note": "revenue 2021-01-01..2023-03-08 (797 days) scaled to 90 days",
    "responders_baseline_revenue": 18000.0, "responders_purchases": 23400.0, "projected_revenue": 91890.0,
    "incremental_revenue": 1890.0, "discount_cost": 3510.0, "contact_cost": 600.0, "campaign_cost": 4110.0,
    "margin_rate": 0.42, "margin_basis": "assumed", "baseline_margin": 37800.0, "incremental_gross_margin": 2268.0,
    "incremental_margin": -1842.0, "projected_margin": 35958.0, "roi": -0.448, "break_even_response_rate": None,
    "break_even_possible": False,
    "assumptions": {"discount_rate": 0.15, "response_rate": 0.2, "uplift": 0.3, "cost_per_contact": 0.5,
                    "horizon_days": 90, "baseline_requested": "auto", "notes": ["..."]},
    "tables": {"customer_profile": "20230309T020000000000Z-1a2b", "profitability": "20230309T020000000000Z-1a2b"},
}


@router.post("/campaign-simulation", response_model=CampaignResult,
             responses={200: {"content": {"application/json": {"example": _CAMPAIGN_EXAMPLE}}},
                        **ERROR_RESPONSES},
             summary="Simulate a discount campaign on a segment list, the top N % or a spend tier")
async def campaign_simulation(lake: LakeDep, request_body: Annotated[CampaignRequest, Body()]) -> Response:
    """Targets customers by RFM segments, the top N % by spend or a spend tier (`customer_profile`) and
    projects the campaign over `horizon_days`: baseline revenue (from history, or from the CLV
    predictions once trained: `baseline_source` says which), projected and incremental revenue,
    discount and contact costs, incremental margin (margin rate from `profitability`, `margin_basis`
    says whether costs are actual or assumed), ROI and the break-even response rate. Every assumption
    is echoed back. The arithmetic is `retail_lake.api.simulation` (documented formulas)."""
    body = request_body
    use_clv = body.baseline == "clv" or (body.baseline == "auto" and lake.ready(CLV))
    tables = [PROFILE, "profitability"] + ([CLV] if use_clv else [])
    versions = lake.require(tables)
    where, params, target = _target_filter(lake, body)

    group = lake.sql(f"SELECT COUNT(*) AS customers, COALESCE(SUM(revenue), 0) AS revenue FROM {PROFILE} "
                     f"WHERE {where}", params, tables=[PROFILE])[0]
    window = lake.sql(f"SELECT MIN(first_invoice_date) AS first_day, "
                      f"COALESCE(MAX(reference_date), MAX(last_invoice_date)) AS last_day FROM {PROFILE}",
                      tables=[PROFILE])[0]
    first_day, last_day = window["first_day"], window["last_day"]
    observed_days = (last_day - first_day).days + 1 if first_day and last_day else 1
    history = history_baseline(group["revenue"], observed_days, body.horizon_days)
    history_note = (f"the group's revenue {first_day}..{last_day} ({observed_days} days) scaled to "
                    f"{body.horizon_days} days")
    baseline, source, note = history, "history", history_note

    if use_clv:
        horizons = [r["horizon_days"] for r in lake.sql(f"SELECT DISTINCT horizon_days FROM {CLV}", tables=[CLV])]
        if horizons:
            horizon = min(horizons, key=lambda h: (abs(h - body.horizon_days), h))
            clv = lake.sql(
                f"SELECT COUNT(c.customer_id) AS predicted, COALESCE(SUM(c.predicted_spend), 0) AS spend, "
                f"COALESCE(SUM(CASE WHEN c.customer_id IS NULL THEN p.revenue ELSE 0 END), 0) AS unpredicted_revenue, "
                f"MAX(c.model_version) AS model_version "
                f"FROM {PROFILE} p LEFT JOIN {CLV} c ON c.customer_id = p.customer_id AND c.horizon_days = ? "
                f"WHERE {where}", [horizon, *params], tables=[PROFILE, CLV])[0]
            predicted = int(clv["predicted"])
            if predicted:
                baseline = clv_baseline(clv["spend"], horizon, body.horizon_days) + history_baseline(
                    clv["unpredicted_revenue"], observed_days, body.horizon_days)
                source = "clv_predictions" if predicted == group["customers"] else "clv_predictions+history"
                note = (f"predicted spend over {horizon} days (customer_clv, model {clv['model_version']}) scaled to "
                        f"{body.horizon_days} days for {predicted:,} of {group['customers']:,} customers"
                        + ("" if source == "clv_predictions" else f"; the others from {history_note}"))

    margin = lake.sql("SELECT margin_pct, cost_basis FROM profitability WHERE breakdown = 'overall'",
                      tables=["profitability"])
    margin_rate = float(margin[0]["margin_pct"] or 0) if margin else 0.0
    margin_basis = (margin[0]["cost_basis"] if margin else "assumed") or "assumed"

    outcome = simulate(CampaignInputs(int(group["customers"]), baseline, margin_rate, body.discount_rate,
                                      body.response_rate, body.uplift, body.cost_per_contact))
    notes = [
        f"baseline: {note}",
        f"margin: {margin_rate:.4f} of revenue (profitability, overall; costs {margin_basis}"
        + (": per-category cost ratios in reference/cost_assumptions.yaml)" if margin_basis == "assumed" else ")"),
        "responders are average members of the group: their baseline is response_rate of the group's",
        "the discount applies to every purchase a responder makes within the horizon",
        "every targeted customer is contacted once at cost_per_contact",
    ]
    result = {
        "target": target,
        **outcome.as_dict(),
        "baseline_source": source,
        "baseline_note": note,
        "margin_basis": margin_basis if margin_basis in ("actual", "assumed") else "assumed",
        "assumptions": {"discount_rate": body.discount_rate, "response_rate": body.response_rate,
                        "uplift": body.uplift, "cost_per_contact": body.cost_per_contact,
                        "horizon_days": body.horizon_days, "baseline_requested": body.baseline, "notes": notes},
        "tables": {name: v.run_id for name, v in versions.items()},
    }
    return json_response(result)


def _target_filter(lake, body: CampaignRequest) -> tuple[str, list[Any], dict[str, Any]]:
    target = body.target
    if isinstance(target, SegmentsTarget):
        names = list(dict.fromkeys(target.segments))
        return (f"segment IN ({', '.join('?' for _ in names)})", names,
                {"kind": "segments", "segments": names, "top_pct": None, "spend_tier": None,
                 "description": f"customers in segment(s) {', '.join(names)}"})
    if isinstance(target, TopPercentTarget):
        customers = int(lake.sql(f"SELECT COUNT(*) AS n FROM {PROFILE}", tables=[PROFILE])[0]["n"])
        rank = math.ceil(customers * target.top_pct / 100)
        return ("revenue_rank <= ?", [rank],
                {"kind": "top_pct", "segments": None, "top_pct": target.top_pct, "spend_tier": None,
                 "description": f"the top {target.top_pct:g} % of customers by spend ({rank:,} of {customers:,})"})
    assert isinstance(target, SpendTierTarget)
    return ("spend_tier = ?", [target.spend_tier],
            {"kind": "spend_tier", "segments": None, "top_pct": None, "spend_tier": target.spend_tier,
             "description": f"customers of spend tier {target.spend_tier}"})
