"""The local runtime: ``retail-lake up`` runs the whole platform on a laptop with the functions' own
handlers and the events AWS would deliver.

- :func:`run_platform` / :class:`Platform`: the drop-folder watcher, the queue poller, the analytics
  schedule (debounced, and on demand) and the API on localhost, stopped cleanly by Ctrl-C/SIGTERM.
- :func:`create_stack` / :func:`delete_stack`: template.yaml's buckets, queues, notification and
  idempotency table on a local AWS endpoint (moto's server, LocalStack); the integration tests use
  them too.
- ``retail_lake.local._events``: the S3, SQS and EventBridge event shapes, built in one place.

Importing this package is cheap: boto3, DuckDB, uvicorn and the handlers load when the platform starts.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> private module; loaded on first use so ``retail_lake.local.cli`` (imported on every call
# of the CLI) stays cheap.
_EXPORTS = {
    "LocalLambdaContext": "_events",
    "eventbridge_schedule_event": "_events",
    "s3_put_notification": "_events",
    "sqs_event_from_messages": "_events",
    "sqs_message": "_events",
    "Platform": "_platform",
    "PlatformError": "_platform",
    "PlatformOptions": "_platform",
    "run_platform": "_platform",
    "NotACheckoutError": "_repo",
    "find_repo_root": "_repo",
    "load_handler_module": "_repo",
    "Stack": "_stack",
    "Template": "_stack",
    "create_stack": "_stack",
    "delete_stack": "_stack",
    "load_template": "_stack",
}

__all__ = [
    "LocalLambdaContext",
    "NotACheckoutError",
    "Platform",
    "PlatformError",
    "PlatformOptions",
    "Stack",
    "Template",
    "create_stack",
    "delete_stack",
    "eventbridge_schedule_event",
    "find_repo_root",
    "load_handler_module",
    "load_template",
    "run_platform",
    "s3_put_notification",
    "sqs_event_from_messages",
    "sqs_message",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'retail_lake.local' has no attribute {name!r}")
    value = getattr(import_module(f"retail_lake.local.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
