"""The HTTP API: every KPI of the lake under ``/api/v1``, campaign simulation, predictions, health.

``create_app(settings)`` (``retail_lake.api.app``) builds the FastAPI app; ``functions/api/app.py``
wraps it with Mangum for API Gateway, ``retail-lake serve`` runs it with uvicorn. The app reads the
lake only through ``retail_lake.query`` (no pandas, pyarrow, scikit-learn or xgboost anywhere on its
import path: the Lambda must start fast and fit a small package).

Importing this package imports nothing heavy: the CLI loads ``retail_lake.api.cli`` on every call.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from retail_lake.api.app import create_app

        return create_app
    raise AttributeError(f"module 'retail_lake.api' has no attribute {name!r}")
