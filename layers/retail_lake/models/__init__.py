"""Model training: customer segmentation, customer lifetime value and the weekly sales forecast.

Each model is validated on held-out time against a simple baseline and gated by a registry in the
lake (``models/<model>/<version>/``); predictions are published as the versioned tables
``customer_segments_ml``, ``customer_clv``, ``sales_forecast`` and ``model_registry``.

    from retail_lake.models import train, format_summary
    results = train("./lake", models=["clv"], clv_horizon_days=90)
    print("\\n".join(format_summary(results)))

numpy, scipy, scikit-learn and xgboost live in this package only, imported inside the functions that
train: importing ``retail_lake.models`` (the CLI does on every call) costs nothing heavy.
"""

from typing import Any

from retail_lake.models._types import MODEL_NAMES, ModelResult, TrainConfig

__all__ = [
    "MODEL_NAMES",
    "EmptyLakeError",
    "ModelResult",
    "TrainConfig",
    "code_version",
    "config_from_settings",
    "format_summary",
    "train",
]

# Resolved on first use, so that ``import retail_lake.models.cli`` (every CLI call) loads only _types.
_LAZY = {
    "EmptyLakeError": "retail_lake.models._data",
    "code_version": "retail_lake.models._runner",
    "config_from_settings": "retail_lake.models._runner",
    "format_summary": "retail_lake.models._runner",
    "train": "retail_lake.models._runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'retail_lake.models' has no attribute {name!r}")
