"""Issue 10, item 6 on a local lake: create-if-absent, replace-if-unchanged, delete-if-unchanged, and
the analytics lock built on them, with racing takers (threads and processes).

(The same contract on S3 — moto, moto's server, LocalStack — is tests/integration/test_hardening_lock.py.)
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from retail_lake.analytics._lock import AnalyticsBusyError, LakeLock
from retail_lake.storage import LocalStorage

KEY = "analytics/_lock.json"


def race(n: int, action) -> list:
    """Run ``action(i)`` in n threads released at the same instant; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:  # collected, not raised: the test looks at every outcome
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_create_if_absent_has_one_winner(tmp_path):
    storage = LocalStorage(tmp_path)
    for attempt in range(5):
        results = race(8, lambda i, a=attempt: storage.create_if_absent(f"k{a}", f"writer {i}".encode()))
        assert results.count(True) == 1 and results.count(False) == 7
        winner = results.index(True)
        assert storage.read_bytes(f"k{attempt}") == f"writer {winner}".encode()
    assert [o.key for o in storage.list("")] == [f"k{a}" for a in range(5)]  # no temp or lock files listed


def test_replace_if_unchanged_has_one_winner_per_etag(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_bytes("k", b"v0")
    etag = storage.stat("k").etag
    results = race(8, lambda i: storage.replace_if_unchanged("k", f"v{i + 1}".encode(), etag))
    assert results.count(True) == 1
    assert storage.read_bytes("k") == f"v{results.index(True) + 1}".encode()
    assert storage.replace_if_unchanged("k", b"late", etag) is False  # the ETag moved on
    assert storage.replace_if_unchanged("missing", b"x", etag) is False
    assert not list(tmp_path.rglob(".tmp-*"))  # no lock or temp file left in the lake


def test_delete_if_unchanged_deletes_only_that_version(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_bytes("k", b"mine")
    mine = storage.stat("k").etag
    time.sleep(0.01)
    storage.write_bytes("k", b"theirs!")
    assert storage.delete_if_unchanged("k", mine) is False
    assert storage.read_bytes("k") == b"theirs!"
    assert storage.delete_if_unchanged("k", storage.stat("k").etag) is True
    assert not storage.exists("k")
    assert storage.delete_if_unchanged("k", mine) is False


def _create_in_process(args: tuple[str, int]) -> bool:
    root, i = args
    return LocalStorage(root).create_if_absent("shared", str(i).encode())


def test_create_if_absent_across_processes(tmp_path):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_create_in_process, [(str(tmp_path), i) for i in range(16)])
    assert results.count(True) == 1


# --- the lock ------------------------------------------------------------------------------------

def _stale_lock(storage: LocalStorage, age: float = 3600) -> None:
    storage.write_bytes(KEY, json.dumps({"token": "dead", "holder": "crashed:1",
                                         "acquired_at": time.time() - age}).encode())


def test_two_takers_of_a_stale_lock_cannot_both_win(tmp_path):
    storage = LocalStorage(tmp_path)
    for _ in range(10):
        _stale_lock(storage)
        locks = [LakeLock(storage, stale_after_seconds=60) for _ in range(6)]
        results = race(6, lambda i, locks=locks: locks[i].acquire())
        winners = [i for i, r in enumerate(results) if r is None]
        assert len(winners) == 1, results
        assert all(isinstance(r, AnalyticsBusyError) for i, r in enumerate(results) if i not in winners)
        assert json.loads(storage.read_bytes(KEY))["token"] == locks[winners[0]].token
        locks[winners[0]].release()
        assert not storage.exists(KEY)


def test_fresh_lock_is_respected_and_release_deletes_only_its_own(tmp_path):
    storage = LocalStorage(tmp_path)
    first = LakeLock(storage, stale_after_seconds=60)
    first.acquire()
    with pytest.raises(AnalyticsBusyError, match="another analytics run holds"):
        LakeLock(storage, stale_after_seconds=60).acquire()
    # first runs past its timeout: a second run takes the lock over ...
    doc = json.loads(storage.read_bytes(KEY))
    doc["acquired_at"] -= 3600
    storage.write_bytes(KEY, json.dumps(doc).encode())
    second = LakeLock(storage, stale_after_seconds=60)
    second.acquire()
    # ... and when first finally finishes, its release leaves second's lock alone
    first.release()
    assert json.loads(storage.read_bytes(KEY))["token"] == second.token
    second.release()
    assert not storage.exists(KEY)


def test_unreadable_lock_is_stale(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.write_bytes(KEY, b"{half-writ")
    with LakeLock(storage, stale_after_seconds=60) as lock:
        assert json.loads(storage.read_bytes(KEY))["token"] == lock.token
    assert not Path(tmp_path, KEY).exists()
