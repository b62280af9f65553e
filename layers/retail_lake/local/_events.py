"""The events AWS would deliver, built in one place: S3 ObjectCreated notifications, the SQS message
that carries one, the SQS event Lambda's event source makes of received messages, the EventBridge
schedule event, and a Lambda context.

The shapes follow ``infra/events/`` (``sam local generate-event`` output); ``tests/unit/local``
checks they have the same keys, so the local runtime hands the handlers what AWS would.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

__all__ = [
    "LocalLambdaContext",
    "eventbridge_schedule_event",
    "json_body",
    "s3_put_notification",
    "s3_sequencer",
    "sqs_event_from_messages",
    "sqs_message",
]

# What Lambda copies from ReceiveMessage's Attributes into an SQS event record.
_LAMBDA_SQS_ATTRIBUTES = (
    "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader",
)
_sequence = itertools.count()


def _iso_millis(moment: datetime) -> str:
    """S3 and EventBridge spell times as UTC with a Z (S3 with milliseconds)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def s3_sequencer() -> str:
    """An increasing hex string, like the ``sequencer`` S3 uses to order events on one key."""
    return f"{time.time_ns():016X}{next(_sequence) % 256:02X}"


def s3_put_notification(
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str,
    event_time: datetime | None = None,
    region: str = "us-east-1",
    sequencer: str | None = None,
    configuration_id: str = "retail-lake-local",
) -> dict[str, Any]:
    """The S3 ObjectCreated:Put notification document for one object (``infra/events/s3_put.json``).

    The key is URL-encoded as S3 encodes it (a space becomes ``+``); the handler decodes it.
    """
    request_id = uuid.uuid4().hex[:16].upper()
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": _iso_millis(event_time or datetime.now(UTC)),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "retail-lake-local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": uuid.uuid4().hex},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "retail-lake-local"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": int(size),
                        "eTag": etag,
                        "sequencer": sequencer or s3_sequencer(),
                    },
                },
            }
        ]
    }


def sqs_message(
    body: str,
    *,
    receive_count: int = 1,
    sent_at_ms: int | None = None,
    first_received_ms: int | None = None,
    message_id: str | None = None,
    receipt_handle: str | None = None,
    sender_id: str = "AIDAIENQZJOLO23YVJ4VO",
) -> dict[str, Any]:
    """One message as SQS ``ReceiveMessage`` returns it (``AttributeNames=["All"]``)."""
    now_ms = int(time.time() * 1000)
    sent = sent_at_ms if sent_at_ms is not None else now_ms
    return {
        "MessageId": message_id or str(uuid.uuid4()),
        "ReceiptHandle": receipt_handle or uuid.uuid4().hex,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Body": body,
        "Attributes": {
            "SenderId": sender_id,
            "ApproximateFirstReceiveTimestamp": str(first_received_ms if first_received_ms is not None else now_ms),
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": str(sent),
        },
        "MessageAttributes": {},
    }


def _lambda_message_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """SQS API message attributes -> the camelCase form Lambda puts in an SQS event."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in (attrs or {}).items()
    }


def sqs_event_from_messages(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source builds from ``ReceiveMessage`` results
    (``infra/events/sqs_s3_put.json``): one record per message, attributes as Lambda copies them."""
    region = queue_arn.split(":")[3]
    records = []
    for msg in messages:
        attributes = msg.get("Attributes") or {}
        records.append(
            {
                "messageId": msg["MessageId"],
                "receiptHandle": msg["ReceiptHandle"],
                "body": msg["Body"],
                "attributes": {k: attributes[k] for k in _LAMBDA_SQS_ATTRIBUTES if k in attributes},
                "messageAttributes": _lambda_message_attributes(msg.get("MessageAttributes") or {}),
                "md5OfBody": msg.get("MD5OfBody") or hashlib.md5(msg["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def eventbridge_schedule_event(
    rule_arn: str,
    *,
    detail: dict[str, Any] | None = None,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" for a rule (``infra/events/eventbridge_schedule.json``);
    ``detail`` carries the analytics options (``tables``, ``reference_date``), ``{}`` = every table."""
    _, _, _, region, account, _ = rule_arn.split(":", 5)
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return {
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": dict(detail or {}),
    }


def json_body(document: dict[str, Any]) -> str:
    """How S3 writes a notification into an SQS message body: compact JSON."""
    return json.dumps(document, separators=(",", ":"))


@dataclass
class LocalLambdaContext:
    """The Lambda context attributes the handlers and Powertools read, for one invocation.

    ``get_remaining_time_in_millis`` counts down from the function's timeout (template.yaml), so
    Powertools idempotency can expire an in-progress record as it would in Lambda.
    """

    function_name: str
    timeout_seconds: int = 600
    memory_limit_in_mb: int = 1536
    region: str = "us-east-1"
    account: str = "123456789012"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
