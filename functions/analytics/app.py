"""Analytics function: an EventBridge schedule (nightly) -> compact the curated sales and compute the
business tables into the lake's analytics/ prefix.

Thin on purpose: everything lives in ``retail_lake.analytics``. The event's ``detail`` may name
``tables`` (a subset; the tables they read are added) and a ``reference_date`` (YYYY-MM-DD). An
empty lake is not an error (nothing to compute yet); a failed table is, so the run shows as failed
in CloudWatch after the other tables were still published.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from retail_lake.analytics import AnalyticsBusyError, EmptyLakeError, run_analytics
from retail_lake.config import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="analytics")
settings = Settings.from_env()


class AnalyticsFailed(RuntimeError):
    """At least one table failed; the others were published."""


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event.get("detail") or {}
    tables = detail.get("tables") or None
    reference_date = date.fromisoformat(detail["reference_date"]) if detail.get("reference_date") else None
    try:
        results = run_analytics(settings.lake, tables, settings=settings, progress=logger.info,
                                reference_date=reference_date)
    except EmptyLakeError as exc:
        logger.warning(str(exc))
        return {"status": "skipped", "message": str(exc), "tables": []}
    except AnalyticsBusyError as exc:  # the previous run is still going: this one is not needed
        logger.warning(str(exc))
        return {"status": "busy", "message": str(exc), "tables": []}
    summary = {
        "status": "succeeded" if all(r.ok for r in results) else "failed",
        "run_id": results[0].run_id if results else None,
        "tables": [
            {"table": r.table, "status": r.status, "rows": r.rows, "duration_ms": r.duration_ms,
             "message": r.message}
            for r in results
        ],
    }
    logger.info("analytics run finished", extra=summary)
    if summary["status"] != "succeeded":
        raise AnalyticsFailed(f"analytics run {summary['run_id']}: "
                              + ", ".join(f"{t['table']} {t['status']}" for t in summary["tables"]
                                          if t["status"] != "succeeded"))
    return summary
