"""A lock object in the lake so only one analytics run (and so one compaction) works at a time.

Every step is one conditional write through Storage, so the lock never reaches into a backend's
client and two runs can never both win:

- take: ``create_if_absent`` (O_EXCL-style link on a folder, ``If-None-Match: *`` on S3);
- take over a stale lock (older than its timeout: a crashed run, a killed Lambda): read it with its
  ETag, then ``replace_if_unchanged`` on that ETag (``If-Match``). Two runs that both find it
  stale race on the same ETag, and only one replace succeeds;
- release: ``delete_if_unchanged`` on the ETag of the lock this run wrote, so a run whose lock was
  taken over (it ran past the timeout) deletes nothing of the new holder's.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from retail_lake.layout import ANALYTICS_LOCK_KEY
from retail_lake.storage import Storage

LOCK_KEY = ANALYTICS_LOCK_KEY


class AnalyticsBusyError(RuntimeError):
    """Another analytics run holds the lock."""


@dataclass
class LakeLock:
    storage: Storage
    stale_after_seconds: float = 1800.0
    key: str = LOCK_KEY

    def __post_init__(self) -> None:
        self.token = secrets.token_hex(8)
        self._held = False
        self._etag: str | None = None  # the ETag of the lock object this run wrote

    def _body(self) -> bytes:
        return json.dumps(
            {"token": self.token, "holder": f"{socket.gethostname()}:{os.getpid()}", "acquired_at": time.time()}
        ).encode()

    def _current(self) -> tuple[dict | None, str | None]:
        """(lock document or None when unreadable, its ETag); FileNotFoundError when there is none."""
        data, etag = self.storage.read_if_changed(self.key, None)
        try:
            doc = json.loads(data or b"")
        except ValueError:  # half-written by a backend without atomic writes, or not ours: stale
            doc = None
        return (doc if isinstance(doc, dict) else None), etag

    def _mine(self) -> str | None:
        """The ETag of the lock object if it holds this run's token (after a write that returned True)."""
        try:
            doc, etag = self._current()
        except FileNotFoundError:
            return None
        return etag if doc and doc.get("token") == self.token else None

    def acquire(self) -> None:
        for _ in range(3):  # the lock may vanish between the steps (its holder released it): retry
            if self.storage.create_if_absent(self.key, self._body()):
                self._took()
                return
            try:
                current, etag = self._current()
            except FileNotFoundError:
                continue
            age = time.time() - float(current.get("acquired_at", 0)) if current else self.stale_after_seconds + 1
            if age <= self.stale_after_seconds:
                holder = current.get("holder", "?") if current else "?"
                raise AnalyticsBusyError(
                    f"another analytics run holds {self.key} (holder {holder}, {age:.0f}s ago); "
                    f"it is considered stale after {self.stale_after_seconds:.0f}s"
                )
            # Stale: take it over only if it is still the lock we judged (If-Match on its ETag).
            if etag is not None and self.storage.replace_if_unchanged(self.key, self._body(), etag):
                self._took()
                return
            raise AnalyticsBusyError(f"another analytics run took over the stale lock {self.key}")
        raise AnalyticsBusyError(f"the lock {self.key} kept changing; try again")

    def _took(self) -> None:
        self._held = True
        self._etag = self._mine()

    def release(self) -> None:
        if self._held and self._etag is not None:
            self.storage.delete_if_unchanged(self.key, self._etag)
        self._held = False
        self._etag = None

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
