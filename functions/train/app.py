"""Training function: an EventBridge schedule (weekly) -> train, validate and gate the segmentation, CLV
and forecast models; publish their predictions and the model registry in the lake.

Thin on purpose: everything lives in ``retail_lake.models``. The event's ``detail`` may name
``models`` (a subset of segmentation, clv, forecast), ``clv_horizon_days`` and ``forecast_weeks``.
An empty lake is not an error (nothing to learn yet); a model that failed is, so the run shows as
failed in CloudWatch after the other models were still published. A bad ``detail`` is answered, not
raised: an asynchronous invocation would only retry the same bad event.

Packaged as a container image (template.yaml, functions/train/Dockerfile): numpy + scipy +
scikit-learn + xgboost-cpu alone are ~303 MB unzipped, past the 250 MB limit of a zip function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from retail_lake.config import Settings
from retail_lake.models import EmptyLakeError, format_summary, train

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="train")
settings = Settings.from_env()


class TrainingFailed(RuntimeError):
    """At least one model failed with an error; the others were published."""


def _int_or_none(detail: dict[str, Any], key: str) -> int | None:
    value = detail.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise ValueError(f"detail.{key} must be a positive whole number, not {value!r}")
    return int(value)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event.get("detail") or {}
    try:
        models = detail.get("models") or None
        if models is not None and (isinstance(models, str) or not isinstance(models, list)):
            raise ValueError(f"detail.models must be a list of model names, not {models!r}")
        results = train(
            settings.lake,
            models,
            clv_horizon_days=_int_or_none(detail, "clv_horizon_days"),
            forecast_weeks=_int_or_none(detail, "forecast_weeks"),
            settings=settings,
            progress=logger.info,
        )
    except EmptyLakeError as exc:
        logger.warning(str(exc))
        return {"status": "skipped", "message": str(exc), "models": []}
    except ValueError as exc:
        logger.error(f"bad training event: {exc}")
        return {"status": "invalid", "message": str(exc), "models": []}
    summary = {
        "status": "succeeded" if all(r.ok for r in results) else "failed",
        "version": results[0].version if results else None,
        "models": [r.to_dict() for r in results],
        "summary": format_summary(results),
    }
    logger.info("training run finished", extra=summary)
    if summary["status"] != "succeeded":
        raise TrainingFailed(
            f"training run {summary['version']}: " + "; ".join(f"{r.model}: {r.reason}" for r in results if not r.ok)
        )
    return summary
