"""Issue 10, item 3 on S3 (moto): keys with '..' never escape their prefix, through the real handler."""

from __future__ import annotations

from types import ModuleType

import boto3

from retail_lake.ingest import ingest_s3_object
from retail_lake.query import connect

from .test_ingest_handler_moto import GOOD_CSV, lake_objects, sqs_event, upload

STORES_CSV = "shopping_mall,district,region\nKanyon,Levent,Hijacked Region\n"


def test_dot_dot_key_cannot_turn_a_sales_upload_into_a_stores_upload(moto_stack) -> None:
    """raw/sales/../stores/x.csv would read as a stores upload (and replace the stores table) if the
    path were normalised; it is refused and nothing is written to the lake."""
    key = "raw/sales/../stores/evil.csv"
    upload(moto_stack, key, STORES_CSV)
    result = ingest_s3_object(moto_stack.upload_bucket, key, lake=moto_stack.lake_uri)
    assert result.status == "rejected"
    assert "'..'" in result.message
    assert lake_objects(moto_stack) == {}
    assert connect(moto_stack.lake_uri).execute("SELECT region FROM stores WHERE shopping_mall = 'Kanyon'") \
        .fetchall() == [("European Side",)]


def test_dot_dot_key_through_the_handler_neither_escapes_nor_retries(
    moto_stack, ingest_app: ModuleType, load_event, lambda_context
) -> None:
    """The record succeeds (no retry can fix a key), the good record beside it is ingested, and the
    work folder never holds a file named after the key."""
    bad, good = "raw/sales/../../etc/passwd.csv", "raw/sales/ok.csv"
    etag_bad = upload(moto_stack, bad, GOOD_CSV)
    etag_good = upload(moto_stack, good, GOOD_CSV)
    event = sqs_event(load_event, [(moto_stack.upload_bucket, bad, etag_bad),
                                   (moto_stack.upload_bucket, good, etag_good)])
    assert ingest_app.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    keys = set(lake_objects(moto_stack))
    assert all(k.startswith(("curated/", "quarantine/", "audit/")) for k in keys)
    con = connect(moto_stack.lake_uri)
    assert con.execute("SELECT source FROM ingest_log").fetchall() == [(f"s3://{moto_stack.upload_bucket}/{good}",)]
    s3 = boto3.client("s3")
    assert "Contents" not in s3.list_objects_v2(Bucket=moto_stack.lake_bucket, Prefix="etc")
