"""Issue 10, item 2: no file is lost whole.

Failed (retry may fix) against rejected (never usable), --force, how many invoices an upload
replaced, over-long lines quarantined alone, very wide files refused with their cause, and (slow)
mostly-bad and high-cardinality files within the clean file's memory and time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from retail_lake.config import Settings
from retail_lake.ingest import IngestFailedError, _pipeline, ingest_file
from retail_lake.storage import LocalStorage, StorageError

from .conftest import GOOD, HEADER, at, query


def log(lake) -> list[tuple]:
    return query(lake, "SELECT status, rows_in, rows_accepted, message FROM ingest_log ORDER BY started_at")


# --- failed vs rejected --------------------------------------------------------------------------

def test_out_of_memory_is_failed_not_rejected_and_the_next_ingest_retries(write_file, lake, monkeypatch):
    path = write_file("a.csv", GOOD)
    real = _pipeline.load_raw

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block (injected)")

    monkeypatch.setattr(_pipeline, "load_raw", out_of_memory)
    with pytest.raises(IngestFailedError, match=r"OutOfMemoryException.*recorded as failed"):
        ingest_file(path, str(lake))
    [(status, _, _, message)] = log(lake)
    assert status == "failed" and "injected" in message
    assert query(lake, "SELECT count(*) FROM sales") == [(0,)]

    monkeypatch.setattr(_pipeline, "load_raw", real)
    again = ingest_file(path, str(lake))
    assert (again.status, again.rows_accepted) == ("succeeded", 3)
    assert [r[0] for r in log(lake)] == ["succeeded"]  # the same upload: its log row is rewritten


def test_transient_storage_error_is_failed_and_retried(write_file, lake, monkeypatch):
    path = write_file("a.csv", GOOD)
    calls = []
    real_upload = LocalStorage.upload

    def flaky(self, src, key):
        if key.startswith("curated/") and not calls:
            calls.append(key)
            raise StorageError(f"put {key}: SlowDown (injected)")
        return real_upload(self, src, key)

    monkeypatch.setattr(LocalStorage, "upload", flaky)
    with pytest.raises(IngestFailedError, match="SlowDown"):
        ingest_file(path, str(lake))
    assert [r[0] for r in log(lake)] == ["failed"]
    assert ingest_file(path, str(lake)).status == "succeeded"
    assert query(lake, "SELECT count(*) FROM sales") == [(3,)]


def test_rejected_file_is_remembered_and_force_reingests_it(write_file, lake):
    path = write_file("noheader.csv", ["I1,C1"], header="foo,bar")
    first = ingest_file(path, str(lake))
    assert first.status == "rejected"
    second = ingest_file(path, str(lake))
    assert second.status == "skipped" and "already ingested (rejected)" in second.message
    forced = ingest_file(path, str(lake), force=True)
    assert forced.status == "rejected" and forced.upload_id != first.upload_id


def test_cli_exit_codes_and_force(write_file, lake):
    path = write_file("a.csv", GOOD)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "retail_lake.cli", "ingest", *args, "--lake", str(lake)],
                              capture_output=True, text=True, timeout=120)

    assert cli(str(path)).returncode == 0
    again = cli(str(path))
    assert again.returncode == 0 and "already ingested" in again.stdout
    forced = cli(str(path), "--force")
    assert forced.returncode == 0 and "3 rows in, 3 accepted" in forced.stdout
    assert "replaced 3 invoice(s) of earlier uploads" in forced.stdout
    assert query(lake, "SELECT count(*) FROM ingest_log") == [(2,)]
    assert query(lake, "SELECT count(*), count(DISTINCT invoice_no) FROM sales") == [(3, 3)]


# --- force, replaced invoices -----------------------------------------------------------------------

def test_force_makes_an_earlier_file_the_latest_again(write_file, lake):
    old = write_file("old.csv", ["I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon"])
    new = write_file("new.csv", ["I1,C1,Female,28,Clothing,2,600.16,Cash,6/8/2022,Kanyon",
                                 "I2,C2,Female,28,Clothing,1,300.08,Cash,7/8/2022,Kanyon"])
    ingest_file(old, str(lake), uploaded_at=at(1))
    second = ingest_file(new, str(lake), uploaded_at=at(2))
    assert second.invoices_replaced == 1 and "replaced 1 invoice(s) of earlier uploads" in second.notes
    assert ingest_file(old, str(lake), uploaded_at=at(3)).status == "skipped"  # unchanged file: no-op
    forced = ingest_file(old, str(lake), uploaded_at=at(3), force=True)
    assert forced.status == "succeeded" and forced.invoices_replaced == 1
    assert query(lake, "SELECT invoice_no, quantity FROM sales ORDER BY 1") == [("I1", 1), ("I2", 1)]
    assert query(lake, "SELECT invoices_replaced FROM ingest_log ORDER BY uploaded_at") == [(0,), (1,), (1,)]


def test_an_older_upload_delivered_late_replaces_nothing(write_file, lake):
    new = write_file("new.csv", ["I1,C1,Female,28,Clothing,2,600.16,Cash,5/8/2022,Kanyon"])
    old = write_file("old.csv", ["I1,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon"])
    ingest_file(new, str(lake), uploaded_at=at(2))
    late = ingest_file(old, str(lake), uploaded_at=at(1))
    assert late.invoices_replaced == 0
    assert "1 invoice(s) already newer in the lake (kept)" in late.notes


# --- lines and rows the parser cannot take ------------------------------------------------------------

def test_an_over_long_line_is_quarantined_alone_with_its_text(write_file, lake):
    """With the default 2 MB limit: DuckDB refuses the whole file, the streaming pass takes the line out."""
    long_line = "I2,C2,Female,28,Clothing,1," + "9" * 2_500_000 + ",Cash,5/8/2022,Kanyon"
    result = ingest_file(write_file("long.csv", [GOOD[0], long_line, GOOD[1]]), str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (3, 2, 1)
    [(row_number, rule, raw_line)] = query(lake, "SELECT row_number, rule, raw_line FROM quarantine_sales")
    assert (row_number, rule) == (2, "line_too_long")
    assert raw_line.startswith("I2,C2,Female,28,Clothing,1,999") and len(raw_line) == 2_000_000
    assert query(lake, "SELECT invoice_no, row_number FROM sales ORDER BY 2") == [("I100", 1), ("I101", 3)]


def test_line_limit_is_configurable(write_file, lake):
    lines = [GOOD[0], "I2,C2,Female,28,Clothing,1,1," + "x" * 300 + ",5/8/2022,Kanyon", GOOD[1], GOOD[2]]
    result = ingest_file(write_file("long.csv", lines), str(lake), settings=Settings(ingest_max_line_bytes=200))
    assert result.rows_accepted == 3
    assert query(lake, "SELECT row_number, rule, length(raw_line) FROM quarantine_sales") == [
        (2, "line_too_long", 200)]


def test_rows_that_cannot_be_split_keep_their_text(write_file, lake):
    result = ingest_file(write_file("split.csv", [GOOD[0], "I2,C2", "I3,C3,F,1,Books,1,1,Cash,1/1/2022,K,extra",
                                                  GOOD[1]]), str(lake))
    assert (result.rows_accepted, result.rows_quarantined) == (2, 2)
    assert query(lake, "SELECT row_number, rule, raw_line FROM quarantine_sales ORDER BY 1") == [
        (2, "wrong_column_count", "I2,C2"), (3, "wrong_column_count", "I3,C3,F,1,Books,1,1,Cash,1/1/2022,K,extra")]


# --- very wide files ----------------------------------------------------------------------------------

def test_ten_thousand_columns_are_refused_with_the_cause(tmp_path, lake):
    path = tmp_path / "wide.csv"
    extra = [f"c{i}" for i in range(9990)]
    path.write_text(",".join([*HEADER.split(","), *extra]) + "\n" + GOOD[0] + ",x" * 9990 + "\n")
    result = ingest_file(path, str(lake))
    assert result.status == "rejected"
    assert result.message.startswith("the header has 10,000 columns; an upload may have at most 1,000")


def test_wide_file_under_the_limit_is_processed(tmp_path, lake):
    path = tmp_path / "wide.csv"
    extra = [f"c{i}" for i in range(900)]
    path.write_text(",".join([*HEADER.split(","), *extra]) + "\n" + "\n".join(g + ",x" * 900 for g in GOOD) + "\n")
    result = ingest_file(path, str(lake))
    assert (result.status, result.rows_accepted) == ("succeeded", 3)
    assert "ignored columns: c0, c1" in result.message


# --- mostly bad, many names: the clean file's memory and time (whole CLI processes) -------------------

ROWS = 1_000_000
# The ingest's memory: DuckDB's INGEST_MEMORY_LIMIT (256 MB; beyond it, it spills) plus the interpreter,
# the libraries and what DuckDB allocates outside its pool. A clean 1M-row file needs ~300 MB of it
# (its validated rows fit in the limit); a mostly-bad, repetitive or many-names file fills the limit
# and spills, 400-480 MB: the same budget, whatever the file holds.
BUDGET_MB = 512


def _write(path: Path, line) -> Path:
    with open(path, "w") as fh:
        fh.write(HEADER + "\n")
        fh.writelines(line(n) for n in range(ROWS))
    return path


def _cli_ingest(path: Path, tmp: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of `retail-lake ingest FILE` in its own process."""
    started = time.perf_counter()
    out = tmp / f"{path.stem}.out"
    with open(out, "wb") as sink:  # a file, not a pipe: nothing blocks while wait4 waits
        proc = subprocess.Popen([sys.executable, "-m", "retail_lake.cli", "ingest", str(path),
                                 "--lake", str(tmp / f"lake-{path.stem}")], stdout=sink,
                                stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(tmp)})
        _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.read_text(errors="replace")[-3000:]
    return time.perf_counter() - started, usage.ru_maxrss / 1024


@pytest.mark.slow
def test_mostly_bad_and_high_cardinality_files_stay_within_the_clean_budget(tmp_path):
    clean = _write(tmp_path / "clean.csv", lambda n: (
        f"I{n},C{n % 50000},Female,{20 + n % 50},Books,{1 + n % 5},{15.15 * (1 + n % 5):.2f},Cash,"
        f"{1 + n % 28}/{1 + n % 12}/2022,Kanyon\n"))
    bad = _write(tmp_path / "bad.csv", lambda n: (
        f"I{n},C{n % 50000},Female,{20 + n % 50},Books,{1 + n % 5},{'x' + str(n) if n % 2 else '15.15'},Cash,"
        f"{1 + n % 28}/{1 + n % 12}/2022,Kanyon\n"))
    identical = tmp_path / "identical.csv"
    identical.write_text(HEADER + "\n" + GOOD[0] + "\n" * 1 + (GOOD[0] + "\n") * (2 * ROWS - 1))
    names = _write(tmp_path / "names.csv", lambda n: (
        f"I{n},C{n % 50000},Female,{20 + n % 50},Books,{1 + n % 5},15.15,Cash,{1 + n % 28}/{1 + n % 12}/2022,"
        f"Mall {n % 200000}\n"))
    base_s, base_mb = _cli_ingest(clean, tmp_path)
    assert base_mb <= BUDGET_MB, f"clean file: {base_mb:.0f} MB"
    for path in (bad, identical, names):
        seconds, mb = _cli_ingest(path, tmp_path)
        assert mb <= BUDGET_MB, f"{path.name}: {mb:.0f} MB (the clean file: {base_mb:.0f} MB)"
        if path is names:
            assert seconds <= base_s * 2, f"{path.name}: {seconds:.1f}s against {base_s:.1f}s"


def test_the_upload_is_named_by_the_file_hash_computed_beside_the_duckdb_import(write_file, tmp_path):
    """The content hash is computed on a second thread (while DuckDB loads): the same SHA-256 as a
    plain read, and a file that cannot be read raises its own error in the caller."""
    import hashlib

    path = write_file("hashed.csv", GOOD)
    assert _pipeline._hash_while_loading(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(FileNotFoundError):
        _pipeline._hash_while_loading(tmp_path / "gone.csv")
