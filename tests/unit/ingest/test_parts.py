"""A large CSV is copied in parts side by side (ingest/_parts.py): the lake must not tell.

Every file here is ingested twice, cut into parts and read whole, and everything a user can see
is compared: the summary, every sales row, every quarantined row with its row number, rule and
raw line. Cuts fall on whatever line is there: blank lines, rows the parser rejects, bytes that
are not UTF-8, over-long lines, exact repeats.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retail_lake.ingest._parts as parts
import retail_lake.ingest._read as read
from retail_lake.config import Settings
from retail_lake.ingest import ingest_file
from retail_lake.ingest._parts import Dialect, cut_points
from retail_lake.query import connect

from .conftest import HEADER

UPLOADED = datetime(2024, 3, 1, 9, tzinfo=UTC)
LINE_LIMIT = 400


def line(kind: str, i: int) -> bytes:
    """One line of a given kind; ``i`` makes rows differ."""
    good = (f"I{i},C{i % 7},Female,{20 + i % 50},Clothing,{1 + i % 5},{10 + i}.5,Cash,"
            f"{1 + i % 28}/{1 + i % 12}/2022,Kanyon")
    return {
        "good": good.encode(),
        "blank": b"",
        "short": f"I{i},C1,Female".encode(),
        "wide": (good + ",extra,more").encode(),
        "bad_price": good.replace(f",{10 + i}.5,", ",abc,").encode(),
        "not_utf8": good.replace("Kanyon", "Kan\xffyon").encode("latin-1"),
        "too_long": (good + "," + "x" * LINE_LIMIT).encode(),
        "formula": good.replace("Clothing", "=cmd()").encode(),
    }[kind]


def file_bytes(kinds: list[str], newline: bytes = b"\n", repeat_every: int = 0) -> bytes:
    lines = [HEADER.encode()]
    for i, kind in enumerate(kinds):
        lines.append(line(kind, i))
        if repeat_every and i % repeat_every == 0:
            lines.append(lines[-1])  # an exact repeat of the line before
    return newline.join(lines) + newline


def observed(path: Path, lake: Path, threads: int) -> tuple:
    """What a user sees of one ingest: the summary, the sales rows, the quarantined rows."""
    config = replace(Settings.from_env(), duckdb_threads=threads, ingest_max_line_bytes=LINE_LIMIT)
    result = ingest_file(path, str(lake), uploaded_at=UPLOADED, settings=config)
    con = connect(str(lake))
    sales = con.execute("SELECT * FROM sales ORDER BY row_number").fetchall() if result.rows_accepted else []
    quarantine = con.execute(
        "SELECT row_number, rule, reason, raw_line, invoice_no, price FROM quarantine_sales ORDER BY row_number"
    ).fetchall() if result.rows_quarantined else []
    summary = (result.status, result.rows_in, result.rows_accepted, result.rows_quarantined, result.rows_flagged,
               result.quarantine_reasons, result.message)
    return summary, sales, quarantine


@pytest.fixture
def parts_used(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records whether each copy in parts succeeded (so a test cannot pass by never cutting)."""
    calls: list[bool] = []
    real = read.copy_in_parts

    def spy(*args, **kwargs):
        calls.append(real(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(read, "copy_in_parts", spy)
    return calls


def both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch, threads: int = 4) -> tuple[tuple, tuple]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drop" / "sales.csv"
        path.parent.mkdir()
        path.write_bytes(data)
        monkeypatch.setattr(parts, "PARTS_MIN_BYTES", 0)
        in_parts = observed(path, Path(tmp) / "parts", threads)
        monkeypatch.setattr(parts, "PARTS_MIN_BYTES", 1 << 62)
        whole = observed(path, Path(tmp) / "whole", threads)
    return in_parts, whole


def test_cut_file_ingests_exactly_like_the_whole_file(monkeypatch, parts_used):
    kinds = (["good"] * 40 + ["blank", "short", "good", "wide", "bad_price", "blank", "blank", "formula"]) * 6
    in_parts, whole = both_ways(file_bytes(kinds, repeat_every=9), monkeypatch)
    assert parts_used and all(parts_used)
    assert in_parts == whole
    summary, sales, quarantine = in_parts
    assert summary[0] == "succeeded" and len(sales) > 200
    rules = {row[1] for row in quarantine}
    assert {"wrong_column_count", "bad_price", "duplicate_row"} <= rules


def test_windows_line_endings_and_undecodable_bytes_cut_like_the_whole_file(monkeypatch, parts_used):
    kinds = (["good"] * 30 + ["not_utf8", "short", "blank"]) * 5
    in_parts, whole = both_ways(file_bytes(kinds, newline=b"\r\n"), monkeypatch, threads=2)
    assert parts_used and all(parts_used)
    assert in_parts == whole


def test_a_part_that_cannot_be_read_falls_back_to_the_whole_file(monkeypatch, parts_used):
    """Any failure in a part (here: its file cannot be written) drops every part; the whole file is
    read instead, so the error, if any, is the one a whole-file read reports."""
    real = parts._write_part

    def failing(source, target, *args):
        if target.name == "part-1.csv":
            raise OSError("No space left on device")
        real(source, target, *args)

    monkeypatch.setattr(parts, "_write_part", failing)
    in_parts, whole = both_ways(file_bytes(["good"] * 50 + ["short", "bad_price"] + ["good"] * 50), monkeypatch)
    assert parts_used == [False]
    assert in_parts == whole
    assert in_parts[0][2] == 100


def test_an_over_long_line_is_quarantined_when_the_file_is_cut(monkeypatch, parts_used):
    kinds = ["good"] * 60 + ["too_long"] + ["good"] * 60
    in_parts, whole = both_ways(file_bytes(kinds), monkeypatch)
    assert parts_used == [True]  # on the file with the long line replaced by a marker (see _prepare)
    assert in_parts == whole
    assert [row[1] for row in in_parts[2]] == ["line_too_long"]
    assert in_parts[0][2] == 120


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(["good", "good", "good", "blank", "short", "wide", "bad_price", "not_utf8",
                                       "formula"]), min_size=1, max_size=60),
       threads=st.sampled_from([2, 3, 4]), crlf=st.booleans(), repeat_every=st.sampled_from([0, 3]))
def test_any_cut_of_any_file_ingests_like_the_whole_file(monkeypatch, parts_used, kinds, threads, crlf,
                                                        repeat_every):
    data = file_bytes(kinds, newline=b"\r\n" if crlf else b"\n", repeat_every=repeat_every)
    parts_used.clear()
    in_parts, whole = both_ways(data, monkeypatch, threads)
    assert in_parts == whole
    assert all(parts_used)  # every cut file was read in parts (none fell back)


def dialect(**given: str) -> Dialect:
    base = {"delimiter": ",", "quote": "", "escape": "", "new_line": "\\n", "comment": ""}
    return Dialect(**(base | given), columns=("a", "b"))


def test_files_are_only_cut_where_a_line_break_ends_a_row(tmp_path, monkeypatch):
    monkeypatch.setattr(parts, "PARTS_MIN_BYTES", 0)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"a,b\n" + b"1,2\n" * 100)
    cuts = cut_points(plain, dialect(), 2)
    assert cuts is not None and len(cuts) == 1 and plain.read_bytes()[cuts[0] - 1:cuts[0]] == b"\n"
    assert len(cut_points(plain, dialect(), 4) or []) == 3
    # A quote character read as a quote could open a field that spans lines: such files are read whole.
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b"a,b\n" + b'1,"x\ny"\n' * 100)
    assert cut_points(quoted, dialect(quote='"', escape='"'), 2) is None
    # ... unless the quote never occurs in the file.
    assert cut_points(plain, dialect(quote='"', escape='"'), 2) is not None
    assert cut_points(plain, dialect(comment="#"), 2) is None
    assert cut_points(plain, dialect(new_line="\\r"), 2) is None
    assert cut_points(plain, dialect(), 1) is None
    one_column = Dialect(",", "", "", "\\n", "", ("a",))
    assert cut_points(plain, one_column, 2) is None  # the sentinel line would be a row of it
    assert cut_points(plain, dialect(), 2, tmp_path) is not None
    monkeypatch.setattr(parts, "DISK_FACTOR", 1e15)  # no room in the work folder for the parts
    assert cut_points(plain, dialect(), 2, tmp_path) is None
    monkeypatch.setattr(parts, "PARTS_MIN_BYTES", 10_000)
    assert cut_points(plain, dialect(), 2) is None  # small files are read whole
