"""Ingest function: S3 ObjectCreated notifications (through SQS, or a direct S3 event) -> the lake.

Thin on purpose (Powertools batch example): parsing, idempotency and the ingest itself live in
``retail_lake.ingest``. A record fails, and SQS retries it (DLQ after 3), only when a retry can help;
a file that cannot be used is recorded as rejected and its record succeeds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from retail_lake.ingest._lambda import IngestRunner, is_s3_notification, s3_objects, s3_objects_from_sqs_body

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="ingest")
tracer = Tracer(service="ingest")
metrics = Metrics(namespace="RetailLake", service="ingest")
processor = BatchProcessor(event_type=EventType.SQS)
runner = IngestRunner(logger=logger, metrics=metrics)


@tracer.capture_method
def record_handler(record: SQSRecord) -> list[dict[str, Any]]:
    """One SQS message: ingest every object it announces; an exception fails only this record."""
    return [runner.ingest(obj) for obj in s3_objects_from_sqs_body(record.body)]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runner.register_lambda_context(context)
    if is_s3_notification(event):  # direct S3 -> Lambda: raise so Lambda's async retries apply
        return {"results": [runner.ingest(obj) for obj in s3_objects(event)]}
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
