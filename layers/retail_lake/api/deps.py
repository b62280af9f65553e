"""Dependencies the routes declare (FastAPI ``Annotated[..., Depends(...)]``): the lake and settings.

Both are created once per process by ``create_app`` and kept on ``app.state`` (in Lambda: once per
container, at import time, never per invocation).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from retail_lake.api._lake import ApiLake
from retail_lake.config import Settings


def get_lake(request: Request) -> ApiLake:
    return request.app.state.lake


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


LakeDep = Annotated[ApiLake, Depends(get_lake)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
