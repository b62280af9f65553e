"""The local runtime's events have the shapes of the generated ones in infra/events/ (same keys at
every level), and the handlers' own decoders read them back."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retail_lake.ingest._lambda import s3_objects_from_sqs_body
from retail_lake.local._events import (
    LocalLambdaContext,
    eventbridge_schedule_event,
    json_body,
    s3_put_notification,
    sqs_event_from_messages,
    sqs_message,
)

EVENTS = Path(__file__).resolve().parents[3] / "infra" / "events"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def key_tree(node: Any) -> Any:
    """The keys of a JSON document at every level (values dropped; lists by their first item)."""
    if isinstance(node, dict):
        return {k: key_tree(v) for k, v in node.items()}
    if isinstance(node, list):
        return [key_tree(node[0])] if node else []
    return None


def test_s3_notification_has_the_generated_keys() -> None:
    made = s3_put_notification("bucket-a", "raw/sales/x.csv", size=10, etag="abc")
    assert key_tree(made) == key_tree(load("s3_put.json"))


def test_sqs_event_has_the_generated_keys_and_body_shape() -> None:
    generated = load("sqs_s3_put.json")
    body = json_body(s3_put_notification("bucket-a", "raw/sales/x.csv", size=10, etag="abc"))
    event = sqs_event_from_messages([sqs_message(body)], "arn:aws:sqs:us-east-1:123456789012:q")
    assert key_tree(event) == key_tree(generated)
    assert key_tree(json.loads(event["Records"][0]["body"])) == key_tree(json.loads(generated["Records"][0]["body"]))
    # The attributes Lambda copies: exactly the four the generated event carries, as strings.
    attrs = event["Records"][0]["attributes"]
    assert set(attrs) == set(generated["Records"][0]["attributes"])
    assert all(isinstance(v, str) for v in attrs.values())


def test_sqs_record_fields() -> None:
    body = json_body(s3_put_notification("b", "raw/sales/x.csv", size=1, etag="e"))
    message = sqs_message(body, receive_count=2, message_id="m-1", receipt_handle="rh-1")
    record = sqs_event_from_messages([message], "arn:aws:sqs:eu-west-1:000000000000:ingest")["Records"][0]
    assert record["messageId"] == "m-1" and record["receiptHandle"] == "rh-1" and record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "eu-west-1")
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:000000000000:ingest"


def test_the_ingest_decoder_reads_the_notification_back() -> None:
    """Key URL-encoded as S3 does (a space is '+'), decoded by the handler's own parser."""
    moment = datetime(2024, 3, 5, 10, 11, 12, 345000, tzinfo=UTC)
    doc = s3_put_notification("up", "raw/sales/2024/mall export+1.csv", size=123, etag="0123abcd",
                              event_time=moment, region="eu-west-1")
    record = doc["Records"][0]
    assert record["eventTime"] == "2024-03-05T10:11:12.345Z"
    assert record["s3"]["object"]["key"] == "raw/sales/2024/mall+export%2B1.csv"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::up" and record["awsRegion"] == "eu-west-1"
    [obj] = s3_objects_from_sqs_body(json_body(doc))
    assert (obj.bucket, obj.key, obj.etag, obj.size, obj.event_time) == (
        "up", "raw/sales/2024/mall export+1.csv", "0123abcd", 123, moment)


def test_sequencers_increase() -> None:
    first = s3_put_notification("b", "k", size=1, etag="e")["Records"][0]["s3"]["object"]["sequencer"]
    second = s3_put_notification("b", "k", size=1, etag="e")["Records"][0]["s3"]["object"]["sequencer"]
    assert len(first) == len(second) and second > first


def test_eventbridge_schedule_event_has_the_generated_keys() -> None:
    rule = "arn:aws:events:eu-west-1:000000000000:rule/retail-lake-dev-analytics-nightly"
    event = eventbridge_schedule_event(rule, moment=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    generated = load("eventbridge_schedule.json")
    assert key_tree(event) == key_tree(generated)
    assert (event["detail-type"], event["source"], event["detail"]) == ("Scheduled Event", "aws.events", {})
    assert (event["account"], event["region"], event["resources"]) == ("000000000000", "eu-west-1", [rule])
    assert event["time"] == "2024-01-02T03:04:05Z"


def test_lambda_context_counts_down_from_the_timeout() -> None:
    ctx = LocalLambdaContext("retail-lake-dev-ingest", timeout_seconds=600, memory_limit_in_mb=1536)
    assert 599_000 < ctx.get_remaining_time_in_millis() <= 600_000
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:retail-lake-dev-ingest"
    assert ctx.log_group_name == "/aws/lambda/retail-lake-dev-ingest" and ctx.aws_request_id
