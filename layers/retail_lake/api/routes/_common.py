"""What the list endpoints share: paging, sort and format parameters, filters, OpenAPI responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from starlette.responses import Response

from retail_lake import schemas
from retail_lake.api._lake import ApiLake
from retail_lake.api._render import answer, list_payload
from retail_lake.api.schemas import ERROR_RESPONSES, ListPage, example_row, row_model

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (default {DEFAULT_LIMIT}, "
                                                              f"at most {MAX_LIMIT}).")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Rows to skip (default 0).")]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv (text/csv, the same rows; "
                                                 "text cells starting with = + - @ are escaped).")]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$",
                                    description="YYYY-MM (a day, if given, is ignored).")]


def sort_values(table: str) -> tuple[str, ...]:
    cols = [c.name for c in schemas.table(table).columns] if table in schemas.all_tables() else []
    return tuple(v for c in cols for v in (c, f"-{c}"))


def sort_param(table: str) -> Any:
    """``sort=col`` or ``sort=-col`` (descending), one of the table's columns (an enum in OpenAPI)."""
    values = sort_values(table)
    kind: Any = Literal[values] if values else str  # type: ignore[valid-type]
    return Annotated[kind | None, Query(description=f"Sort by a column of {table}; '-' in front for descending.")]


def filter_values(value: str | None) -> list[str]:
    """``a,b`` -> ['a', 'b'] (blank parts dropped)."""
    if value is None:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


def where_clause(filters: dict[str, Any]) -> tuple[str | None, list[Any]]:
    """``"store" IN (?, ?) AND "region" = ?`` from {column: value | [values] | None}; None values are skipped.

    A text value may list several values separated by commas.
    """
    parts: list[str] = []
    params: list[Any] = []
    for column, value in filters.items():
        if value is None:
            continue
        if isinstance(value, tuple) and len(value) == 2 and value[0] in (">=", "<=", ">", "<"):
            parts.append(f'"{column}" {value[0]} ?')
            params.append(value[1])
            continue
        values = filter_values(value) if isinstance(value, str) else (
            list(value) if isinstance(value, list | tuple) else [value])
        if not values:
            continue
        if len(values) == 1:
            parts.append(f'"{column}" = ?')
        else:
            parts.append(f'"{column}" IN ({", ".join("?" for _ in values)})')
        params.extend(values)
    return (" AND ".join(parts) or None), params


def list_table(request: Request, lake: ApiLake, table: str, *, filters: dict[str, Any] | None = None,
               where: str | None = None, params: Sequence[Any] = (), sort: str | None = None,
               default_sort: str | Sequence[str] | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0,
               fmt: str = "json") -> Response:
    """The standard list answer over one table: filters, sort, page, JSON or CSV, ETag, cache."""
    clause, values = where_clause(filters or {})
    if where:
        clause = f"({where})" + (f" AND {clause}" if clause else "")
        values = [*params, *values]

    def build():  # only run on a cache miss
        columns, rows, total = lake.rows(table, where=clause, params=values, order_by=sort or default_sort,
                                         limit=limit, offset=offset)
        return list_payload(columns, rows, total, limit, offset)

    return answer(request, lake, [table], build, fmt=fmt)


def list_responses(table: str, example_items: list[dict[str, Any]] | None = None) -> dict[int | str, Any]:
    """OpenAPI responses of a list endpoint: the page (with an example), CSV, 304 and the errors."""
    items = example_items if example_items is not None else (
        [example_row(table)] if table in schemas.all_tables() else [])
    return {
        200: {"content": {
            "application/json": {"example": {"items": items, "total": len(items), "limit": DEFAULT_LIMIT,
                                             "offset": 0}},
            "text/csv": {"schema": {"type": "string"}, "example": _csv_example(items)},
        }},
        304: {"description": "Not modified: the If-None-Match ETag is still current."},
        **{k: v for k, v in ERROR_RESPONSES.items() if k != 413},
    }


def _csv_example(items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    cols = list(items[0])
    return ",".join(cols) + "\r\n" + ",".join(str(items[0][c]) for c in cols) + "\r\n"


def page_model(table: str) -> Any:
    return ListPage[row_model(table)]  # type: ignore[valid-type]
