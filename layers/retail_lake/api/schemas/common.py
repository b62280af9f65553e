"""The envelope every list answers with, and the error bodies."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

Row = TypeVar("Row")


class ListPage(BaseModel, Generic[Row]):
    """One page of a table: ``items`` carry the table's columns; ``total`` counts every match."""

    items: list[Row]
    total: int = Field(ge=0, description="Rows matching the filters (all pages).")
    limit: int = Field(ge=0, description="Page size asked for (default 100, at most 1000).")
    offset: int = Field(ge=0, description="Rows skipped before this page.")
    truncated: bool | None = Field(
        None, description="Present (true) only when the page was cut to keep the answer under the 6 MB "
        "Lambda response limit; ask again from next_offset.")
    next_offset: int | None = Field(None, description="With truncated: the offset of the first row left out.")


class ErrorBody(BaseModel):
    """Every error: ``message`` says in one line what was wrong (and which parameter)."""

    detail: str | list[dict[str, Any]] = Field(description="What FastAPI says: a string, or the list of "
                                               "validation errors ({loc, msg, type}) for 422.")
    message: str = Field(description="One line naming the parameter (or id, or table) and why.")
    table: str | None = Field(None, description="For 503: the table that has not been computed yet.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown id (customer, store)."},
    413: {"model": ErrorBody, "description": "Request body over the limit (1 MB)."},
    422: {"model": ErrorBody, "description": "A parameter is invalid: the message names it and says why."},
    503: {"model": ErrorBody, "description": "A table this answer needs has not been computed yet, or the "
          "lake cannot be read right now."},
}
