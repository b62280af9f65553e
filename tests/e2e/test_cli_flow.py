"""The whole local flow driven exactly as a user would: the installed `retail-lake` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "retail_lake.cli"]


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RETAIL_LAKE", "AWS_ENDPOINT_URL")}
    proc = subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"retail-lake {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def sql(query: str, cwd: Path, lake: str = "lake") -> list[dict]:
    return json.loads(run("sql", query, "--format", "json", "--lake", lake, cwd=cwd).stdout)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """generate -> ingest (twice) -> analytics, in a fresh folder with the default ./lake."""
    work = tmp_path_factory.mktemp("flow")
    run("generate", "--rows", "6000", "--customers", "1500", "--seed", "11", "--out", "data/sales.csv",
        "--messy", "0.05", cwd=work)
    first = run("ingest", "data/sales.csv", cwd=work)
    (work / "first_ingest.txt").write_text(first.stdout)
    again = run("ingest", "data/sales.csv", cwd=work)
    (work / "second_ingest.txt").write_text(again.stdout)
    run("analytics", cwd=work)
    return work


def test_ingest_summary_accounts_for_every_row(flow: Path):
    summary = (flow / "first_ingest.txt").read_text()
    assert "6,000 rows in" in summary and "quarantined" in summary
    [log] = sql("SELECT rows_in, rows_accepted, rows_quarantined, status FROM ingest_log", flow)
    assert log["rows_in"] == 6000 == log["rows_accepted"] + log["rows_quarantined"]
    assert log["status"] == "succeeded" and log["rows_quarantined"] > 0
    [counts] = sql("SELECT (SELECT count(*) FROM sales_versions) AS lake, (SELECT count(*) FROM quarantine_sales) AS q",
                   flow)
    assert counts["lake"] + counts["q"] == 6000


def test_second_ingest_changes_nothing(flow: Path):
    assert "already ingested" in (flow / "second_ingest.txt").read_text()
    assert sql("SELECT count(*) AS n FROM ingest_log", flow) == [{"n": 1}]


def test_sql_formats(flow: Path):
    table = run("sql", "SELECT count(DISTINCT invoice_no) AS transactions FROM sales", cwd=flow).stdout
    assert "transactions" in table and "(1 row)" in table
    csv_out = run("sql", "SELECT 1 AS a, 'x' AS b", "--format", "csv", cwd=flow).stdout
    assert csv_out.splitlines() == ["a,b", "1,x"]


def test_analytics_agree_with_sales(flow: Path):
    [total] = sql("SELECT round(sum(price), 2) AS revenue, count(DISTINCT customer_id) AS customers FROM sales", flow)
    [stores] = sql("SELECT round(sum(revenue), 2) AS revenue FROM store_performance", flow)
    assert stores["revenue"] == pytest.approx(total["revenue"], abs=0.05)
    [rfm] = sql("SELECT count(*) AS customers FROM customer_rfm", flow)
    assert rfm["customers"] == total["customers"]
    rows = sql("SELECT customer_type, customers FROM repeat_vs_onetime ORDER BY 1", flow)
    assert sum(r["customers"] for r in rows) == total["customers"]


def test_unusable_file_exits_non_zero_with_one_line_reason(flow: Path):
    bad = flow / "data" / "notes.csv"
    bad.write_text("hello,world\n1,2\n")
    proc = run("ingest", str(bad), cwd=flow, check=False)
    assert proc.returncode == 1
    [line] = [ln for ln in proc.stdout.splitlines() if "REJECTED" in ln]
    assert "missing required column(s)" in line and "Traceback" not in proc.stderr


def test_sql_error_is_one_line_not_a_traceback(flow: Path):
    proc = run("sql", "SELECT nope FROM sales", cwd=flow, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "nope" in proc.stderr


def test_help_lists_every_command(tmp_path: Path):
    out = run("--help", cwd=tmp_path).stdout
    for command in ("generate", "ingest", "sql", "analytics", "demo", "serve", "train", "up"):
        assert command in out
    assert "--lake" in run("sql", "--help", cwd=tmp_path).stdout


def test_demo_one_shot_runs_every_job_and_exits(tmp_path: Path):
    """`retail-lake demo --no-serve`: generate -> ingest -> analytics -> train -> SQL, then exit 0."""
    proc = run("demo", "--rows", "5000", "--customers", "900", "--no-serve", cwd=tmp_path)
    out = proc.stdout
    for step in ("== 1. generate", "== 2. ingest", "== 3. analytics", "== 4. train", "== sample SQL"):
        assert step in out, out
    for model in ("segmentation", "clv", "forecast"):
        assert f"{model}:" in out and "baseline" in out
    assert "== 5." not in out and "Traceback" not in proc.stderr
    [n] = sql("SELECT count(*) AS n FROM customer_clv", tmp_path)
    [customers] = sql("SELECT count(DISTINCT customer_id) AS n FROM sales", tmp_path)
    assert n["n"] == customers["n"] > 0
    again = run("demo", "--rows", "5000", "--customers", "900", "--no-serve", "--no-train", cwd=tmp_path).stdout
    assert "already ingested" in again and "== 4. train" not in again
