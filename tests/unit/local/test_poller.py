"""The poller's contract with the ingest function (Lambda's SQS event source): successes deleted,
reported failures back after the retry delay, dead-lettered after maxReceiveCount receives; and the
in-process queue's delivery rules."""

from __future__ import annotations

import json
from typing import Any

from retail_lake.local._events import LocalLambdaContext
from retail_lake.local._poller import LocalQueue, QueuePoller


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def context() -> LocalLambdaContext:
    return LocalLambdaContext("retail-lake-dev-ingest")


def test_local_queue_delivery_rules() -> None:
    clock = Clock()
    q = LocalQueue("arn:aws:sqs:us-east-1:123456789012:q", max_receive_count=2, clock=clock)
    q.send("one")
    [m] = q.receive(10, 0)
    assert m["Body"] == "one" and m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert q.receive(10, 0) == []  # in flight: invisible
    q.retry_later(m["ReceiptHandle"], 5)
    clock.now = 4.9
    assert q.receive(10, 0) == []
    clock.now = 5.0
    [again] = q.receive(10, 0)
    assert again["MessageId"] == m["MessageId"] and again["ReceiptHandle"] != m["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    q.retry_later(again["ReceiptHandle"], 0)
    assert q.receive(10, 0) == [] and len(q) == 0  # received twice already: moved to the DLQ
    assert [d["Body"] for d in q.dead_letters] == ["one"]


def test_poller_deletes_successes_and_retries_reported_failures() -> None:
    clock = Clock()
    q = LocalQueue("arn:aws:sqs:us-east-1:123456789012:q", max_receive_count=3, clock=clock)
    for body in ("good", "bad", "good-too"):
        q.send(json.dumps({"b": body}))
    seen: list[list[str]] = []

    def function(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        assert ctx.function_name == "retail-lake-dev-ingest"
        bodies = [json.loads(r["body"])["b"] for r in event["Records"]]
        seen.append(bodies)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if json.loads(r["body"])["b"] == "bad"]}

    batches = []
    poller = QueuePoller(q, function, context=context, batch_size=5, retry_delay=2.0, wait_seconds=0,
                         on_batch=batches.append)
    batch = poller.poll_once()
    assert batch is not None and seen == [["good", "bad", "good-too"]]
    assert [json.loads(r["body"])["b"] for r in batch.failed()] == ["bad"] and len(q) == 1
    assert poller.poll_once() is None  # the failure waits 2 s x its receive count
    clock.now = 2.0
    assert poller.poll_once() is not None and seen[-1] == ["bad"]
    clock.now = 6.0  # 2 s x 2
    poller.poll_once()
    clock.now = 12.0
    assert poller.poll_once() is None  # three receives: dead-lettered instead of a fourth
    assert [json.loads(d["Body"])["b"] for d in q.dead_letters] == ["bad"] and len(batches) == 3


def test_an_invocation_that_raises_fails_every_record() -> None:
    clock = Clock()
    q = LocalQueue("arn:aws:sqs:us-east-1:123456789012:q", clock=clock)
    q.send("x")

    def function(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        raise RuntimeError("All records failed processing")

    batches = []
    poller = QueuePoller(q, function, context=context, retry_delay=1.0, wait_seconds=0, on_batch=batches.append)
    batch = poller.poll_once()
    assert batch is not None and isinstance(batch.error, RuntimeError) and len(batch.failed()) == 1
    assert len(q) == 1 and batches == [batch] and not poller.busy


def test_batch_size_is_the_template_s() -> None:
    q = LocalQueue("arn:aws:sqs:us-east-1:123456789012:q", clock=Clock())
    for i in range(7):
        q.send(str(i))
    sizes = []
    poller = QueuePoller(q, lambda e, c: sizes.append(len(e["Records"])) or {"batchItemFailures": []},
                         context=context, batch_size=5, wait_seconds=0)
    poller.poll_once()
    poller.poll_once()
    assert sizes == [5, 2] and len(q) == 0
