"""``retail-lake up``: the platform on a laptop, driven as a user drives it.

A hand-written CSV dropped into the drop folder goes through the ingest (the local bucket, or
template.yaml's bucket -> notification -> queue on moto's server and the real ingest handler),
analytics re-runs through the analytics handler, the API answers over HTTP, and a stop is clean.
Every wait is a bounded loop on a condition of the lake or the output.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from retail_lake.local import Platform, run_platform
from retail_lake.query import connect

from .conftest import ROOT

API_EXISTS = (ROOT / "functions" / "api" / "app.py").is_file()
HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
# Kanyon: I1 600.16 + I3 45.45 = 645.61 over 2 invoices of customer C1; Forum Istanbul: I2 600.17.
# I4 has a negative price: quarantined.
FIRST = HEADER + (
    "I1,C1,Female,28,Clothing,2,600.16,Credit Card,5/8/2022,Kanyon\n"
    "I2,C2,Male,35,Shoes,1,600.17,Cash,12/12/2021,Forum Istanbul\n"
    "I3,C1,Female,28,Books,3,45.45,Debit Card,9/11/2021,Kanyon\n"
    "I4,C3,Male,40,Toys,1,-5,Cash,1/1/2022,Kanyon\n"
)
# Metrocity: I5 81.32 + I6 1050.00 = 1131.32 (customers C4, C5).
SECOND = HEADER + (
    "I5,C4,Female,51,Cosmetics,2,81.32,Cash,3/3/2022,Metrocity\n"
    "I6,C5,Male,22,Technology,1,1050.00,Credit Card,4/3/2022,Metrocity\n"
)
FAST = {"debounce_seconds": 0.5, "settle_seconds": 0.3, "poll_seconds": 0.1, "retry_delay_seconds": 0.5}


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as exc:  # the lake is being written: ask again
            last_error = exc
            value = None
        if value:
            return value
        time.sleep(0.1)
    detail = f" ({last_error})" if last_error else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def query(lake: str, sql: str, tables: list[str]) -> list[tuple]:
    con = connect(lake, tables=tables)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def store_revenue(lake: str) -> dict[str, tuple]:
    rows = query(lake, "SELECT store, revenue, transactions, customers FROM store_performance", ["store_performance"])
    return {store: (round(float(revenue), 2), transactions, customers)
            for store, revenue, transactions, customers in rows}


def drop_file(folder: Path, name: str, text: str) -> Path:
    """Write as a copy does: bytes arrive, then the file is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w") as fh:
        fh.write(text[: len(text) // 2])
        fh.flush()
        fh.write(text[len(text) // 2:])
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


class Running:
    """run_platform in a thread with a stop event; ``lines`` are its progress lines."""

    def __init__(self, **kwargs: Any) -> None:
        self.lines: list[str] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.platform: Platform | None = None
        self.code: int | None = None

        def ready(platform: Platform) -> None:
            self.platform = platform
            self.ready.set()

        def target() -> None:
            self.code = run_platform(stop_event=self.stop, ready=ready, say=self.lines.append, **kwargs)
            self.ready.set()

        self.thread = threading.Thread(target=target, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        assert self.ready.wait(30), "the platform did not start"
        assert self.platform is not None, "\n".join(self.lines)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(30)

    def said(self, fragment: str) -> int:
        return sum(fragment in line for line in list(self.lines))


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield str(tmp_path / "lake"), tmp_path / "drop"


def test_drop_ingest_analytics_api_and_clean_stop(folders: tuple[str, Path]) -> None:
    """Local mode: the drop folder is the bucket; two files in, analytics after each burst and on
    demand; the API over HTTP; stop with the lake whole and the environment put back."""
    lake, drop = folders
    before = dict(os.environ)
    with Running(lake=lake, drop=drop, port=0, serve_api=API_EXISTS,
                 extra_env={"READER_REVALIDATE_SECONDS": "0"}, **FAST) as run:
        assert (drop / "raw" / "sales").is_dir() and (drop / "raw" / "stores").is_dir()
        drop_file(drop / "raw" / "sales", "first.csv", FIRST)
        log = wait_for(lambda: query(lake, "SELECT status, rows_in, rows_accepted, rows_quarantined FROM ingest_log",
                                     ["ingest_log"]), "ingest_log to show first.csv")
        assert log == [("succeeded", 4, 3, 1)]
        wait_for(lambda: store_revenue(lake) == {"Kanyon": (645.61, 2, 1), "Forum Istanbul": (600.17, 1, 1)},
                 "store_performance from first.csv")
        assert run.said("ingest raw/sales/first.csv: 4 rows in, 3 accepted, 1 quarantined") == 1
        wait_for(lambda: run.said("analytics: running (new uploads ingested)") == 1 and run.said("tables computed"),
                 "the analytics report")

        # A file at the top level: the header says sales; one more debounced run picks it up.
        drop_file(drop, "second.csv", SECOND)
        wait_for(lambda: store_revenue(lake).get("Metrocity") == (1131.32, 2, 2), "store_performance with Metrocity")
        assert run.said("new file second.csv (") == 1 and run.said("as raw/sales/second.csv") == 1
        wait_for(lambda: run.said("tables computed") == 2, "the second analytics report")

        if API_EXISTS:
            assert run.platform is not None and run.platform.dashboard_url.endswith("/dashboard")
            base = run.platform.base_url
            health = get_json(f"{base}/api/v1/health")
            assert health["status"] == "ok" and health["lake_readable"] is True
            tables = {t["table"]: t for t in health["tables"]}
            last_run = run.platform.analytics_runs[-1]["run_id"]
            assert tables["store_performance"]["ready"] and tables["store_performance"]["run_id"] == last_run
            page = get_json(f"{base}/api/v1/stores/performance")
            revenue = {item["store"]: round(float(item["revenue"]), 2) for item in page["items"]}
            assert revenue == {"Kanyon": 645.61, "Forum Istanbul": 600.17, "Metrocity": 1131.32}
            assert page["total"] == 3

        runs = len(run.platform.analytics_runs)
        (drop / ".refresh").touch()  # on demand, nothing new ingested
        wait_for(lambda: len(run.platform.analytics_runs) > runs, "the .refresh analytics run")
        assert run.said("analytics: running (.refresh touched)") == 1
        assert all(r["status"] == "succeeded" for r in run.platform.analytics_runs)

    assert run.code == 0 and not run.thread.is_alive()
    assert run.lines[-1].endswith("stopped")
    assert not [p for p in Path(lake).rglob("*") if p.name.startswith(".tmp-")]  # nothing half-written
    assert dict(os.environ) == before  # RETAIL_LAKE, POWERTOOLS_* put back
    assert query(lake, "SELECT count(*) FROM ingest_log", ["ingest_log"]) == [(2,)]


def test_a_restart_reingests_nothing_and_catches_up_analytics(folders: tuple[str, Path]) -> None:
    """Files already in the drop folder are announced again at start; their content was ingested,
    so nothing changes. Uploads that never reached analytics (stopped too early) are computed."""
    lake, drop = folders
    with Running(lake=lake, drop=drop, port=0, serve_api=False, analytics=False, **FAST) as run:
        drop_file(drop / "raw" / "sales", "first.csv", FIRST)
        wait_for(lambda: run.said("ingest raw/sales/first.csv"), "the ingest")
    assert run.code == 0 and not (Path(lake) / "analytics").exists()

    with Running(lake=lake, drop=drop, port=0, serve_api=False, **FAST) as run:
        wait_for(lambda: run.said("already ingested, nothing changed"), "the repeat to be skipped")
        wait_for(lambda: store_revenue(lake).get("Kanyon") == (645.61, 2, 1), "the catch-up analytics run")
        assert run.said("analytics: running (the lake has uploads newer than its analytics tables)") == 1
    assert run.code == 0
    assert query(lake, "SELECT count(*) FROM ingest_log", ["ingest_log"]) == [(1,)]


def test_up_command_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    """The CLI as a user runs it: progress on stderr, SIGINT -> exit 0, no traceback."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    cmd = [sys.executable, "-m", "retail_lake.cli", "up", "--drop", "drop", "--port", "0",
           "--debounce", "0.3", "--settle", "0.3", "--poll", "0.1", "--lake", "lake"]
    if not API_EXISTS:
        cmd.append("--no-api")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("stop       Ctrl-C" in line for line in lines), "the banner", timeout=30)
        drop_file(tmp_path / "drop", "first.csv", FIRST)
        wait_for(lambda: any("tables computed" in line for line in lines), "analytics after the drop")
        if API_EXISTS:
            url = next(line.split()[-1] for line in lines if "dashboard  http" in line)
            assert url.startswith("http://127.0.0.1:") and url.endswith("/dashboard")
            with urllib.request.urlopen(url, timeout=10) as resp:
                assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    text = "".join(lines)
    assert "Traceback" not in text and "SIGINT: stopping" in text and text.rstrip().endswith("stopped")
    assert any("ingest raw/sales/first.csv: 4 rows in, 3 accepted, 1 quarantined" in line for line in lines)
    assert store_revenue(str(tmp_path / "lake"))["Kanyon"] == (645.61, 2, 1)


def test_moto_server_bucket_notification_queue_and_handler(moto_server_url: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL: template.yaml's bucket, notification and queue on moto's server, the real
    ingest handler fed by the poller. The first write to the lake fails once (fault injected at the
    botocore seam): the record is reported in batchItemFailures, comes back, and succeeds."""
    import boto3
    from botocore.client import BaseClient

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    prefix = f"rl-{uuid.uuid4().hex[:8]}"
    lake = f"s3://{prefix}-lake-test"
    real_call = BaseClient._make_api_call
    failed: list[str] = []

    def flaky(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "PutObject" and params.get("Bucket") == f"{prefix}-lake-test" and not failed:
            failed.append(params["Key"])
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "SlowDown", "Message": "injected"}}, operation)
        return real_call(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", flaky)
    with Running(lake=lake, drop=tmp_path / "drop", port=0, serve_api=False, name_prefix=prefix, **FAST) as run:
        stack = run.platform.stack
        assert stack is not None and stack.upload_bucket.startswith(f"{prefix}-dev-upload-")
        drop_file(tmp_path / "drop" / "raw" / "sales", "first.csv", FIRST)
        wait_for(lambda: query(lake, "SELECT count(*) FROM ingest_log", ["ingest_log"]) == [(1,)],
                 "ingest_log on the S3 lake", timeout=25)
        wait_for(lambda: store_revenue(lake).get("Kanyon") == (645.61, 2, 1), "analytics on the S3 lake")

        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        assert s3.head_object(Bucket=stack.upload_bucket, Key="raw/sales/first.csv")["ContentLength"] == len(FIRST)
        log = query(lake, "SELECT source, status, rows_accepted, rows_quarantined FROM ingest_log", ["ingest_log"])
        assert log == [(f"s3://{stack.upload_bucket}/raw/sales/first.csv", "succeeded", 3, 1)]
        assert failed and run.said("ingest raw/sales/first.csv: FAILED (attempt 1 of 3)") == 1
        assert run.said("ingest raw/sales/first.csv: 4 rows in, 3 accepted, 1 quarantined") == 1
        # Powertools idempotency on the template's table: one completed record for bucket/key#etag.
        items = boto3.client("dynamodb").scan(TableName=stack.table)["Items"]
        assert [i["status"]["S"] for i in items] == ["COMPLETED"]
        # Deleted after success: nothing left in the queue or the DLQ.
        attrs = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
        assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
        assert not sqs.receive_message(QueueUrl=stack.dlq_url, WaitTimeSeconds=0).get("Messages")
    assert run.code == 0


def test_serves_an_asgi_app_and_refuses_a_taken_port(folders: tuple[str, Path]) -> None:
    """uvicorn in the platform's thread answers over HTTP and is gone after the stop; a port in use
    is a one-line reason and exit 2 before anything starts."""
    from fastapi import FastAPI

    lake, drop = folders
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"lake": os.environ.get("RETAIL_LAKE", "")}

    with Running(lake=lake, drop=drop, port=0, api_app=app, analytics=False, **FAST) as run:
        base = run.platform.base_url
        assert get_json(f"{base}/api/v1/ping") == {"lake": str(Path(lake).resolve())}  # the handlers' env
        assert run.said(f"dashboard  {base}/dashboard") == 1 and run.said(f"API docs   {base}/docs") == 1
        port = run.platform.api.port
    assert run.code == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        lines: list[str] = []
        code = run_platform(lake, drop, taken.getsockname()[1], api_app=app, say=lines.append, **FAST)
        assert code == 2 and len(lines) == 1 and "cannot listen on 127.0.0.1:" in lines[0] and "--port" in lines[0]
    finally:
        taken.close()


def test_outside_a_checkout_is_a_clear_error(folders: tuple[str, Path], tmp_path: Path) -> None:
    lake, drop = folders
    lines: list[str] = []
    assert run_platform(lake, drop, 0, repo=tmp_path, say=lines.append) == 2
    assert lines == [lines[0]] and "functions/<name>/app.py" in lines[0] and "checkout" in lines[0]
