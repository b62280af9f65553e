"""Powertools glue for the ingest function: S3 notifications in, idempotent library calls, metrics out.

It lives in the library so ``functions/ingest/app.py`` stays a thin handler and this logic runs in
tests without Lambda. Powertools is imported only here (and only when idempotency is on), so the
CLI and the local runtime never need it.

Retry semantics (DESIGN: SQS -> ingest, DLQ after 3 receives):
- a file that cannot be used is recorded as rejected by :func:`ingest_s3_object`, which returns
  normally: the SQS record succeeds and is not retried;
- ``RetryableIngestError`` and botocore errors propagate: the record fails and SQS redelivers it;
- a redelivered record finds its completed idempotency record (the upload's identity:
  ``bucket/key`` plus the object's versionId, else ETag and the event's sequencer) and returns the
  stored result without touching the lake, and without emitting its metrics again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from retail_lake.config import Settings
from retail_lake.ingest._pipeline import ingest_s3_object, upload_identity
from retail_lake.storage import open_storage

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from retail_lake.storage import Storage

__all__ = [
    "IngestRunner",
    "S3ObjectRef",
    "UnrecognisedMessageError",
    "is_s3_notification",
    "s3_objects",
    "s3_objects_from_sqs_body",
    "sqs_event_from_messages",
]

# Keys stored in the idempotency table: <function name>.<qualified name>#<md5 of this key>.
IDEMPOTENCY_KEY_FIELD = "idempotency_key"


class UnrecognisedMessageError(ValueError):
    """An SQS message that is not an S3 notification: fail it so it reaches the DLQ for a human."""


@dataclass(frozen=True)
class S3ObjectRef:
    """One object an S3 ObjectCreated notification announces."""

    bucket: str
    key: str
    etag: str | None = None
    event_time: datetime | None = None
    size: int | None = None
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def idempotency_key(self) -> str:
        """The upload's identity (versionId, else ETag + sequencer): a redelivered notification is the
        same upload, a re-upload of the same bytes is a new one (issue 10)."""
        return upload_identity(self.bucket, self.key, version_id=self.version_id, sequencer=self.sequencer,
                               etag=self.etag, last_modified=None)

    def as_payload(self) -> dict[str, Any]:
        """A JSON-able dict: Powertools hashes ``idempotency_key`` from it."""
        return {
            IDEMPOTENCY_KEY_FIELD: self.idempotency_key,
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "event_time": self.event_time.isoformat() if self.event_time else None,
            "version_id": self.version_id,
            "sequencer": self.sequencer,
        }


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def is_s3_notification(event: dict[str, Any]) -> bool:
    """True for a direct S3 event (every record has eventSource aws:s3)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and all(r.get("eventSource") == "aws:s3" for r in records)


def s3_objects(notification: dict[str, Any]) -> list[S3ObjectRef]:
    """Objects created, from an S3 notification document. ``s3:TestEvent`` (sent when the
    notification is configured) and non-create events announce nothing."""
    if notification.get("Event") == "s3:TestEvent":
        return []
    objects = []
    for record in notification.get("Records") or []:
        if record.get("eventSource") != "aws:s3" or not str(record.get("eventName", "")).startswith(
            "ObjectCreated"
        ):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        objects.append(
            S3ObjectRef(
                bucket=s3["bucket"]["name"],
                key=unquote_plus(obj["key"]),  # S3 URL-encodes keys in notifications
                etag=(obj.get("eTag") or "").strip('"') or None,
                event_time=_parse_time(record.get("eventTime")),
                size=obj.get("size"),
                version_id=obj.get("versionId") or None,
                sequencer=obj.get("sequencer") or None,
            )
        )
    return objects


def s3_objects_from_sqs_body(body: str) -> list[S3ObjectRef]:
    """Objects announced by one SQS message body (an S3 notification, possibly inside an SNS
    envelope when the bucket fans out through a topic)."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise UnrecognisedMessageError(f"SQS body is not JSON: {body[:200]!r}") from exc
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and "Message" in doc:
        return s3_objects_from_sqs_body(doc["Message"])
    if not isinstance(doc, dict) or ("Records" not in doc and doc.get("Event") != "s3:TestEvent"):
        raise UnrecognisedMessageError(f"SQS body is not an S3 notification: {body[:200]!r}")
    return s3_objects(doc)


def _lambda_message_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes -> the camelCase form Lambda puts in an SQS event."""
    out = {}
    for name, value in (attrs or {}).items():
        out[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    return out


def sqs_event_from_messages(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source builds from ``ReceiveMessage`` results.

    Local runs (moto server, LocalStack, the local runtime) poll the ingest queue with boto3 and hand
    the handler exactly what Lambda would. Receive with ``AttributeNames=["All"]`` and
    ``MessageAttributeNames=["All"]`` so the attributes are complete.
    """
    region = queue_arn.split(":")[3]
    keep = ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
            "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader")
    records = []
    for msg in messages:
        attributes = msg.get("Attributes") or {}
        records.append(
            {
                "messageId": msg["MessageId"],
                "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"],
                "attributes": {k: attributes[k] for k in keep if k in attributes},
                "messageAttributes": _lambda_message_attributes(msg.get("MessageAttributes") or {}),
                "md5OfBody": msg["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


class IngestRunner:
    """Per-container state for the handler: settings, the lake, and the idempotent ingest call.

    Built on first use and rebuilt when the environment changes, so tests can point one module-level
    runner at different endpoints and tables. Without ``IDEMPOTENCY_TABLE`` (local runs) the library's
    deterministic output names alone make redelivery harmless.
    """

    def __init__(self, logger: Logger | None = None, metrics: Metrics | None = None) -> None:
        self.logger = logger
        self.metrics = metrics
        self._settings: Settings | None = None
        self._lake: Storage | None = None
        self._call: Callable[..., dict[str, Any]] | None = None
        self._config: IdempotencyConfig | None = None

    def reset(self) -> None:
        """Forget the cached state (tests that change the environment)."""
        self._settings = self._lake = self._call = self._config = None

    def _ensure(self) -> None:
        settings = Settings.from_env()
        if settings == self._settings:
            return
        self._settings = settings
        self._lake = open_storage(settings.lake)
        self._config = None
        self._call = self._ingest_once
        if settings.idempotency_table:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            self._config = IdempotencyConfig(
                event_key_jmespath=IDEMPOTENCY_KEY_FIELD,
                raise_on_no_idempotency_key=True,
                expires_after_seconds=settings.idempotency_ttl_seconds,
            )
            store = DynamoDBPersistenceLayer(
                table_name=settings.idempotency_table, key_attr="id", expiry_attr="expiration"
            )
            self._call = idempotent_function(
                self._ingest_once, data_keyword_argument="upload", persistence_store=store, config=self._config
            )

    def register_lambda_context(self, context: LambdaContext | None) -> None:
        """Let idempotency expire an in-progress record when the invocation times out."""
        self._ensure()
        if self._config is not None and context is not None:
            self._config.register_lambda_context(context)

    def _ingest_once(self, upload: dict[str, Any]) -> dict[str, Any]:
        assert self._lake is not None and self._settings is not None
        result = ingest_s3_object(
            upload["bucket"],
            upload["key"],
            lake=self._lake,
            etag=upload.get("etag"),
            event_time=_parse_time(upload.get("event_time")),
            version_id=upload.get("version_id"),
            sequencer=upload.get("sequencer"),
            settings=self._settings,
        ).as_dict()
        # Metrics here, not in ingest(): a redelivery answered from the idempotency store never runs
        # this, so an upload is counted once however often SQS delivers it.
        self._record_metrics(result)
        return result

    def ingest(self, obj: S3ObjectRef) -> dict[str, Any]:
        """Ingest one object (once per upload identity); raises when a retry may help."""
        self._ensure()
        assert self._call is not None
        result = self._call(upload=obj.as_payload())
        if self.logger is not None:
            self.logger.info(
                "upload %s", result.get("status"), extra={"upload": obj.idempotency_key, "result": result}
            )
        return result

    def _record_metrics(self, result: dict[str, Any]) -> None:
        if self.metrics is None:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        status = str(result.get("status", "unknown"))
        self.metrics.add_metric(name=f"Uploads{status.capitalize()}", unit=MetricUnit.Count, value=1)
        for field, name in (("rows_in", "RowsIn"), ("rows_accepted", "RowsAccepted"),
                            ("rows_quarantined", "RowsQuarantined"), ("rows_flagged", "RowsFlagged")):
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=int(result.get(field) or 0))
