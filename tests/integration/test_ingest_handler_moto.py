"""The ingest handler end to end inside moto's mock (``mock_aws``).

Buckets, queues and the idempotency table come from template.yaml's own properties (conftest); the
events are infra/events JSON with only bucket/key/eTag/body changed. Covers the retry contract:
a transient failure fails only its record (partial batch response), a rejected file does not fail
its record, and redelivery changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from retail_lake.query import connect

# Four rows, one with quantity 0: 3 accepted (invoices I1001-I1003), 1 quarantined.
GOOD_CSV = (
    "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
    "I1001,C1,Female,28,Clothing,2,600.16,Credit Card,5/8/2022,Kanyon\n"
    "I1002,C2,Male,35,Shoes,1,600.17,Cash,12/12/2021,Forum Istanbul\n"
    "I1003,C1,Female,28,Books,3,45.45,Debit Card,9/11/2021,Kanyon\n"
    "I1004,C3,Male,40,Toys,0,35.84,Cash,1/1/2022,Metrocity\n"
)
# Two more invoices in a second file.
OTHER_CSV = (
    "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
    "I2001,C4,Female,51,Cosmetics,2,81.32,Cash,3/3/2022,Zorlu Center\n"
    "I2002,C5,Male,22,Technology,1,1050.00,Credit Card,4/3/2022,Kanyon\n"
)


def upload(stack: Any, key: str, body: str | bytes) -> str:
    """Put an object in the upload bucket; returns its ETag (as S3 notifications carry it)."""
    resp = boto3.client("s3").put_object(Bucket=stack.upload_bucket, Key=key, Body=body)
    return resp["ETag"].strip('"')


def sqs_event(load_event: Callable[[str], dict[str, Any]], objects: list[tuple[str, str, str]]) -> dict[str, Any]:
    """infra/events/sqs_s3_put.json with one record per (bucket, key, etag); only the S3 fields of the
    body and the messageId change."""
    template = load_event("sqs_s3_put.json")["Records"][0]
    records = []
    for i, (bucket, key, etag) in enumerate(objects):
        s3_event = json.loads(template["body"])
        s3 = s3_event["Records"][0]["s3"]
        s3["bucket"]["name"] = bucket
        s3["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        s3["object"]["key"] = key
        s3["object"]["eTag"] = etag
        s3_event["Records"][0]["eventTime"] = f"2024-01-0{i + 1}T00:00:00.000Z"
        record = dict(template)
        record["messageId"] = f"message-{i}"
        record["body"] = json.dumps(s3_event)
        records.append(record)
    return {"Records": records}


def lake_counts(stack: Any) -> dict[str, Any]:
    con = connect(stack.lake_uri)
    return {
        "sales": con.execute("SELECT count(*) FROM sales").fetchone()[0],
        "invoices": con.execute("SELECT count(DISTINCT invoice_no) FROM sales").fetchone()[0],
        "quarantine": con.execute("SELECT count(*) FROM quarantine_sales").fetchone()[0],
        "log": con.execute("SELECT status, rows_in, rows_accepted, rows_quarantined FROM ingest_log ORDER BY source")
        .fetchall(),
    }


def lake_objects(stack: Any) -> dict[str, str]:
    """Every lake object (outside Athena results) with its ETag: a redelivery must not change it."""
    resp = boto3.client("s3").list_objects_v2(Bucket=stack.lake_bucket)
    return {o["Key"]: o["ETag"] for o in resp.get("Contents", [])}


@pytest.fixture
def fail_put_object_once(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """Fault injection at the botocore seam (awswrangler's test_moto.py): the first PutObject to the
    given bucket raises a throttling ClientError; returns the list of failed calls."""

    def arm(bucket: str) -> list[str]:
        failed: list[str] = []
        original = BaseClient._make_api_call

        def flaky(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if operation_name == "PutObject" and api_params.get("Bucket") == bucket and not failed:
                failed.append(api_params["Key"])
                raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, operation_name)
            return original(self, operation_name, api_params)

        monkeypatch.setattr(BaseClient, "_make_api_call", flaky)
        return failed

    return arm


def test_sqs_event_ingests_the_file(moto_stack, ingest_app: ModuleType, load_event, lambda_context) -> None:
    """S3 -> SQS -> handler: accepted rows reach sales, the bad row quarantine, one ingest_log row."""
    etag = upload(moto_stack, "raw/sales/2022/store_a.csv", GOOD_CSV)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, "raw/sales/2022/store_a.csv", etag)])

    response = ingest_app.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}
    counts = lake_counts(moto_stack)
    assert counts["sales"] == 3 and counts["invoices"] == 3
    assert counts["quarantine"] == 1
    assert counts["log"] == [("succeeded", 4, 3, 1)]
    revenue = connect(moto_stack.lake_uri).execute("SELECT round(sum(price), 2) FROM sales").fetchone()[0]
    assert revenue == pytest.approx(600.16 + 600.17 + 45.45)


def test_transient_failure_fails_only_its_record_and_the_retry_succeeds(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context, fail_put_object_once
) -> None:
    """A PutObject that fails once fails its record (batchItemFailures); the other record succeeds;
    redelivering the failed record completes the lake exactly."""
    key_a, key_b = "raw/sales/a.csv", "raw/sales/b.csv"
    etag_a = upload(moto_stack, key_a, GOOD_CSV)
    etag_b = upload(moto_stack, key_b, OTHER_CSV)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, key_a, etag_a),
                                   (moto_stack.upload_bucket, key_b, etag_b)])
    failed = fail_put_object_once(moto_stack.lake_bucket)

    response = ingest_app.lambda_handler(event, lambda_context)

    assert failed, "the fault was never injected"
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}

    retry = {"Records": [event["Records"][0]]}
    assert ingest_app.lambda_handler(retry, lambda_context) == {"batchItemFailures": []}
    counts = lake_counts(moto_stack)
    assert counts["invoices"] == 5 and counts["sales"] == 5
    assert sorted(counts["log"]) == [("succeeded", 2, 2, 0), ("succeeded", 4, 3, 1)]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        ("invoice_no,customer_id\nI1,C1\n", "missing required column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not CSV or Parquet"),
    ],
)
def test_unusable_file_is_rejected_without_failing_its_record(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context, body: str | bytes, reason: str
) -> None:
    """A file no retry can fix is logged as rejected and its SQS record succeeds (no DLQ churn)."""
    key = "raw/sales/broken.csv"
    etag = upload(moto_stack, key, body)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, key, etag)])

    response = ingest_app.lambda_handler(event, lambda_context)

    assert response == {"batchItemFailures": []}, reason
    con = connect(moto_stack.lake_uri)
    status, message = con.execute("SELECT status, message FROM ingest_log").fetchone()
    assert status == "rejected" and message
    assert con.execute("SELECT count(*) FROM sales").fetchone()[0] == 0


def test_redelivery_changes_nothing(moto_stack, ingest_app: ModuleType, load_event, lambda_context) -> None:
    """The same record twice: the second call returns the stored result and writes nothing."""
    key = "raw/sales/2022/store_a.csv"
    etag = upload(moto_stack, key, GOOD_CSV)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, key, etag)])

    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    before = lake_objects(moto_stack)
    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    assert lake_objects(moto_stack) == before
    counts = lake_counts(moto_stack)
    assert counts["sales"] == 3 and counts["log"] == [("succeeded", 4, 3, 1)]
    items = boto3.client("dynamodb").scan(TableName=moto_stack.table)["Items"]
    assert len(items) == 1 and items[0]["status"]["S"] == "COMPLETED"
    assert "expiration" in items[0]


def test_direct_s3_event(moto_stack, ingest_app: ModuleType, load_event, lambda_context) -> None:
    """infra/events/s3_put.json (S3 -> Lambda without SQS) is accepted too."""
    key = "raw/sales/direct.csv"
    etag = upload(moto_stack, key, OTHER_CSV)
    event = load_event("s3_put.json")
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"], s3["object"]["key"], s3["object"]["eTag"] = moto_stack.upload_bucket, key, etag

    response = ingest_app.lambda_handler(event, lambda_context)

    (result,) = response["results"]
    assert result["status"] == "succeeded" and result["rows_accepted"] == 2
    assert lake_counts(moto_stack)["invoices"] == 2


def test_direct_s3_event_raises_on_transient_failure(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context, fail_put_object_once
) -> None:
    """Without SQS the handler raises, so Lambda's own async retries apply."""
    key = "raw/sales/direct.csv"
    etag = upload(moto_stack, key, OTHER_CSV)
    event = load_event("s3_put.json")
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"], s3["object"]["key"], s3["object"]["eTag"] = moto_stack.upload_bucket, key, etag
    fail_put_object_once(moto_stack.lake_bucket)

    with pytest.raises(Exception, match=r"injected|SlowDown"):
        ingest_app.lambda_handler(event, lambda_context)
    assert ingest_app.lambda_handler(event, lambda_context)["results"][0]["status"] == "succeeded"


def test_s3_test_event_is_ignored(moto_stack, ingest_app: ModuleType, load_event, lambda_context) -> None:
    """S3 sends s3:TestEvent when the notification is configured: the record succeeds, nothing runs."""
    event = load_event("sqs_receive_message.json")
    event["Records"][0]["body"] = json.dumps({
        "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2024-01-01T00:00:00.000Z",
        "Bucket": moto_stack.upload_bucket, "RequestId": "R", "HostId": "H",
    })

    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert lake_objects(moto_stack) == {}


def test_unrecognised_message_fails_its_record(moto_stack, ingest_app: ModuleType, load_event,
                                               lambda_context) -> None:
    """A body that is not an S3 notification ('Hello from SQS!') fails its record, so it reaches the
    DLQ for a human; the good record beside it succeeds. When every record fails, Powertools raises
    (the invocation counts as an error) and SQS retries the whole batch."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    hello = load_event("sqs_receive_message.json")
    with pytest.raises(BatchProcessingError):
        ingest_app.lambda_handler(hello, lambda_context)

    key = "raw/sales/ok.csv"
    etag = upload(moto_stack, key, OTHER_CSV)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, key, etag)])
    event["Records"].append(hello["Records"][0])
    bad_id = hello["Records"][0]["messageId"]

    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": bad_id}]}
    assert lake_counts(moto_stack)["invoices"] == 2
