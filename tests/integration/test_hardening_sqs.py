"""Issue 10, item 5: partial batches, the dead-letter queue and transient faults, on moto.

``EventSourceMapping`` behaves like Lambda's SQS event source mapping: it receives a batch with a
visibility timeout, hands the real handler the exact event Lambda builds, deletes the records that
succeeded and leaves the batch item failures to come back after the timeout; SQS itself (the
template's RedrivePolicy, maxReceiveCount 3) moves a message to the DLQ after 3 receives.
Faults are injected at the botocore seam (BaseClient._make_api_call), as awswrangler's tests do.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.exceptions import ReadTimeoutError

from retail_lake.ingest._lambda import sqs_event_from_messages
from retail_lake.ingest.cli import redrive
from retail_lake.query import connect
from retail_lake.storage import S3Storage, StorageError
from tests.integration.conftest import emitted_metrics

HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"


def csv_for(n: int) -> str:
    """Upload n: one invoice, in a month of its own (each upload writes its own partition)."""
    return HEADER + f"I{n},C{n},Female,30,Books,1,{15 + n}.15,Cash,{1 + n % 28}/{1 + n % 12}/{2001 + n // 12},Kanyon\n"


def notification(bucket: str, key: str, etag: str, sequencer: str) -> str:
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2024-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": key, "size": 100, "eTag": etag, "sequencer": sequencer}},
    }]})


@dataclass
class EventSourceMapping:
    """Lambda's SQS poller, in small: receive -> handler -> delete the successes."""

    handler: Callable[[dict, Any], dict]
    context: Any
    queue_url: str
    queue_arn: str
    visibility_timeout: int = 1
    batch_size: int = 5
    failures: list[list[str]] = field(default_factory=list)  # batchItemFailures of every batch
    invocations: int = 0

    def poll_once(self) -> int:
        sqs = boto3.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, VisibilityTimeout=self.visibility_timeout,
            AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event_from_messages(messages, self.queue_arn)
        self.invocations += 1
        try:
            response = self.handler(event, self.context)
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the whole invocation failed (every record failed): nothing is deleted
            failed = {m["MessageId"] for m in messages}
        self.failures.append(sorted(failed))
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return len(messages)

    def drain(self, rounds: int = 12) -> None:
        """Poll until the queue is empty, waiting out the visibility timeout of failed records."""
        for _ in range(rounds):
            while self.poll_once():
                pass
            if not _visible_or_in_flight(self.queue_url):
                return
            time.sleep(self.visibility_timeout + 0.1)


def _visible_or_in_flight(queue_url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def dlq_bodies(stack: Any) -> list[str]:
    """The DLQ's message bodies (peeked: they are visible again a second later)."""
    sqs = boto3.client("sqs")
    seen: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=stack.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=1).get(
            "Messages", [])
        new = [m for m in got if m["MessageId"] not in seen]
        if not new:
            return list(seen.values())
        seen |= {m["MessageId"]: m["Body"] for m in new}


def put_uploads(stack: Any, n: int, start: int = 0) -> list[str]:
    """n uploads, each announced on the ingest queue; returns their keys."""
    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    keys = []
    for i in range(start, start + n):
        key = f"raw/sales/u{i}.csv"
        etag = s3.put_object(Bucket=stack.upload_bucket, Key=key, Body=csv_for(i))["ETag"].strip('"')
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=notification(stack.upload_bucket, key, etag,
                                                                            f"{i:016X}"))
        keys.append(key)
    return keys


def lake_state(stack: Any) -> tuple:
    con = connect(stack.lake_uri)
    return (con.execute("SELECT invoice_no, quantity, price FROM sales ORDER BY invoice_no").fetchall(),
            con.execute("SELECT count(*), count(DISTINCT upload_id) FROM ingest_log").fetchone())


@pytest.fixture
def mapping(moto_stack, ingest_app: ModuleType, lambda_context) -> EventSourceMapping:
    return EventSourceMapping(ingest_app.lambda_handler, lambda_context, moto_stack.queue_url, moto_stack.queue_arn)


def test_poison_records_come_back_alone_and_reach_the_dlq_after_three_receives(moto_stack, mapping) -> None:
    """Valid uploads are written once; exactly the poison records are batch item failures, every
    time; after 3 receives SQS moves them to the DLQ; redrive after the fix brings them home."""
    put_uploads(moto_stack, 6)
    sqs = boto3.client("sqs")
    # poison: not an S3 notification; and a notification for a bucket that does not exist (yet)
    hello = sqs.send_message(QueueUrl=moto_stack.queue_url, MessageBody="Hello from SQS!")["MessageId"]
    late_etag = hashlib.md5(csv_for(99).encode()).hexdigest()  # the ETag S3 will give the object
    late = notification("bucket-created-later", "raw/sales/late.csv", late_etag, "0A")
    missing = sqs.send_message(QueueUrl=moto_stack.queue_url, MessageBody=late)["MessageId"]

    mapping.drain()

    assert {m for batch in mapping.failures for m in batch} == {hello, missing}
    rows, (logs, uploads) = lake_state(moto_stack)
    assert len(rows) == 6 and (logs, uploads) == (6, 6)  # each valid upload exactly once
    bodies = dlq_bodies(moto_stack)
    assert sorted(bodies) == sorted(["Hello from SQS!", late])
    assert _visible_or_in_flight(moto_stack.queue_url) == 0

    # the fix: the bucket exists and holds the object; then redrive and poll again
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bucket-created-later")
    etag = s3.put_object(Bucket="bucket-created-later", Key="raw/sales/late.csv", Body=csv_for(99))["ETag"]
    assert etag.strip('"') == late_etag
    time.sleep(1.1)  # the DLQ messages we peeked at become visible again
    result = redrive(moto_stack.queue_url)
    assert (result.moved, result.failed) == (2, 0)
    assert result.source == moto_stack.dlq_url
    del etag
    mapping.failures.clear()
    mapping.drain()
    rows, (logs, _) = lake_state(moto_stack)
    assert len(rows) == 7 and logs == 7  # the late upload made it; 'Hello' is back in the DLQ
    assert dlq_bodies(moto_stack) == ["Hello from SQS!"]


def test_redrive_command_line(moto_stack) -> None:
    """`retail-lake redrive` as a user runs it, against moto's in-process mock through the library."""
    from retail_lake.cli import main

    boto3.client("sqs").send_message(QueueUrl=moto_stack.dlq_url, MessageBody="one")
    time.sleep(0)
    assert main(["redrive", "--queue", moto_stack.queue_url]) == 0
    got = boto3.client("sqs").receive_message(QueueUrl=moto_stack.queue_url).get("Messages", [])
    assert [m["Body"] for m in got] == ["one"]
    assert subprocess.run([sys.executable, "-m", "retail_lake.cli", "redrive"], capture_output=True,
                          text=True, env={"PATH": ""}).returncode == 2  # no queue given: a clear message


class Faults:
    """Transient faults at a fixed rate on chosen operations, injected under botocore's retry loop
    (``Endpoint._do_get_response``, where a real 503 or timeout would surface), so the SDK's own
    retry configuration is what is tested: SlowDown 503 on PutObject, throttling on DynamoDB,
    read timeouts on reads."""

    OPERATIONS = ("PutObject", "PutItem", "UpdateItem", "GetItem", "GetObject", "HeadObject")

    def __init__(self, rate: float, seed: int = 10) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.injected: dict[str, int] = {}

    def __call__(self, original: Callable) -> Callable:
        def flaky(endpoint: Any, request: Any, operation_model: Any, context: Any) -> Any:
            name = operation_model.name
            if name in self.OPERATIONS and self.random.random() < self.rate:
                self.injected[name] = self.injected.get(name, 0) + 1
                if name in ("GetObject", "HeadObject"):
                    return None, ReadTimeoutError(endpoint_url=request.url)
                status, code = (503, "SlowDown") if name == "PutObject" else (
                    400, "ProvisionedThroughputExceededException")
                http = AWSResponse(request.url, status, {}, _EmptyBody())
                return (http, {"Error": {"Code": code, "Message": "injected"},
                               "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}}}), None
            return original(endpoint, request, operation_model, context)

        return flaky


class _EmptyBody:
    def stream(self, *args: Any, **kwargs: Any) -> Any:
        return iter([b""])


def _run_uploads_with_faults(stack, mapping, uploads: int, rate: float) -> Faults:
    put_uploads(stack, uploads)
    faults = Faults(rate)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Endpoint, "_do_get_response", faults(Endpoint._do_get_response))
        mapping.drain(rounds=20)
    return faults


def _clean_state(uploads: int) -> list[tuple]:
    return sorted((f"I{i}", 1, float(f"{15 + i}.15")) for i in range(uploads))


def test_transient_faults_leave_the_lake_as_a_clean_run_and_nothing_in_the_dlq(moto_stack, mapping) -> None:
    faults = _run_uploads_with_faults(moto_stack, mapping, uploads=15, rate=0.06)
    assert {"PutObject", "HeadObject", "PutItem"} <= set(faults.injected), faults.injected
    assert all(batch == [] for batch in mapping.failures)  # the SDK's retries absorbed every fault
    rows, (logs, uploads) = lake_state(moto_stack)
    assert sorted(rows) == _clean_state(15)
    assert (logs, uploads) == (15, 15)
    assert dlq_bodies(moto_stack) == []


@pytest.mark.slow
def test_transient_faults_over_hundreds_of_uploads(moto_stack, mapping) -> None:
    faults = _run_uploads_with_faults(moto_stack, mapping, uploads=200, rate=0.06)
    assert sum(faults.injected.values()) > 100 and {"PutItem", "UpdateItem"} & set(faults.injected), faults.injected
    rows, (logs, uploads) = lake_state(moto_stack)
    assert sorted(rows) == _clean_state(200) and (logs, uploads) == (200, 200)
    assert dlq_bodies(moto_stack) == []


def test_errors_inside_a_200_delete_objects_reply_are_surfaced(moto_stack, monkeypatch) -> None:
    storage = S3Storage(moto_stack.lake_bucket)
    storage.write_bytes("a", b"1")
    original = BaseClient._make_api_call

    def partial(client: BaseClient, operation: str, params: dict) -> Any:
        if operation == "DeleteObjects":
            return {"Deleted": [], "Errors": [{"Key": "a", "Code": "InternalError", "Message": "injected"}],
                    "ResponseMetadata": {"HTTPStatusCode": 200}}
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", partial)
    with pytest.raises(StorageError, match="delete failed for 1 objects"):
        storage.delete(["a"])


# --- idempotency records left in progress ---------------------------------------------------------

class ShortContext:
    """A Lambda context with little time left: Powertools sets in_progress_expiration from it."""

    function_name = "retail-lake-dev-ingest"
    memory_limit_in_mb = 1536
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retail-lake-dev-ingest"
    aws_request_id = "killed-invocation"
    log_group_name = "/aws/lambda/retail-lake-dev-ingest"
    log_stream_name = "local"

    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_in_progress_record_of_a_killed_invocation_expires_and_the_retry_runs_once(
    moto_stack, ingest_app: ModuleType, monkeypatch
) -> None:
    from retail_lake.ingest import _pipeline

    [key] = put_uploads(moto_stack, 1)
    message = boto3.client("sqs").receive_message(QueueUrl=moto_stack.queue_url, AttributeNames=["All"],
                                                  MessageAttributeNames=["All"])["Messages"]
    event = sqs_event_from_messages(message, moto_stack.queue_arn)
    real = _pipeline.ingest_path

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("SIGKILL in the middle of the ingest (simulated: not an Exception, nothing cleans up)")

    monkeypatch.setattr(_pipeline, "ingest_path", killed)
    with pytest.raises(SystemExit):
        ingest_app.lambda_handler(event, ShortContext(millis=1500))
    [item] = boto3.client("dynamodb").scan(TableName=moto_stack.table)["Items"]
    assert item["status"]["S"] == "INPROGRESS"

    monkeypatch.setattr(_pipeline, "ingest_path", real)
    # while the killed invocation's record is in progress, a redelivery fails (SQS retries it later)
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    with pytest.raises(BatchProcessingError, match="IdempotencyAlreadyInProgressError"):
        ingest_app.lambda_handler(event, ShortContext(millis=600_000))
    time.sleep(1.6)  # its in_progress_expiration (the killed invocation's remaining time) passes
    assert ingest_app.lambda_handler(event, ShortContext(millis=600_000)) == {"batchItemFailures": []}
    assert ingest_app.lambda_handler(event, ShortContext(millis=600_000)) == {"batchItemFailures": []}
    [item] = boto3.client("dynamodb").scan(TableName=moto_stack.table)["Items"]
    assert item["status"]["S"] == "COMPLETED"
    rows, (logs, uploads) = lake_state(moto_stack)
    assert (len(rows), logs, uploads) == (1, 1, 1)
    del key


def test_metrics_are_not_emitted_twice_for_a_redelivered_upload(moto_stack, ingest_app: ModuleType,
                                                                lambda_context) -> None:
    put_uploads(moto_stack, 1)
    message = boto3.client("sqs").receive_message(QueueUrl=moto_stack.queue_url, AttributeNames=["All"],
                                                  MessageAttributeNames=["All"])["Messages"]
    event = sqs_event_from_messages(message, moto_stack.queue_arn)
    with emitted_metrics(ingest_app) as counted:
        ingest_app.lambda_handler(event, lambda_context)
        first = list(counted)
        ingest_app.lambda_handler(event, lambda_context)  # SQS redelivers the same notification
    assert "UploadsSucceeded" in first
    assert counted == first  # nothing added by the redelivery
