"""Dependencies the routes declare (FastAPI ``Annotated[..., Depends(...)]``): the lake and settings.

Both are created once per process by ``create_app`` and kept on ``app.state`` (in Lambda: once per
container, at import time, never per invocation).

The dependencies and every endpoint are ``async def`` on purpose: FastAPI runs a sync function in a
worker thread, and under Mangum (a new root task per invocation) AnyIO starts a new thread for it
on every request, ~0.5 ms each. The endpoints' DuckDB work takes a few milliseconds and a Lambda
container serves one request at a time; `retail-lake serve --workers N` spreads load over processes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from retail_lake.api._lake import ApiLake
from retail_lake.config import Settings


async def get_lake(request: Request) -> ApiLake:
    return request.app.state.lake


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LakeDep = Annotated[ApiLake, Depends(get_lake)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
