"""Response models of table rows, generated from ``lake_schemas/`` so they never drift from it.

One pydantic model per table: its columns under their lake_schemas names, types and nullability,
each with the column's description and an example value. The routes build JSON bodies directly
(no per-request validation); these models are the OpenAPI contract, which the schemathesis test
holds the answers to.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from retail_lake import schemas

_PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "int": int,
    "bigint": int,
    "double": float,
    "date": dt.date,
    "timestamp": dt.datetime,
    "boolean": bool,
}
# Example values of columns that several tables share (OpenAPI examples read like real answers).
_EXAMPLES: dict[str, Any] = {
    "store": "Kanyon", "shopping_mall": "Kanyon", "favourite_store": "Kanyon", "top_store": "Kanyon",
    "district": "Besiktas", "region": "European Side", "favourite_store_region": "European Side",
    "customer_id": "C241288", "segment": "Champions", "top_segment": "Champions", "segment_name": "Big spenders",
    "category": "Clothing", "favourite_category": "Clothing", "payment_method": "Credit Card",
    "favourite_payment_method": "Credit Card", "breakdown": "overall", "breakdown_value": "all",
    "spend_tier": "high", "customer_type": "repeat", "cost_basis": "assumed", "discount_basis": "assumed",
    "rfm_score": "545", "quarter_label": "2022-Q3", "day_name": "Saturday", "discount_band": "none",
    "top_age_band": "25-34", "model_version": "20230301T020000Z", "month": "2022-11-01",
    "cohort_month": "2022-01-01", "activity_month": "2022-03-01", "quarter_start": "2022-07-01",
    "period_start": "2023-04-01", "first_invoice_date": "2021-01-04", "last_invoice_date": "2023-03-06",
    "reference_date": "2023-03-08", "computed_at": "2023-03-09T02:00:00Z",
}
_TYPE_EXAMPLES: dict[str, Any] = {
    "string": "text", "int": 3, "bigint": 1250, "double": 0.25, "date": "2023-03-01",
    "timestamp": "2023-03-01T02:00:00", "boolean": True,
}


def model_name(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_")) + "Row"


def example_row(table: str) -> dict[str, Any]:
    """A plausible row of ``table`` for OpenAPI examples."""
    spec = schemas.table(table)
    return {c.name: _EXAMPLES.get(c.name, _TYPE_EXAMPLES[c.type]) for c in spec.columns}


@cache
def table_model(table: str) -> type[BaseModel]:
    """The row model of a lake_schemas table (its data columns, not its partitions)."""
    spec = schemas.table(table)
    fields: dict[str, Any] = {}
    for col in spec.columns:
        kind = _PYTHON_TYPES[col.type]
        annotation = kind | None if col.nullable else kind
        fields[col.name] = (annotation, Field(description=col.description or None,
                                              examples=[_EXAMPLES.get(col.name, _TYPE_EXAMPLES[col.type])]))
    return create_model(  # type: ignore[call-overload]
        model_name(table),
        __config__=ConfigDict(title=model_name(table), json_schema_extra={"description": spec.description}),
        **fields,
    )


class AnyRow(BaseModel):
    """A row of a table whose lake_schemas file is not there yet (the prediction tables before training)."""

    model_config = ConfigDict(extra="allow")


def row_model(table: str) -> type[BaseModel]:
    """``table_model`` when the table is defined in lake_schemas, else a model that takes any columns."""
    return table_model(table) if table in schemas.all_tables() else AnyRow
