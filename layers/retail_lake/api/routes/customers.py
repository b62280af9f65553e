"""/api/v1/customers: RFM segments, high-value customers, one customer's insights, loyalty, retention."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from retail_lake.api._errors import NotFound, NotReady
from retail_lake.api._render import Payload, answer, list_payload
from retail_lake.api.deps import LakeDep
from retail_lake.api.routes._common import (
    DEFAULT_LIMIT,
    Format,
    Limit,
    Offset,
    list_responses,
    list_table,
    page_model,
    sort_param,
)
from retail_lake.api.schemas import ERROR_RESPONSES, ListPage, example_row, insights_model
from retail_lake.api.schemas.customers import RetentionPoint

router = APIRouter(prefix="/customers", tags=["customers"])

PROFILE = "customer_profile"
CLV = "customer_clv"


@router.get("/segments", response_model=page_model("rfm_segments"), responses=list_responses("rfm_segments"),
            summary="RFM segments: customers, revenue and averages per segment")
async def segments(request: Request, lake: LakeDep,
             segment: Annotated[str | None, Query(description="Only these segments (comma-separated).")] = None,
             sort: sort_param("rfm_segments") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
             format: Format = "json") -> Response:
    """Every RFM segment (Champions, Loyal Customers, ..., Lost; rules in reference/rfm_segments.yaml)
    with its customers, share, revenue, average recency/frequency/monetary, the score ranges that
    define it and the suggested action (`rfm_segments`). Segments without customers are listed too."""
    return list_table(request, lake, "rfm_segments", filters={"segment": segment}, sort=sort,
                      default_sort="segment_order", limit=limit, offset=offset, fmt=format)


@router.get("/high-value", response_model=page_model("customer_value"), responses=list_responses("customer_value"),
            summary="The top 10 % of customers by spend (or one spend tier)")
async def high_value(request: Request, lake: LakeDep,
               spend_tier: Annotated[Literal["high", "medium", "low"] | None,
                                     Query(description="A spend tier instead of the top 10 % (high = top 20 %, "
                                           "medium = next 30 %, low = the rest).")] = None,
               sort: sort_param("customer_value") = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
               format: Format = "json") -> Response:
    """Customers in the top 10 % by revenue (`customer_value.is_top_10_pct`), best first, with their
    revenue, transactions, rank, percentile, cumulative share (Pareto curve) and spend tier; or, with
    `spend_tier`, every customer of that tier."""
    filters: dict[str, Any] = {"spend_tier": spend_tier} if spend_tier else {"is_top_10_pct": True}
    return list_table(request, lake, "customer_value", filters=filters, sort=sort, default_sort="revenue_rank",
                      limit=limit, offset=offset, fmt=format)


_INSIGHTS_EXAMPLE = {**example_row(PROFILE), "first_purchase": "2021-01-04", "last_purchase": "2023-03-06",
                     "predicted_clv": 812.4, "probability_alive": 0.93, "clv_horizon_days": 90,
                     "clv_model_version": "20230301T020000Z", "predictions_available": True}


@router.get("/insights/{customer_id}", response_model=insights_model(),
            responses={200: {"content": {"application/json": {"example": _INSIGHTS_EXAMPLE}}},
                       304: {"description": "Not modified: the If-None-Match ETag is still current."},
                       **{k: v for k, v in ERROR_RESPONSES.items() if k != 413}},
            summary="One customer: RFM, spend tier, favourites and predicted CLV")
async def insights(request: Request, lake: LakeDep,
             customer_id: Annotated[str, Path(min_length=1, max_length=200, description="The customer's id.")]
             ) -> Response:
    """One customer's profile: `recency_days`, `frequency`, `monetary`, `r_score`, `f_score`,
    `m_score` and `segment` at the top level, their spend tier and top-10 % flag, first and last
    purchase, favourite category, store and payment method (`customer_profile`, one indexed lookup),
    and, once the training job has run, the predicted CLV and probability of being alive
    (`customer_clv`). 404 for a customer the lake does not know."""
    with_clv = lake.ready(CLV)
    tables = [PROFILE, CLV] if with_clv else [PROFILE]

    def build() -> Payload:
        row = lake.lookup(PROFILE, "customer_id", customer_id)
        if row is None:
            raise NotFound(f"unknown customer {customer_id!r}")
        body: dict[str, Any] = {**row, "first_purchase": row["first_invoice_date"],
                                "last_purchase": row["last_invoice_date"], "predicted_clv": None,
                                "probability_alive": None, "clv_horizon_days": None, "clv_model_version": None,
                                "predictions_available": False}
        if with_clv:
            try:
                predictions = lake.lookup_all(CLV, "customer_id", customer_id, order_by="horizon_days")
            except NotReady:
                predictions = []
            body["predictions_available"] = True
            if predictions:
                chosen = predictions[-1]  # the longest horizon trained
                body |= {"predicted_clv": chosen["predicted_spend"], "probability_alive": chosen["probability_alive"],
                         "clv_horizon_days": chosen["horizon_days"], "clv_model_version": chosen["model_version"]}
        return Payload(body)

    return answer(request, lake, tables, build)


@router.get("/loyalty-analysis", response_model=page_model("repeat_vs_onetime"),
            responses=list_responses("repeat_vs_onetime"),
            summary="Repeat against one-time customers")
async def loyalty_analysis(request: Request, lake: LakeDep,
                     customer_type: Annotated[Literal["repeat", "one_time"] | None,
                                              Query(description="Only one type.")] = None,
                     format: Format = "json") -> Response:
    """Customers with two or more invoices ('repeat') against those with one ('one_time'): customers,
    share, revenue, revenue share, transactions and averages per customer (`repeat_vs_onetime`)."""
    return list_table(request, lake, "repeat_vs_onetime", filters={"customer_type": customer_type},
                      fmt=format, limit=DEFAULT_LIMIT)


RETENTION_COLUMNS = ["months_since_first", "cohorts", "cohort_customers", "customers", "retention_rate",
                     "transactions", "revenue", "revenue_per_cohort_customer"]
_RETENTION_EXAMPLE = [{"months_since_first": 1, "cohorts": 26, "cohort_customers": 210514, "customers": 31877,
                       "retention_rate": 0.1514, "transactions": 33012, "revenue": 20481734.5,
                       "revenue_per_cohort_customer": 97.29}]


@router.get("/retention-analysis", response_model=ListPage[RetentionPoint],
            responses=list_responses("retention_curve", _RETENTION_EXAMPLE),
            summary="Retention curve: the share of customers still buying n months after their first")
async def retention_analysis(request: Request, lake: LakeDep,
                       max_months: Annotated[int | None, Query(ge=0, le=600, description="Up to this many "
                                                               "months after the first purchase.")] = None,
                       format: Format = "json") -> Response:
    """The retention curve over every cohort (`cohort_retention`): for each number of months since a
    customer's first purchase, the customers of the cohorts old enough to be observed that far, how
    many of them bought in that month and the rate (customers / cohort customers), with their revenue."""

    def build() -> Payload:
        cap = "" if max_months is None else "WHERE months_since_first <= ?"
        rows = lake.sql(
            "SELECT months_since_first, COUNT(*) AS cohorts, SUM(cohort_size) AS cohort_customers, "
            "SUM(customers) AS customers, "
            "CAST(SUM(customers) AS DOUBLE) / NULLIF(SUM(cohort_size), 0) AS retention_rate, "
            "SUM(transactions) AS transactions, SUM(revenue) AS revenue, "
            "CAST(SUM(revenue) AS DOUBLE) / NULLIF(SUM(cohort_size), 0) AS revenue_per_cohort_customer "
            f"FROM cohort_retention {cap} GROUP BY months_since_first ORDER BY months_since_first",
            [] if max_months is None else [max_months], tables=["cohort_retention"])
        return list_payload(RETENTION_COLUMNS, rows, len(rows), len(rows), 0)

    return answer(request, lake, ["cohort_retention"], build, fmt=format)
