"""Issue 10, item 2 on S3 (moto, the real handler): an upload's identity is bucket/key plus the
object's versionId, else the event's sequencer, not its ETag.

Re-uploading yesterday's bytes is a new upload (its invoices are the latest again); a redelivered
notification is not; a notification for bytes overwritten since is skipped on an unversioned bucket
and reads its own version on a versioned one.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3

from retail_lake.query import connect

HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
ONE = HEADER + "I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon\n"
TWO = HEADER + "I1,C1,Female,28,Clothing,2,600.16,Cash,5/8/2022,Kanyon\n"


def put(stack: Any, key: str, body: str) -> dict[str, Any]:
    return boto3.client("s3").put_object(Bucket=stack.upload_bucket, Key=key, Body=body)


def event(load_event, stack: Any, key: str, resp: dict[str, Any], *, day: int, sequencer: str,
          message_id: str) -> dict[str, Any]:
    """infra/events/sqs_s3_put.json for one put: bucket, key, eTag, versionId, sequencer, time."""
    record = load_event("sqs_s3_put.json")["Records"][0]
    body = json.loads(record["body"])
    s3 = body["Records"][0]["s3"]
    s3["bucket"]["name"] = stack.upload_bucket
    s3["object"].update(key=key, eTag=resp["ETag"].strip('"'), sequencer=sequencer)
    if resp.get("VersionId"):
        s3["object"]["versionId"] = resp["VersionId"]
    body["Records"][0]["eventTime"] = f"2024-01-{day:02d}T00:00:00.000Z"
    record.update(messageId=message_id, body=json.dumps(body))
    return {"Records": [record]}


def quantity(stack: Any) -> list[tuple]:
    return connect(stack.lake_uri).execute("SELECT invoice_no, quantity FROM sales").fetchall()


def uploads(stack: Any) -> int:
    return connect(stack.lake_uri).execute("SELECT count(*) FROM ingest_log").fetchone()[0]


def test_reuploading_the_same_bytes_makes_them_the_latest_again(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context
) -> None:
    first = put(moto_stack, "raw/sales/a.csv", ONE)
    first_event = event(load_event, moto_stack, "raw/sales/a.csv", first, day=1, sequencer="0A01", message_id="m1")
    assert ingest_app.lambda_handler(first_event, lambda_context)["batchItemFailures"] == []
    second = put(moto_stack, "raw/sales/b.csv", TWO)
    ingest_app.lambda_handler(event(load_event, moto_stack, "raw/sales/b.csv", second, day=2, sequencer="0A02",
                                    message_id="m2"), lambda_context)
    assert quantity(moto_stack) == [("I1", 2)]

    again = put(moto_stack, "raw/sales/a.csv", ONE)  # yesterday's bytes, same ETag, a new write
    assert again["ETag"] == first["ETag"]
    redo = event(load_event, moto_stack, "raw/sales/a.csv", again, day=3, sequencer="0A03", message_id="m3")
    assert ingest_app.lambda_handler(redo, lambda_context)["batchItemFailures"] == []
    assert quantity(moto_stack) == [("I1", 1)]
    assert uploads(moto_stack) == 3

    # the same notification again (SQS redelivery, a fresh message id): nothing changes
    redo["Records"][0]["messageId"] = "m3-again"
    assert ingest_app.lambda_handler(redo, lambda_context)["batchItemFailures"] == []
    assert uploads(moto_stack) == 3 and quantity(moto_stack) == [("I1", 1)]


def test_overwritten_object_on_an_unversioned_bucket_skips_the_stale_notification(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context
) -> None:
    old = put(moto_stack, "raw/sales/a.csv", ONE)
    new = put(moto_stack, "raw/sales/a.csv", TWO)
    ingest_app.lambda_handler(event(load_event, moto_stack, "raw/sales/a.csv", new, day=2, sequencer="0B02",
                                    message_id="new"), lambda_context)
    # the older notification arrives late: its bytes are gone, the newer ones are not re-read as it
    ingest_app.lambda_handler(event(load_event, moto_stack, "raw/sales/a.csv", old, day=1, sequencer="0B01",
                                    message_id="old"), lambda_context)
    assert quantity(moto_stack) == [("I1", 2)]
    assert uploads(moto_stack) == 1


def test_versioned_bucket_reads_the_version_its_notification_announced(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context
) -> None:
    boto3.client("s3").put_bucket_versioning(Bucket=moto_stack.upload_bucket,
                                            VersioningConfiguration={"Status": "Enabled"})
    v1 = put(moto_stack, "raw/sales/a.csv", ONE)
    v2 = put(moto_stack, "raw/sales/a.csv", TWO)
    assert v1["VersionId"] != v2["VersionId"]
    ingest_app.lambda_handler(event(load_event, moto_stack, "raw/sales/a.csv", v2, day=2, sequencer="0C02",
                                    message_id="v2"), lambda_context)
    ingest_app.lambda_handler(event(load_event, moto_stack, "raw/sales/a.csv", v1, day=1, sequencer="0C01",
                                    message_id="v1"), lambda_context)
    con = connect(moto_stack.lake_uri)
    assert sorted(con.execute("SELECT version_id FROM ingest_log").fetchall()) == sorted(
        [(v1["VersionId"],), (v2["VersionId"],)])
    assert con.execute("SELECT quantity FROM sales_versions ORDER BY uploaded_at").fetchall() == [(1,), (2,)]
    assert quantity(moto_stack) == [("I1", 2)]  # the later upload wins, whatever the delivery order
