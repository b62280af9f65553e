"""Storage's error contract and the query layer on a real local S3 endpoint (moto's server, LocalStack)."""

from __future__ import annotations

import json

import pytest

from retail_lake.config import Settings
from retail_lake.layout import pointer_key
from retail_lake.query import LakeReader, TableNotReady
from retail_lake.storage import S3Storage, StorageError, open_storage
from retail_lake.versions import new_run_id, publish_version


def test_missing_keys_raise_file_not_found_and_other_failures_storage_error(endpoint_stack) -> None:
    storage = open_storage(endpoint_stack.lake_uri)
    for call in (lambda: storage.read_bytes("nope.json"), lambda: storage.stat("nope.json"),
                 lambda: storage.read_if_changed("nope.json", None)):
        with pytest.raises(FileNotFoundError):
            call()
    assert storage.exists("nope.json") is False
    with pytest.raises(StorageError):
        S3Storage("retail-lake-no-such-bucket-" + new_run_id().lower()[-4:]).read_bytes("x")


def test_read_if_changed_is_a_conditional_get(endpoint_stack) -> None:
    storage = open_storage(endpoint_stack.lake_uri)
    storage.write_bytes("a/pointer.json", b'{"v": 1}')
    data, etag = storage.read_if_changed("a/pointer.json", None)
    assert data == b'{"v": 1}' and etag
    assert storage.read_if_changed("a/pointer.json", etag) == (None, etag)
    storage.write_bytes("a/pointer.json", b'{"v": 2}')
    data2, etag2 = storage.read_if_changed("a/pointer.json", etag)
    assert data2 == b'{"v": 2}' and etag2 != etag


def test_reader_follows_published_versions_on_s3(endpoint_stack, tmp_path) -> None:
    import duckdb

    storage = open_storage(endpoint_stack.lake_uri)
    settings = Settings.from_env()
    reader = LakeReader(storage, settings, revalidate_seconds=0)
    with pytest.raises(TableNotReady):
        reader.read("repeat_vs_onetime")

    def publish(repeat_customers: int) -> str:
        local = tmp_path / f"v{repeat_customers}.parquet"
        duckdb.execute(
            f"COPY (SELECT 'repeat' AS customer_type, {repeat_customers}::BIGINT AS customers, 0.5 AS customer_share, "
            "10.0 AS revenue, 0.5 AS revenue_share, 4::BIGINT AS transactions, 2.0 AS avg_transactions_per_customer, "
            "5.0 AS avg_revenue_per_customer, 2.5 AS avg_transaction_value) "
            f"TO '{local}' (FORMAT parquet)")
        run_id = new_run_id()
        publish_version(storage, "repeat_vs_onetime", local, run_id, 1)
        return run_id

    first = publish(2)
    page = reader.read("repeat_vs_onetime")
    assert page.rows[0]["customers"] == 2 and page.versions["repeat_vs_onetime"].run_id == first
    second = publish(3)
    assert reader.read("repeat_vs_onetime").rows[0]["customers"] == 3
    assert reader.version("repeat_vs_onetime").run_id == second
    assert json.loads(storage.read_bytes(pointer_key("repeat_vs_onetime")))["previous"]["run_id"] == first
