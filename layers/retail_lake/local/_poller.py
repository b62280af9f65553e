"""The SQS event source, done locally: receive messages, hand them to the ingest function as the
SQS event Lambda builds, delete the ones that succeeded, let the reported failures come back.

Two queues behind one interface: the template's ingest queue on moto's server or LocalStack
(``SqsQueue``), or, with no endpoint, an in-process queue with the same delivery rules
(``LocalQueue``: receive count, visibility, dead-letter after ``maxReceiveCount`` receives).

A failed message would reappear only after the queue's VisibilityTimeout (3600 s in template.yaml,
sized for Lambda's 600 s timeout); locally it is made visible again after ``retry_delay`` seconds
times its receive count, so a retry happens while the user is watching.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from retail_lake.local._events import LocalLambdaContext, sqs_event_from_messages, sqs_message

__all__ = ["Batch", "LocalQueue", "Queue", "QueuePoller", "SqsQueue"]


class Queue(Protocol):
    arn: str
    max_receive_count: int

    def receive(self, max_messages: int, wait_seconds: float) -> list[dict[str, Any]]: ...

    def delete(self, receipt_handles: list[str]) -> None: ...

    def retry_later(self, receipt_handle: str, seconds: int) -> None: ...


@dataclass
class _Held:
    body: str
    message_id: str
    sent_ms: int
    receive_count: int = 0
    first_received_ms: int | None = None
    visible_at: float = 0.0
    receipt_handle: str | None = None


class LocalQueue:
    """An in-process queue with SQS's delivery rules, for the no-endpoint platform.

    Messages live in memory: a restart re-scans the drop folder and re-announces every file, and the
    ingest's idempotency makes the repeats change nothing.
    """

    def __init__(self, arn: str, *, max_receive_count: int = 3, visibility_timeout: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.arn = arn
        self.max_receive_count = max_receive_count
        self.visibility_timeout = visibility_timeout
        self.clock = clock
        self.dead_letters: list[dict[str, Any]] = []
        self._held: list[_Held] = []
        self._cond = threading.Condition()

    def send(self, body: str) -> str:
        held = _Held(body=body, message_id=str(uuid.uuid4()), sent_ms=int(time.time() * 1000))
        with self._cond:
            self._held.append(held)
            self._cond.notify_all()
        return held.message_id

    def __len__(self) -> int:
        with self._cond:
            return len(self._held)

    def _visible(self, now: float) -> list[_Held]:
        return [m for m in self._held if m.visible_at <= now]

    def receive(self, max_messages: int, wait_seconds: float) -> list[dict[str, Any]]:
        deadline = self.clock() + wait_seconds
        with self._cond:
            while True:
                now = self.clock()
                visible = self._visible(now)
                for held in [m for m in visible if m.receive_count >= self.max_receive_count]:
                    self._held.remove(held)  # SQS's redrive: moved to the DLQ instead of a new receive
                    self.dead_letters.append(sqs_message(held.body, receive_count=held.receive_count,
                                                         sent_at_ms=held.sent_ms, message_id=held.message_id))
                visible = [m for m in visible if m in self._held]
                if visible or now >= deadline:
                    break
                pending = [m.visible_at - now for m in self._held]
                self._cond.wait(min([deadline - now, *[p for p in pending if p > 0]]))
            out = []
            for held in visible[:max_messages]:
                held.receive_count += 1
                now_ms = int(time.time() * 1000)
                held.first_received_ms = held.first_received_ms or now_ms
                held.receipt_handle = uuid.uuid4().hex
                held.visible_at = now + self.visibility_timeout
                out.append(sqs_message(held.body, receive_count=held.receive_count, sent_at_ms=held.sent_ms,
                                       first_received_ms=held.first_received_ms, message_id=held.message_id,
                                       receipt_handle=held.receipt_handle))
            return out

    def delete(self, receipt_handles: list[str]) -> None:
        with self._cond:
            self._held = [m for m in self._held if m.receipt_handle not in set(receipt_handles)]

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        with self._cond:
            for held in self._held:
                if held.receipt_handle == receipt_handle:
                    held.visible_at = self.clock() + seconds
            self._cond.notify_all()


class SqsQueue:
    """The ingest queue on an endpoint, received like Lambda's event source receives it."""

    def __init__(self, url: str, arn: str, *, max_receive_count: int = 3) -> None:
        import boto3

        self.url = url
        self.arn = arn
        self.max_receive_count = max_receive_count
        self.client = boto3.client("sqs")

    def receive(self, max_messages: int, wait_seconds: float) -> list[dict[str, Any]]:
        resp = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=max(0, min(20, int(wait_seconds))),
            AttributeNames=["All"], MessageAttributeNames=["All"],
        )
        return resp.get("Messages", [])

    def delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipt_handles[start:start + 10])]
            self.client.delete_message_batch(QueueUrl=self.url, Entries=entries)

    def retry_later(self, receipt_handle: str, seconds: int) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle,
                                              VisibilityTimeout=max(0, int(seconds)))


@dataclass
class Batch:
    """One invocation of the ingest function and its outcome."""

    event: dict[str, Any]
    started: float
    failed_ids: set[str] = field(default_factory=set)
    error: BaseException | None = None  # the whole invocation raised (every record counts as failed)

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.event["Records"]

    def succeeded(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["messageId"] not in self.failed_ids]

    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["messageId"] in self.failed_ids]


IngestFunction = Callable[[dict[str, Any], Any], dict[str, Any]]


class QueuePoller:
    """Receive -> invoke -> delete the successes, retry the failures; one batch at a time (the
    handler's module-level BatchProcessor is one per container, as in Lambda)."""

    def __init__(self, queue: Queue, function: IngestFunction, *,
                 context: Callable[[], LocalLambdaContext], batch_size: int = 5,
                 retry_delay: float = 5.0, wait_seconds: float = 1.0,
                 on_batch: Callable[[Batch], None] | None = None,
                 on_receive: Callable[[], None] | None = None) -> None:
        self.queue = queue
        self.function = function
        self.context = context
        self.batch_size = batch_size
        self.retry_delay = retry_delay
        self.wait_seconds = wait_seconds
        self.on_batch = on_batch
        self.on_receive = on_receive
        self.busy = False

    def poll_once(self) -> Batch | None:
        messages = self.queue.receive(self.batch_size, self.wait_seconds)
        if not messages:
            return None
        self.busy = True
        if self.on_receive is not None:
            self.on_receive()
        batch = Batch(sqs_event_from_messages(messages, self.queue.arn), time.time())
        try:
            try:
                response = self.function(batch.event, self.context()) or {}
                batch.failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures") or []}
            except Exception as exc:  # Powertools raises when every record failed: all are retried
                batch.error = exc
                batch.failed_ids = {r["messageId"] for r in batch.records}
            done = [r["receiptHandle"] for r in batch.succeeded()]
            if done:
                self.queue.delete(done)
            for record in batch.failed():
                count = int(record["attributes"].get("ApproximateReceiveCount", "1"))
                self.queue.retry_later(record["receiptHandle"], round(self.retry_delay * count))
            return batch
        finally:
            self.busy = False
            if self.on_batch is not None:  # once per received batch, even when deleting failed
                self.on_batch(batch)

    def run(self, stop: threading.Event, on_error: Callable[[BaseException], None]) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # the endpoint went away, ...: say so, wait, try again
                on_error(exc)
                stop.wait(max(1.0, self.retry_delay))
