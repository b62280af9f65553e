"""The health answer: the lake is readable, and what every table holds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TableHealth(BaseModel):
    table: str
    layer: str
    ready: bool = Field(description="Published (computed or trained) at least once.")
    run_id: str | None
    rows: int | None
    computed_at: str | None = Field(description="When the current version was published (ISO 8601, UTC).")


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="'ok' when every analytics table is published.")
    lake: str
    lake_readable: bool
    tables: list[TableHealth]
    missing: list[str] = Field(description="Tables not computed yet (they answer 503 until then).")
    version: str
