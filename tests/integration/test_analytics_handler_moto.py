"""functions/analytics/app.py end to end inside moto (``mock_aws``): the lake bucket comes from
template.yaml (conftest), the environment is the function's own from template.yaml, the event is
infra/events/eventbridge_schedule.json, and the result is read back with ``retail_lake.query.connect``."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from retail_lake.analytics import TABLE_NAMES, read_pointer
from retail_lake.ingest import ingest_s3_object
from retail_lake.query import connect
from retail_lake.storage import open_storage

from .conftest import EVENTS, ROOT, FakeLambdaContext, Stack, Template

# Kanyon: I1 (C1, 2 lines: 600 + 100) and I2 (C2, 300); Zorlu Center: I3 (C1, 45); one bad row.
CSV = (
    "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
    "I1,C1,Female,28,Clothing,2,600.00,Credit Card,5/8/2022,Kanyon\n"
    "I1,C1,Female,28,Books,1,100.00,Credit Card,5/8/2022,Kanyon\n"
    "I2,C2,Male,35,Shoes,1,300.00,Cash,12/8/2022,Kanyon\n"
    "I3,C1,Female,28,Books,3,45.00,Debit Card,9/9/2022,Zorlu Center\n"
    "I4,C3,Male,40,Toys,0,35.84,Cash,1/9/2022,Metrocity\n"
)


def function_environment(stack: Stack) -> dict[str, str]:
    """AnalyticsFunction's environment variables as template.yaml sets them (Globals + its own), with
    parameter defaults and this stack's names."""
    tpl = Template({"NamePrefix": "retail-lake", "Stage": "dev", "AWS::AccountId": stack.account,
                    "AWS::Region": "us-east-1", "AWS::Partition": "aws", "LakeBucket": stack.lake_bucket,
                    "GlueDatabase": "retail_lake_dev", "AthenaWorkGroup": "retail-lake-dev",
                    "RetailLakeLayer": "layer"})
    env = {**tpl.doc["Globals"]["Function"]["Environment"]["Variables"],
           **tpl.doc["Resources"]["AnalyticsFunction"]["Properties"]["Environment"]["Variables"]}
    return {k: str(tpl.resolve(v)) for k, v in env.items()}


def load_app(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    """Import functions/analytics/app.py fresh: it reads its settings at import, like a cold start."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("retail_lake_analytics_app", ROOT / "functions/analytics/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nightly_event_computes_every_table_in_the_s3_lake(moto_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upload -> ingest -> the scheduled handler -> tables readable from s3://<lake>, values by hand."""
    boto3.client("s3").put_object(Bucket=moto_stack.upload_bucket, Key="raw/sales/2022/a.csv", Body=CSV)
    ingested = ingest_s3_object(moto_stack.upload_bucket, "raw/sales/2022/a.csv", lake=moto_stack.lake_uri)
    assert (ingested.rows_accepted, ingested.rows_quarantined) == (4, 1)
    env = function_environment(moto_stack)
    assert env["ANALYTICS_ENGINE"] == "duckdb" and env["LAKE_BUCKET"] == moto_stack.lake_bucket
    app = load_app(monkeypatch, env)
    event: dict[str, Any] = json.loads((EVENTS / "eventbridge_schedule.json").read_text())

    summary = app.lambda_handler(event, FakeLambdaContext(function_name="retail-lake-dev-analytics"))

    assert summary["status"] == "succeeded", summary
    assert sorted(t["table"] for t in summary["tables"]) == sorted(TABLE_NAMES)
    storage = open_storage(f"s3://{moto_stack.lake_bucket}")
    assert all(read_pointer(storage, t)["run_id"] == summary["run_id"] for t in TABLE_NAMES)
    assert not storage.exists("analytics/_lock.json")  # released

    con = connect(f"s3://{moto_stack.lake_bucket}")
    stores = con.execute(
        "SELECT store, revenue, transactions, customers, avg_transaction_value, revenue_share, rank "
        "FROM store_performance ORDER BY rank").fetchall()
    assert stores == [
        ("Kanyon", 1000.0, 2, 2, 500.0, pytest.approx(1000 / 1045), 1),
        ("Zorlu Center", 45.0, 1, 1, 45.0, pytest.approx(45 / 1045), 2),
    ]
    assert con.execute("SELECT customer_type, customers, revenue FROM repeat_vs_onetime ORDER BY 1").fetchall() == [
        ("one_time", 1, 300.0), ("repeat", 1, 745.0)]
    assert con.execute("SELECT count(*), min(engine), max(engine), max(source_rows) FROM analytics_runs "
                       "WHERE status = 'succeeded'").fetchone() == (len(TABLE_NAMES), "duckdb", "duckdb", 4)


def test_second_run_keeps_one_previous_version(moto_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two nightly runs: the pointer names the second, the first stays for readers that hold it."""
    boto3.client("s3").put_object(Bucket=moto_stack.upload_bucket, Key="raw/sales/a.csv", Body=CSV)
    ingest_s3_object(moto_stack.upload_bucket, "raw/sales/a.csv", lake=moto_stack.lake_uri)
    app = load_app(monkeypatch, function_environment(moto_stack))
    event = json.loads((EVENTS / "eventbridge_schedule.json").read_text())
    event["detail"] = {"tables": ["store_performance"]}
    context = FakeLambdaContext(function_name="retail-lake-dev-analytics")

    first = app.lambda_handler(event, context)["run_id"]
    second = app.lambda_handler(event, context)["run_id"]

    storage = open_storage(moto_stack.lake_uri)
    pointer = read_pointer(storage, "store_performance")
    assert pointer["run_id"] == second and pointer["previous"]["run_id"] == first
    folders = {Path(o.key).parent.name for o in storage.list("analytics/store_performance/") if "/run=" in o.key}
    assert folders == {f"run={first}", f"run={second}"}
