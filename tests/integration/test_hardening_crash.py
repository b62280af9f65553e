"""Issue 10, item 4: the ingest and the compaction killed with SIGKILL at AWS calls, then run again.

On moto's ThreadedMotoServer (reached through AWS_ENDPOINT_URL), the real command line runs in a
child process (``crash_child.py``: every botocore client gets a ``before-send`` hook that counts
requests and SIGKILLs the process at request N, before it is sent). An undisturbed run first tells
how many requests there are; kill points are sampled over that range with a fixed seed; each kill
is followed by a second kill at another sampled point of the resumed run, then by an undisturbed run.
After every kill: every Parquet (and JSON) object under the lake reads whole, ``retail-lake sql``
answers, and no multipart upload is left open. After the final run: the lake (sales view rows,
ingest_log, quarantine counts, analytics tables) equals the undisturbed run's, no invoice twice.

Multipart: the lake's files here are far below boto3's 8 MB multipart threshold, so the default
runs never start one (list_multipart_uploads is checked empty after every kill anyway).
``test_kill_inside_a_multipart_upload`` lowers the threshold in the child to reach
CreateMultipartUpload / UploadPart / CompleteMultipartUpload: a SIGKILL between them leaves an
incomplete upload nobody can abort (no object is visible; the rerun writes the file again), which is
what the lake bucket's AbortIncompleteMultipartUpload lifecycle rule (template.yaml) removes.

A bigger sweep of kill points runs behind the ``slow`` marker.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from retail_lake.cli import main as retail_lake
from retail_lake.query import connect
from tests.integration.conftest import create_stack, unique_prefix

CHILD = Path(__file__).with_name("crash_child.py")
SEED = 4
KILLED = -signal.SIGKILL
ANALYTICS_TABLES = ["store_performance", "customer_rfm"]

HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
MALLS = ["Kanyon", "Zorlu Center", "Metrocity", "Cevahir AVM"]
CATEGORIES = ["Clothing", "Shoes", "Books", "Toys"]


def sales_csv(first: int, last: int, *, quantity_shift: int = 0, bad_every: int = 0) -> str:
    """Invoices I<first>..I<last-1> over three months of 2022; every ``bad_every``-th row is broken
    (zero quantity, or no customer) so the quarantine has rows too."""
    lines = [HEADER]
    for n in range(first, last):
        quantity = 1 + (n + quantity_shift) % 4
        customer = f"C{n % 9}"
        if bad_every and n % bad_every == 0:
            quantity, customer = (0, customer) if n % 2 else (quantity, "")
        lines.append(f"I{n},{customer},Female,{20 + n % 40},{CATEGORIES[n % 4]},{quantity},{quantity * 10.5:.2f},"
                     f"Cash,{1 + n % 27}/{1 + n % 3}/2022,{MALLS[n % 4]}\n")
    return "".join(lines)


# Two uploads with overlapping invoices (b re-sends I20..I29 with other quantities), three months each.
UPLOADS = {"raw/sales/a.csv": sales_csv(0, 30, bad_every=7), "raw/sales/b.csv": sales_csv(20, 45, quantity_shift=1,
                                                                                              bad_every=11)}


@dataclass
class Lake:
    """The stack on moto's server and a helper per lake prefix."""

    stack: Any

    @property
    def bucket(self) -> str:
        return self.stack.lake_bucket

    def uri(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def objects(self, prefix: str) -> list[str]:
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{prefix}/")
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def copy(self, source: str, target: str) -> None:
        s3 = boto3.client("s3")
        for key in self.objects(source):
            s3.copy_object(Bucket=self.bucket, Key=f"{target}/{key[len(source) + 1:]}",
                           CopySource={"Bucket": self.bucket, "Key": key})

    def open_multipart_uploads(self, prefix: str) -> list[str]:
        got = boto3.client("s3").list_multipart_uploads(Bucket=self.bucket, Prefix=f"{prefix}/")
        return [u["Key"] for u in got.get("Uploads", [])]


@pytest.fixture
def lake(moto_server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    stack = create_stack(unique_prefix())
    s3 = boto3.client("s3")
    for key, body in UPLOADS.items():
        s3.put_object(Bucket=stack.upload_bucket, Key=key, Body=body.encode())
    yield Lake(stack)


# --- the child process ----------------------------------------------------------------------------

def run_child(args: list[str], *, crash_at: int = 0, log: Path | None = None,
              **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CRASH_")}
    environment.update(env)
    if crash_at:
        environment["CRASH_AT"] = str(crash_at)
    if log:
        environment["CRASH_LOG"] = str(log)
    return subprocess.run([sys.executable, str(CHILD), *args], env=environment, capture_output=True, text=True,
                          timeout=300, check=False)


def ingest_args(lake: Lake, prefix: str) -> list[str]:
    return ["ingest", *(f"s3://{lake.stack.upload_bucket}/{k}" for k in UPLOADS), "--lake", lake.uri(prefix)]


def analytics_args(lake: Lake, prefix: str) -> list[str]:
    return ["analytics", "--tables", *ANALYTICS_TABLES, "--lake", lake.uri(prefix)]


# Compaction leaves a dead run's lock behind; the next run takes it over once it is stale. Here
# "stale" is immediate, so the rerun does not wait the production 30 minutes.
ANALYTICS_ENV = {"ANALYTICS_LOCK_STALE_SECONDS": "0"}


def undisturbed(args: list[str], tmp_path: Path, name: str, **env: str) -> list[str]:
    """Run once without a kill; the operations it sent, in order."""
    log = tmp_path / f"{name}.calls"
    done = run_child(args, log=log, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


def kill_points(calls: int, trials: int, seed: int = SEED) -> list[tuple[int, int]]:
    """(first kill, second kill) per trial: the first spread over the whole run (every stretch of it
    gets one), the second anywhere in the resumed run."""
    rng = random.Random(seed)
    width = calls / trials
    return [(1 + int(i * width + rng.random() * width), rng.randint(1, calls)) for i in range(trials)]


# --- what must hold ------------------------------------------------------------------------------

def lake_state(uri: str, analytics: bool = False) -> dict[str, list[tuple]]:
    con = connect(uri)
    state = {
        "sales": con.execute("SELECT * EXCLUDE (year, month) FROM sales ORDER BY ALL").fetchall(),
        "ingest_log": con.execute(
            "SELECT upload_id, source, etag, status, rows_in, rows_accepted, rows_quarantined, rows_flagged, "
            "partitions_written, invoices_replaced, uploaded_at FROM ingest_log ORDER BY ALL").fetchall(),
        "quarantine": con.execute("SELECT upload_id, rule, count(*) FROM quarantine_sales GROUP BY ALL ORDER BY ALL")
        .fetchall(),
    }
    if analytics:
        for table in ANALYTICS_TABLES:
            state[table] = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
    return state


def assert_no_invoice_twice(uri: str) -> None:
    twice = connect(uri).execute("SELECT invoice_no FROM sales GROUP BY 1 HAVING count(*) > 1").fetchall()
    assert twice == []


def assert_nothing_half_written(lake: Lake, prefix: str, where: str) -> None:
    """Every Parquet object reads whole, every JSON object parses, `retail-lake sql` answers, and no
    multipart upload is open."""
    s3 = boto3.client("s3")
    for key in lake.objects(prefix):
        data = s3.get_object(Bucket=lake.bucket, Key=key)["Body"].read()
        if key.endswith(".parquet"):
            pq.read_table(io.BytesIO(data))  # raises on a truncated or partial file
        elif key.endswith(".json"):
            json.loads(data)
    if any("/curated/sales/" in k for k in lake.objects(prefix)):
        assert retail_lake(["sql", "SELECT count(*), count(DISTINCT invoice_no) FROM sales",
                            "--lake", lake.uri(prefix)]) == 0, where
    assert lake.open_multipart_uploads(prefix) == [], where


# --- ingest --------------------------------------------------------------------------------------

def _ingest_sweep(lake: Lake, tmp_path: Path, trials: int, seed: int = SEED) -> None:
    calls = undisturbed(ingest_args(lake, "reference"), tmp_path, "ingest")
    assert {"PutObject", "GetObject", "HeadObject"} <= {c.split(".")[-1] for c in calls}
    reference = lake_state(lake.uri("reference"))
    assert len(reference["sales"]) > 30 and reference["quarantine"] and len(reference["ingest_log"]) == 2

    for first, second in kill_points(len(calls), trials, seed):
        prefix = f"ingest-{first}-{second}"
        killed = run_child(ingest_args(lake, prefix), crash_at=first)
        assert killed.returncode == KILLED, f"kill at {first}/{len(calls)} ({calls[first - 1]}): {killed.stderr}"
        assert_nothing_half_written(lake, prefix, f"after the kill at {first} ({calls[first - 1]})")
        again = run_child(ingest_args(lake, prefix), crash_at=second)
        if again.returncode == KILLED:
            assert_nothing_half_written(lake, prefix, f"after kills at {first}, then {second}")
        else:
            assert again.returncode == 0, again.stdout + again.stderr  # the resumed run had fewer calls
        final = run_child(ingest_args(lake, prefix))
        assert final.returncode == 0, final.stdout + final.stderr
        assert lake_state(lake.uri(prefix)) == reference, f"kills at {first} ({calls[first - 1]}), then {second}"
        assert_no_invoice_twice(lake.uri(prefix))
        assert lake.open_multipart_uploads(prefix) == []


def test_ingest_killed_at_sampled_aws_calls_then_rerun_equals_an_undisturbed_run(lake: Lake, tmp_path: Path) -> None:
    _ingest_sweep(lake, tmp_path, trials=4)


@pytest.mark.slow
def test_ingest_kill_sweep(lake: Lake, tmp_path: Path) -> None:
    _ingest_sweep(lake, tmp_path, trials=40, seed=SEED + 1)


# --- compaction (the analytics run compacts first) ----------------------------------------------

def _compaction_sweep(lake: Lake, tmp_path: Path, trials: int, seed: int = SEED) -> None:
    assert run_child(ingest_args(lake, "source")).returncode == 0
    before = lake_state(lake.uri("source"))
    lake.copy("source", "reference")
    calls = undisturbed(analytics_args(lake, "reference"), tmp_path, "analytics", **ANALYTICS_ENV)
    assert {"PutObject", "DeleteObjects"} <= {c.split(".")[-1] for c in calls}
    reference = lake_state(lake.uri("reference"), analytics=True)
    assert {k: v for k, v in reference.items() if k in before} == before  # compaction changes no answer
    files_per_partition = _files_per_partition(lake, "reference")
    assert set(files_per_partition.values()) == {1}

    for first, second in kill_points(len(calls), trials, seed):
        prefix = f"analytics-{first}-{second}"
        lake.copy("source", prefix)
        killed = run_child(analytics_args(lake, prefix), crash_at=first, **ANALYTICS_ENV)
        where = f"kill at {first}/{len(calls)} ({calls[first - 1]})"
        assert killed.returncode == KILLED, f"{where}: {killed.stderr}"
        assert_nothing_half_written(lake, prefix, where)
        assert lake_state(lake.uri(prefix)) == before, where  # mid-compaction, `sales` answers as before
        again = run_child(analytics_args(lake, prefix), crash_at=second, **ANALYTICS_ENV)
        if again.returncode == KILLED:
            assert_nothing_half_written(lake, prefix, f"{where}, then at {second}")
            assert lake_state(lake.uri(prefix)) == before
        else:
            assert again.returncode == 0, again.stdout + again.stderr
        final = run_child(analytics_args(lake, prefix), **ANALYTICS_ENV)
        assert final.returncode == 0, final.stdout + final.stderr
        assert lake_state(lake.uri(prefix), analytics=True) == reference, where
        assert _files_per_partition(lake, prefix) == files_per_partition, where
        assert_no_invoice_twice(lake.uri(prefix))
        assert lake.open_multipart_uploads(prefix) == []


def _files_per_partition(lake: Lake, prefix: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in lake.objects(f"{prefix}/curated/sales"):
        if key.endswith(".parquet"):
            partition = key[len(prefix) + 1:].rsplit("/", 1)[0]
            counts[partition] = counts.get(partition, 0) + 1
    return counts


def test_compaction_killed_at_sampled_aws_calls_then_rerun_equals_an_undisturbed_run(
    lake: Lake, tmp_path: Path
) -> None:
    _compaction_sweep(lake, tmp_path, trials=3)


@pytest.mark.slow
def test_compaction_kill_sweep(lake: Lake, tmp_path: Path) -> None:
    _compaction_sweep(lake, tmp_path, trials=30, seed=SEED + 1)


# --- multipart -------------------------------------------------------------------------------------

def test_kill_inside_a_multipart_upload(lake: Lake, tmp_path: Path) -> None:
    """With boto3's threshold lowered to 1 KB in the child, every lake file goes through a multipart
    upload. Killed between CreateMultipartUpload and CompleteMultipartUpload, the upload stays open
    (nothing can abort it), yet no object appears under its key; the rerun completes the lake; and
    the lake bucket's lifecycle aborts such uploads after a day, whatever their prefix."""
    small = {"CRASH_MULTIPART_BYTES": "1024"}
    calls = undisturbed(ingest_args(lake, "reference"), tmp_path, "multipart", **small)
    reference = lake_state(lake.uri("reference"))
    inside = [i + 1 for i, c in enumerate(calls) if c.endswith(("UploadPart", "CompleteMultipartUpload"))]
    assert inside, calls
    for n in (inside[0], inside[-1]):
        prefix = f"multipart-{n}"
        assert run_child(ingest_args(lake, prefix), crash_at=n, **small).returncode == KILLED
        open_uploads = lake.open_multipart_uploads(prefix)
        # one, or two when both partition writers were mid-upload
        assert 1 <= len(open_uploads) <= 2, (n, calls[n - 1], open_uploads)
        assert not set(open_uploads) & set(lake.objects(prefix))  # invisible until completed
        final = run_child(ingest_args(lake, prefix), **small)
        assert final.returncode == 0, final.stderr
        assert lake_state(lake.uri(prefix)) == reference
        assert_no_invoice_twice(lake.uri(prefix))

    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket=lake.bucket)["Rules"]
    aborting = [r for r in rules if r.get("Status") == "Enabled" and "AbortIncompleteMultipartUpload" in r]
    assert aborting and aborting[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    assert not aborting[0].get("Prefix") and not (aborting[0].get("Filter") or {}).get("Prefix")
