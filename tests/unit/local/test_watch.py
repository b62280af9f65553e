"""The drop-folder watcher: a file is handed over once, after it stopped changing; temporary and
hidden names are not uploads; the key follows the bucket layout or the file's header."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from retail_lake.local._watch import DropWatcher, is_ignored, key_for, looks_like_stores

SALES = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
STORES = "Shopping Mall,District,Region\nKanyon,Levent,European Side\n"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def watcher(tmp_path: Path) -> tuple[DropWatcher, Clock]:
    clock = Clock()
    w = DropWatcher(tmp_path / "drop", settle_seconds=1.0, clock=clock)
    w.prepare()
    return w, clock


def test_prepare_lays_out_the_bucket(watcher: tuple[DropWatcher, Clock]) -> None:
    w, _ = watcher
    assert (w.root / "raw" / "sales").is_dir() and (w.root / "raw" / "stores").is_dir()


def test_a_growing_file_waits_until_it_settles(watcher: tuple[DropWatcher, Clock]) -> None:
    w, clock = watcher
    path = w.root / "raw" / "sales" / "a.csv"
    path.write_text(SALES)
    assert w.scan() == ([], []) and w.settling == 1  # first sight
    clock.now += 0.6
    with open(path, "a") as fh:  # still being copied
        fh.write("I1,C1,Female,30,Books,1,15.15,Cash,1/1/2023,Kanyon\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert w.scan()[0] == []
    clock.now += 0.6  # 0.6 s since the last change: not yet
    assert w.scan()[0] == []
    clock.now += 0.5
    [dropped], _ = w.scan()
    assert dropped.path == path and dropped.key == "raw/sales/a.csv" and dropped.size == path.stat().st_size
    assert dropped.landed_at.tzinfo is not None and w.settling == 0
    clock.now += 5
    assert w.scan()[0] == []  # handed over once


def test_a_changed_file_is_a_new_upload_and_a_removed_one_is_forgotten(watcher: tuple[DropWatcher, Clock]) -> None:
    w, clock = watcher
    path = w.root / "raw" / "sales" / "b.csv"
    path.write_text(SALES)
    w.scan()
    clock.now += 1.0
    assert len(w.scan()[0]) == 1
    path.write_text(SALES + "I9,C9,Male,40,Toys,1,35.84,Cash,2/2/2023,Kanyon\n")
    w.scan()
    clock.now += 1.0
    assert [d.key for d in w.scan()[0]] == ["raw/sales/b.csv"]
    path.unlink()
    assert w.scan() == ([], [])
    path.write_text(SALES)  # the same name again later: announced again
    w.scan()
    clock.now += 1.0
    assert len(w.scan()[0]) == 1


def test_temporary_and_hidden_names_are_ignored(watcher: tuple[DropWatcher, Clock]) -> None:
    w, clock = watcher
    for name in ("x.csv.part", "y.csv.crdownload", "z.csv~", "_SUCCESS", ".hidden.csv", "~$book.csv"):
        (w.root / name).write_text(SALES)
    (w.root / ".git").mkdir()
    (w.root / ".git" / "a.csv").write_text(SALES)
    ready, ignored = w.scan()
    assert ready == [] and sorted(ignored) == ["_SUCCESS", "x.csv.part", "y.csv.crdownload", "z.csv~", "~$book.csv"]
    clock.now += 2
    assert w.scan() == ([], [])  # mentioned once
    assert is_ignored("raw/.tmp/a.csv") and not is_ignored("raw/sales/a.csv")


def test_refresh_trigger_counts_each_touch_once(watcher: tuple[DropWatcher, Clock]) -> None:
    w, _ = watcher
    trigger = w.root / ".refresh"
    assert not w.refresh_requested()
    trigger.touch()
    assert w.refresh_requested() and not w.refresh_requested()
    os.utime(trigger, ns=(0, trigger.stat().st_mtime_ns + 10_000_000))
    assert w.refresh_requested()
    assert w.scan() == ([], [])  # the trigger is not an upload


def test_keys_follow_the_bucket_layout_or_the_header(tmp_path: Path) -> None:
    stores = tmp_path / "mine.csv"
    stores.write_text(STORES)
    sales = tmp_path / "sales.csv"
    sales.write_text(SALES)
    gz = tmp_path / "stores.csv.gz"
    gz.write_bytes(gzip.compress(STORES.encode()))
    assert key_for("raw/sales/2024/x.csv", sales) == "raw/sales/2024/x.csv"
    assert key_for("raw/stores/s.csv", stores) == "raw/stores/s.csv"  # the folder wins, as in S3
    assert key_for("mine.csv", stores) == "raw/stores/mine.csv"
    assert key_for("2024/sales.csv", sales) == "raw/sales/2024/sales.csv"
    assert key_for("stores/anything.csv", sales) == "raw/stores/anything.csv"
    assert key_for("stores.csv.gz", gz) == "raw/stores/stores.csv.gz"
    assert looks_like_stores(stores) and not looks_like_stores(sales)


def test_a_stores_header_with_an_invoice_column_is_sales(tmp_path: Path) -> None:
    both = tmp_path / "both.csv"
    both.write_text("invoice_no,shopping_mall,region\nI1,Kanyon,European Side\n")
    assert not looks_like_stores(both)
    binary = tmp_path / "blob.csv"
    binary.write_bytes(b"\x00\x01\x02")
    assert key_for("blob.csv", binary) == "raw/sales/blob.csv"  # the ingest will reject it with a reason
