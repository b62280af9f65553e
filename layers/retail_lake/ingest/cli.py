"""``retail-lake redrive``: move the ingest dead-letter queue's messages back to the ingest queue.

After the cause of a failure is fixed (a missing permission, a bucket, a bug), the messages that
reached the DLQ are sent back unchanged (body and message attributes) and deleted from the DLQ only
once the queue accepted them, so a crash in between duplicates a message (harmless: ingest is
idempotent) but never loses one. Works on AWS and on any endpoint in AWS_ENDPOINT_URL (moto's
server, LocalStack). Imports nothing heavy at module level (the CLI builds its parser every call).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

DEFAULT_BATCH = 10  # SQS's maximum per receive / send batch


@dataclass
class RedriveResult:
    moved: int = 0
    failed: int = 0
    source: str = ""
    target: str = ""


def _queue_url(sqs: Any, name_or_url: str) -> str:
    if name_or_url.startswith(("https://", "http://")):
        return name_or_url
    return sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"]


def _dead_letter_queue_of(sqs: Any, queue_url: str) -> str:
    """The DLQ named by the queue's RedrivePolicy."""
    import json

    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    policy = attrs.get("RedrivePolicy")
    if not policy:
        raise ValueError(f"{queue_url} has no RedrivePolicy: give the dead-letter queue with --dlq")
    arn = json.loads(policy)["deadLetterTargetArn"]
    account, name = arn.split(":")[4], arn.split(":")[5]
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def redrive(queue: str, dlq: str | None = None, *, limit: int | None = None, sqs: Any = None,
            say: Any = None) -> RedriveResult:
    """Move up to ``limit`` messages (all when None) from ``dlq`` (default: the queue's own DLQ) to ``queue``."""
    import boto3

    sqs = sqs or boto3.client("sqs")
    target = _queue_url(sqs, queue)
    source = _queue_url(sqs, dlq) if dlq else _dead_letter_queue_of(sqs, target)
    result = RedriveResult(source=source, target=target)
    while limit is None or result.moved + result.failed < limit:
        want = DEFAULT_BATCH if limit is None else min(DEFAULT_BATCH, limit - result.moved - result.failed)
        messages = sqs.receive_message(
            QueueUrl=source, MaxNumberOfMessages=want, WaitTimeSeconds=0, VisibilityTimeout=60,
            MessageAttributeNames=["All"], AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = [{"Id": str(i), "MessageBody": m["Body"], **(
            {"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
            for i, m in enumerate(messages)]
        sent = sqs.send_message_batch(QueueUrl=target, Entries=entries)
        ok = {int(e["Id"]) for e in sent.get("Successful", [])}
        result.failed += len(messages) - len(ok)
        if ok:
            sqs.delete_message_batch(QueueUrl=source, Entries=[
                {"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(ok)])
        result.moved += len(ok)
        if say:
            say(f"moved {result.moved} message(s)")
        if len(ok) < len(messages):
            break  # the target refused some: stop rather than spin; they stay in the DLQ
    return result


def cmd_redrive(args: argparse.Namespace) -> int:
    queue = args.queue or os.environ.get("INGEST_QUEUE_URL") or os.environ.get("INGEST_QUEUE")
    if not queue:
        print("retail-lake redrive: give the ingest queue (--queue URL|name, or $INGEST_QUEUE_URL)", file=sys.stderr)
        return 2
    try:
        result = redrive(queue, args.dlq or os.environ.get("INGEST_DLQ_URL"), limit=args.max,
                         say=lambda m: print(f"  .. {m}", file=sys.stderr, flush=True))
    except ValueError as exc:
        print(f"retail-lake redrive: {exc}", file=sys.stderr)
        return 2
    print(f"redrive: moved {result.moved} message(s) from {result.source} to {result.target}"
          + (f"; {result.failed} refused by the queue (left in the DLQ)" if result.failed else ""))
    return 1 if result.failed else 0


def add_parser(subparsers: Any) -> None:
    """Register ``retail-lake redrive`` (the CLI loads this module's add_parser)."""
    p = subparsers.add_parser(
        "redrive", help="move the ingest dead-letter queue's messages back to the ingest queue (after a fix)",
        description="Send every message (or --max of them) of the ingest dead-letter queue back to the ingest "
        "queue, unchanged, deleting each from the DLQ once the queue accepted it. The DLQ defaults to the "
        "queue's RedrivePolicy target. Uses AWS_ENDPOINT_URL when set (moto server, LocalStack).",
    )
    p.add_argument("--queue", default=None, metavar="URL|NAME",
                   help="the ingest queue (default: $INGEST_QUEUE_URL)")
    p.add_argument("--dlq", default=None, metavar="URL|NAME",
                   help="the dead-letter queue (default: the queue's RedrivePolicy target, or $INGEST_DLQ_URL)")
    p.add_argument("--max", type=int, default=None, metavar="N", help="move at most N messages (default: all)")
    p.add_argument("--lake", default=None, metavar="DIR|s3://bucket/prefix",
                   help="accepted like every subcommand's; redrive works on the queues only")
    p.set_defaults(func=cmd_redrive)
