"""The CLI subcommand, the EventBridge handler (with infra/events/eventbridge_schedule.json) and the
S3 path (moto): same runner, same results."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.util
import json
from datetime import datetime
from pathlib import Path

import pytest

from retail_lake.analytics import cli as analytics_cli
from retail_lake.analytics import read_pointer, run_analytics
from retail_lake.query import connect

from .conftest import make_lake, sale

ROOT = Path(__file__).resolve().parents[3]
ROWS = [
    sale("I1", "C1", "2022-01-01", 100, shopping_mall="Kanyon"),
    sale("I2", "C1", "2022-02-01", 50, shopping_mall="Zorlu Center"),
    sale("I3", "C2", "2022-02-03", 30, shopping_mall="Kanyon"),
]


def test_cli_prints_progress_and_kpis(tmp_path, settings, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(settings.tmp_dir))
    storage = make_lake(tmp_path, ROWS)
    parser = argparse.ArgumentParser()
    analytics_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["analytics", "--tables", "store_performance", "repeat_vs_onetime",
                              "--lake", str(storage.root)])
    assert args.func(args) == 0
    out, err = capsys.readouterr()
    assert "[1/2] store_performance: 2 rows in" in err
    assert "total revenue:       180.00" in out
    assert "customers:           2" in out
    assert "top store:           Kanyon (72.2% of revenue)" in out
    assert "repeat customers:    50.0%" in out


def test_cli_rejects_a_bad_reference_date(tmp_path, capsys) -> None:
    code = analytics_cli.run(argparse.Namespace(lake=str(tmp_path), tables=None, reference_date="31/12/2022"))
    assert code == 2 and "not a date" in capsys.readouterr().err


def load_handler(monkeypatch, lake: Path, tmp: Path):
    monkeypatch.setenv("RETAIL_LAKE", str(lake))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "analytics")
    spec = importlib.util.spec_from_file_location("analytics_app", ROOT / "functions/analytics/app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    function_name = "retail-lake-dev-analytics"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:retail-lake-dev-analytics"
    aws_request_id = "req-1"


def schedule_event(**detail) -> dict:
    event = json.loads((ROOT / "infra/events/eventbridge_schedule.json").read_text())
    event = copy.deepcopy(event)
    event["detail"].update(detail)
    return event


def test_handler_computes_the_named_tables(tmp_path, settings, monkeypatch) -> None:
    storage = make_lake(tmp_path, ROWS)
    app = load_handler(monkeypatch, storage.root, settings.tmp_dir)
    summary = app.lambda_handler(schedule_event(tables=["rfm_segments"]), FakeContext())
    assert summary["status"] == "succeeded"
    assert [t["table"] for t in summary["tables"]] == ["customer_rfm", "rfm_segments"]
    assert read_pointer(storage, "rfm_segments")["run_id"] == summary["run_id"]


def test_handler_on_an_empty_lake_skips(tmp_path, settings, monkeypatch) -> None:
    app = load_handler(monkeypatch, tmp_path / "empty", settings.tmp_dir)
    summary = app.lambda_handler(schedule_event(), FakeContext())
    assert summary["status"] == "skipped" and "no sales yet" in summary["message"]


def test_handler_raises_when_a_table_fails(tmp_path, settings, monkeypatch) -> None:
    storage = make_lake(tmp_path, ROWS)
    app = load_handler(monkeypatch, storage.root, settings.tmp_dir)
    from retail_lake.analytics import _runner

    monkeypatch.setattr(_runner, "render_sql", lambda table, reference_date=None: "SELECT broken")
    with pytest.raises(app.AnalyticsFailed, match="store_performance failed"):
        app.lambda_handler(schedule_event(tables=["store_performance"]), FakeContext())


def test_s3_lake_through_moto(tmp_path, settings, monkeypatch) -> None:
    """The same run on an S3 lake: curated files mirrored, versions uploaded, lock by conditional PUT."""
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # Inside moto's in-process mock only boto3 is intercepted: DuckDB's httpfs cannot reach it, so
    # this run reads through the mirror (tests/integration/test_s3_reads.py runs httpfs on moto's server).
    settings = dataclasses.replace(settings, s3_reads="mirror")
    replacement = sale("I1", "C1", "2022-01-01", 90, upload_id="u2", uploaded_at=datetime(2024, 6, 1))
    local = make_lake(tmp_path, [*ROWS, replacement])
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="lake")
        for path in (local.root / "curated").rglob("*.parquet"):
            client.upload_file(str(path), "lake", "data/" + path.relative_to(local.root).as_posix())
        from retail_lake.storage import S3Storage

        storage = S3Storage("lake", "data", client=client)
        results = run_analytics(storage, ["store_performance"], settings=settings)
        assert results[0].ok
        keys = {o["Key"] for o in client.list_objects_v2(Bucket="lake")["Contents"]}
        assert "data/analytics/store_performance/_current.json" in keys
        assert "data/analytics/_lock.json" not in keys
        january = [k for k in keys if "month=01" in k]
        assert len(january) == 1 and "compacted-" in january[0]
        con = connect(storage, settings)
        assert con.execute("SELECT revenue FROM store_performance WHERE store = 'Kanyon'").fetchone()[0] == 120
