"""Issue 10, item 6 on S3: conditional writes (If-None-Match / If-Match) and the analytics lock, on
moto's in-process mock, moto's server and LocalStack (through AWS_ENDPOINT_URL), with racing takers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from retail_lake.analytics._lock import LOCK_KEY, AnalyticsBusyError, LakeLock
from retail_lake.storage import S3Storage, StorageError


@pytest.fixture
def mocked_storage(moto_stack) -> S3Storage:
    return S3Storage(moto_stack.lake_bucket, "lake")


@pytest.fixture
def endpoint_storage(endpoint_stack) -> Iterator[S3Storage]:
    yield S3Storage(endpoint_stack.lake_bucket, "lake")


def race(n: int, action) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = action(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def check_conditional_contract(storage: S3Storage) -> None:
    assert storage.create_if_absent("k", b"one") is True
    assert storage.create_if_absent("k", b"two") is False
    assert storage.read_bytes("k") == b"one"
    etag = storage.stat("k").etag
    assert etag
    assert storage.replace_if_unchanged("k", b"three", etag) is True
    assert storage.replace_if_unchanged("k", b"four", etag) is False  # the ETag moved on
    assert storage.read_bytes("k") == b"three"
    assert storage.replace_if_unchanged("missing", b"x", etag) is False
    assert storage.delete_if_unchanged("k", etag) is False
    assert storage.delete_if_unchanged("k", storage.stat("k").etag) is True
    assert not storage.exists("k")


def check_stale_takeover_race(storage: S3Storage) -> None:
    stale = {"token": "dead", "holder": "crashed:1", "acquired_at": time.time() - 3600}
    storage.write_bytes(LOCK_KEY, json.dumps(stale).encode())
    locks = [LakeLock(storage, stale_after_seconds=60) for _ in range(4)]
    results = race(4, lambda i: locks[i].acquire())
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert all(isinstance(r, AnalyticsBusyError) for i, r in enumerate(results) if i != winners[0])
    winner = locks[winners[0]]
    assert json.loads(storage.read_bytes(LOCK_KEY))["token"] == winner.token
    # the winner overruns its timeout and a later run takes over: the winner's release keeps it
    doc = json.loads(storage.read_bytes(LOCK_KEY))
    doc["acquired_at"] -= 3600
    storage.write_bytes(LOCK_KEY, json.dumps(doc).encode())
    later = LakeLock(storage, stale_after_seconds=60)
    later.acquire()
    winner.release()
    assert json.loads(storage.read_bytes(LOCK_KEY))["token"] == later.token
    later.release()
    assert not storage.exists(LOCK_KEY)


def test_conditional_writes_on_moto(mocked_storage) -> None:
    check_conditional_contract(mocked_storage)


def test_two_takers_race_on_moto(mocked_storage) -> None:
    check_stale_takeover_race(mocked_storage)


def test_conditional_writes_and_lock_race_on_a_local_endpoint(endpoint_storage) -> None:
    """Over HTTP: moto's server, and LocalStack when it can run here."""
    check_conditional_contract(endpoint_storage)
    check_stale_takeover_race(endpoint_storage)


def test_missing_bucket_is_a_storage_error_not_a_lost_race(moto_stack) -> None:
    with pytest.raises(StorageError):
        S3Storage("no-such-bucket-anywhere").create_if_absent("k", b"x")
