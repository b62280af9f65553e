"""/api/v1/stores: store performance, comparison, top performers, regional analysis."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from retail_lake.api._errors import BadParameter, NotFound
from retail_lake.api._render import answer, list_payload
from retail_lake.api.deps import LakeDep
from retail_lake.api.routes._common import (
    DEFAULT_LIMIT,
    Format,
    Limit,
    Offset,
    filter_values,
    list_responses,
    list_table,
    page_model,
    sort_param,
)
from retail_lake.api.schemas import example_row

router = APIRouter(prefix="/stores", tags=["stores"])

STORES = "store_performance"
REGIONS = "region_performance"
# Measures a store can be ranked by (top-performers?metric=).
Metric = Literal["revenue", "transactions", "customers", "units", "avg_transaction_value", "revenue_per_customer",
                 "avg_units_per_transaction", "revenue_share"]


@router.get("/performance", response_model=page_model(STORES), responses=list_responses(STORES),
            summary="Revenue, transactions, customers and rank of every store")
async def performance(request: Request, lake: LakeDep,
                store: Annotated[str | None, Query(description="Only these stores (comma-separated).")] = None,
                region: Annotated[str | None, Query(description="Only stores of these regions.")] = None,
                sort: sort_param(STORES) = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                format: Format = "json") -> Response:
    """Every store (shopping mall) of the lake: revenue, transactions (distinct invoices), customers,
    average transaction value, revenue per customer, share of all revenue and rank (1 = most revenue),
    from the `store_performance` table. Ordered by rank unless `sort` says otherwise."""
    return list_table(request, lake, STORES, filters={"store": store, "region": region}, sort=sort,
                      default_sort="rank", limit=limit, offset=offset, fmt=format)


@router.get("/comparison", response_model=page_model(STORES),
            responses=list_responses(STORES, [example_row(STORES), {**example_row(STORES), "store": "Zorlu Center",
                                                                    "rank": 4}]),
            summary="Chosen stores side by side")
async def comparison(request: Request, lake: LakeDep,
               stores: Annotated[str, Query(min_length=1, max_length=2000, pattern=r"[^,\s]",
                                            description="Stores to compare, comma-separated (`Kanyon,Zorlu Center`).")],
               format: Format = "json") -> Response:
    """The `store_performance` rows of the stores named in `stores`, in the order given, so their
    revenue, transactions, customers and averages can be read side by side. 404 names any store the
    lake does not know."""
    names = list(dict.fromkeys(filter_values(stores)))
    if not names:
        raise BadParameter("query", "stores", "name at least one store")

    def build():
        _, rows, _ = lake.rows(STORES, order_by="rank")
        by_name = {r["store"]: r for r in rows}
        by_lower = {name.lower(): name for name in by_name}
        unknown = [n for n in names if n not in by_name and n.lower() not in by_lower]
        if unknown:
            raise NotFound(f"unknown store(s): {', '.join(unknown)} (known: {', '.join(sorted(by_name))})")
        chosen = [by_name.get(n) or by_name[by_lower[n.lower()]] for n in names]
        return list_payload(list(chosen[0]) if chosen else [], chosen, len(chosen), len(chosen), 0)

    return answer(request, lake, [STORES], build, fmt=format)


@router.get("/top-performers", response_model=page_model(STORES), responses=list_responses(STORES),
            summary="The best stores by a measure: the top n, or the top percent")
async def top_performers(request: Request, lake: LakeDep,
                   n: Annotated[int | None, Query(ge=1, le=1000, description="How many stores (default 5).")] = None,
                   top_pct: Annotated[float | None, Query(gt=0, le=100, description="Or: the top percent of "
                                                          "stores (rounded up to whole stores).")] = None,
                   metric: Annotated[Metric, Query(description="The measure to rank by.")] = "revenue",
                   format: Format = "json") -> Response:
    """The stores with the highest `metric` (revenue by default): the first `n` (default 5), or with
    `top_pct` the first ceil(top_pct % of the stores). With both, `n` caps the percentage's count
    (the top 30 %, at most 3 stores)."""

    def build():
        _, rows, total = lake.rows(STORES, order_by=[f"-{metric}", "store"])
        if top_pct is None:
            count = min(n or 5, total)
        else:
            count = math.ceil(total * top_pct / 100)
            if n is not None:
                count = min(count, n)
        chosen = rows[:count]
        return list_payload(list(chosen[0]) if chosen else [], chosen, len(chosen), count, 0)

    return answer(request, lake, [STORES], build, fmt=format)


@router.get("/regional-analysis", response_model=page_model(REGIONS), responses=list_responses(REGIONS),
            summary="Revenue, stores, customers and top store of every region")
async def regional_analysis(request: Request, lake: LakeDep,
                      region: Annotated[str | None, Query(description="Only these regions (comma-separated).")]
                      = None,
                      sort: sort_param(REGIONS) = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                      format: Format = "json") -> Response:
    """Every region (side of the city, from the `stores` reference table): its stores, revenue,
    transactions, customers, averages, revenue per store, share, rank and best store
    (`region_performance`)."""
    return list_table(request, lake, REGIONS, filters={"region": region}, sort=sort, default_sort="rank",
                      limit=limit, offset=offset, fmt=format)
