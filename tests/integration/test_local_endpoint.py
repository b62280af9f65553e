"""S3 -> SQS -> ingest handler -> lake against a real local AWS endpoint over HTTP.

moto's ThreadedMotoServer always; LocalStack too when ``../shared/localstack/start`` can bring it up
(marked ``localstack``; skipped with the reason otherwise). The upload bucket's notification comes
from template.yaml, the S3 notification is received from SQS with boto3 and turned into the exact
event Lambda's SQS event source would build, and the handler runs in-process with
``AWS_ENDPOINT_URL`` pointed at the server.
"""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest

from retail_lake.ingest._lambda import sqs_event_from_messages
from retail_lake.query import connect

# Five rows: I1-I3 are good, I4 has a negative price, I2 repeats exactly (duplicate_row).
CSV = (
    "Invoice No,Customer ID,Gender,Age,Category,Quantity,Price,Payment Method,Invoice Date,Shopping Mall\n"
    "I1,C1,Female,30,Clothing,1,300.08,Cash,1/2/2023,Kanyon\n"
    "I2,C2,Male,41,Books,2,30.30,Credit Card,15/2/2023,Metrocity\n"
    "I3,C1,Female,30,Shoes,1,600.17,Debit Card,3/3/2023,Kanyon\n"
    "I4,C3,Male,25,Toys,1,-5,Cash,4/3/2023,Kanyon\n"
    "I2,C2,Male,41,Books,2,30.30,Credit Card,15/2/2023,Metrocity\n"
)


def receive_notifications(queue_url: str, *, want: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Poll the ingest queue like Lambda's event source until ``want`` S3 object notifications
    arrived (s3:TestEvent messages are kept too: the handler must accept them)."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        )
        messages += resp.get("Messages", [])
        if sum("Records" in json.loads(m["Body"]) for m in messages) >= want:
            return messages
    raise AssertionError(f"no S3 notification reached {queue_url} within {timeout_s:.0f}s: {messages}")


def test_upload_notification_ingest_and_query(endpoint_stack, ingest_app: ModuleType, lambda_context) -> None:
    """Upload a CSV to raw/sales/, receive the notification, invoke the handler, query the lake."""
    stack = endpoint_stack
    s3 = boto3.client("s3")
    key = "raw/sales/2023/mall export.csv"  # a space: notifications URL-encode keys
    s3.put_object(Bucket=stack.upload_bucket, Key=key, Body=CSV.encode())
    s3.put_object(Bucket=stack.upload_bucket, Key="not-raw/ignored.csv", Body=CSV.encode())  # outside the filter

    messages = receive_notifications(stack.queue_url, want=1)
    event = sqs_event_from_messages(messages, stack.queue_arn)

    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == stack.queue_arn
        assert record["awsRegion"] == "us-east-1" and record["md5OfBody"] and record["receiptHandle"]
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
    notified = [json.loads(r["body"]) for r in event["Records"] if "Records" in json.loads(r["body"])]
    encoded = [n["Records"][0]["s3"]["object"]["key"] for n in notified]
    assert [unquote_plus(k) for k in encoded] == [key] and " " not in encoded[0]  # the handler decodes it

    response = ingest_app.lambda_handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    for record in event["Records"]:  # what Lambda does after a successful batch
        sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=record["receiptHandle"])

    con = connect(stack.lake_uri)
    assert con.execute("SELECT count(*), count(DISTINCT invoice_no), round(sum(price), 2) FROM sales").fetchone() == (
        3, 3, round(300.08 + 30.30 + 600.17, 2))
    rules = con.execute("SELECT rule FROM quarantine_sales ORDER BY row_number").fetchall()
    assert rules == [("negative_price",), ("duplicate_row",)]
    log = con.execute("SELECT status, rows_in, rows_accepted, rows_quarantined, source FROM ingest_log").fetchall()
    assert log == [("succeeded", 5, 3, 2, f"s3://{stack.upload_bucket}/raw/sales/2023/mall export.csv")]
    months = con.execute('SELECT DISTINCT "year", "month" FROM sales ORDER BY 1, 2').fetchall()
    assert months == [(2023, 2), (2023, 3)]

    # Nothing else is waiting: the upload outside raw/ was not announced, the DLQ is empty.
    left = sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert [json.loads(m["Body"]).get("Event") for m in left] in ([], ["s3:TestEvent"])
    assert not sqs.receive_message(QueueUrl=stack.dlq_url, WaitTimeSeconds=0).get("Messages")


def test_redelivered_notification_changes_nothing(endpoint_stack, ingest_app: ModuleType, lambda_context) -> None:
    """The same SQS messages handled twice (a visibility timeout ran out): one ingest, one log row,
    one completed idempotency record."""
    stack = endpoint_stack
    boto3.client("s3").put_object(Bucket=stack.upload_bucket, Key="raw/sales/again.csv", Body=CSV.encode())
    event = sqs_event_from_messages(receive_notifications(stack.queue_url, want=1), stack.queue_arn)

    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    con = connect(stack.lake_uri)
    assert con.execute("SELECT count(*) FROM ingest_log").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM sales").fetchone() == (3,)
    items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert [i["status"]["S"] for i in items] == ["COMPLETED"]


@pytest.mark.parametrize("prefix", ["raw/stores/"])
def test_stores_upload_replaces_the_reference_table(endpoint_stack, ingest_app: ModuleType, lambda_context,
                                                    prefix: str) -> None:
    """raw/stores/ uploads go through the same queue and land in the stores table."""
    stack = endpoint_stack
    body = "shopping_mall,district,region\nKanyon,Levent,European Side\nNew Mall,Kadikoy,Asian Side\n"
    boto3.client("s3").put_object(Bucket=stack.upload_bucket, Key=f"{prefix}stores.csv", Body=body.encode())
    event = sqs_event_from_messages(receive_notifications(stack.queue_url, want=1), stack.queue_arn)

    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    rows = connect(stack.lake_uri).execute("SELECT shopping_mall, region FROM stores ORDER BY 1").fetchall()
    assert rows == [("Kanyon", "European Side"), ("New Mall", "Asian Side")]
