"""/api/v1/predictions: what the weekly training job publishes (CLV, sales forecast, ML segments).

Served from the prediction tables (layer `predictions`, ``predictions/<table>/``); until training
has run (or before their lake_schemas files exist), every endpoint answers 503 with a message.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from retail_lake import schemas
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
from retail_lake.api.routes.analytics import _month_where

router = APIRouter(prefix="/predictions", tags=["predictions"])

CLV, FORECAST, SEGMENTS = "customer_clv", "sales_forecast", "customer_segments_ml"


def _known(table: str, column: str) -> bool:
    return table in schemas.all_tables() and column in schemas.table(table).column_names


def _where(table: str, column: str, start: str | None, end: str | None) -> tuple[str | None, list]:
    return _month_where(column if _known(table, column) else None, start, end)


@router.get("/clv", response_model=page_model(CLV), responses=list_responses(CLV),
            summary="Predicted customer lifetime value and probability alive")
async def clv(request: Request, lake: LakeDep,
        customer_id: Annotated[str | None, Query(description="Only these customers (comma-separated).")] = None,
        sort: sort_param(CLV) = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
        format: Format = "json") -> Response:
    """`customer_clv`: each customer's predicted spend over the next horizon_days and the probability
    that they are still active, with the model version that made them. 503 until training has run."""
    return list_table(request, lake, CLV, filters={"customer_id": customer_id}, sort=sort,
                      default_sort="-predicted_spend" if _known(CLV, "predicted_spend") else None,
                      limit=limit, offset=offset, fmt=format)


@router.get("/forecast", response_model=page_model(FORECAST), responses=list_responses(FORECAST),
            summary="Revenue forecast per store and period, with its interval")
async def forecast(request: Request, lake: LakeDep,
             store: Annotated[str | None, Query(description="Only these stores ('ALL' = every store).")] = None,
             start: Annotated[Month, Query(alias="from", description="First period (YYYY-MM).")] = None,
             end: Annotated[Month, Query(alias="to", description="Last period (YYYY-MM).")] = None,
             sort: sort_param(FORECAST) = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
             format: Format = "json") -> Response:
    """`sales_forecast`: the forecast revenue of each store (and of all stores) per period, with lower
    and upper bounds and the model version. 503 until training has run."""
    where, params = _where(FORECAST, "period_start", start, end)
    return list_table(request, lake, FORECAST, where=where, params=params, filters={"store": store}, sort=sort,
                      default_sort=["store", "period_start"] if _known(FORECAST, "period_start") else None,
                      limit=limit, offset=offset, fmt=format)


@router.get("/segments", response_model=page_model(SEGMENTS), responses=list_responses(SEGMENTS),
            summary="Machine-learned customer segments (clusters)")
async def segments(request: Request, lake: LakeDep,
             segment_name: Annotated[str | None, Query(description="Only these segments.")] = None,
             cluster: Annotated[int | None, Query(ge=0, le=10_000)] = None,
             customer_id: Annotated[str | None, Query(description="Only these customers.")] = None,
             sort: sort_param(SEGMENTS) = None, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
             format: Format = "json") -> Response:
    """`customer_segments_ml`: each customer's cluster, the segment name derived from the cluster's
    profile and the features used. 503 until training has run."""
    return list_table(request, lake, SEGMENTS,
                      filters={"segment_name": segment_name, "cluster": cluster, "customer_id": customer_id},
                      sort=sort, limit=limit, offset=offset, fmt=format)
