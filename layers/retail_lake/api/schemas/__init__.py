"""Response and request models of the API (the OpenAPI contract).

Submodules are imported on first use (a route module imports only the models it declares: cold start).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AnyRow": "_tables", "example_row": "_tables", "row_model": "_tables", "table_model": "_tables",
    "CampaignRequest": "campaign", "CampaignResult": "campaign", "segment_names": "campaign",
    "ERROR_RESPONSES": "common", "ErrorBody": "common", "ListPage": "common",
    "insights_model": "customers", "RetentionPoint": "customers",
    "Health": "health", "TableHealth": "health",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"retail_lake.api.schemas.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'retail_lake.api.schemas' has no attribute {name!r}")
