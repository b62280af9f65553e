"""A lock object in the lake so only one analytics run (and so one compaction) works at a time.

Taking the lock is a create-if-absent write: ``O_EXCL`` on a local folder, a conditional PUT
(``If-None-Match: *``) on S3. A lock older than its timeout is treated as left behind by a crashed
run and taken over, so a killed Lambda cannot block the nightly job for ever.
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
from retail_lake.storage import S3Storage, Storage

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

    def _body(self) -> bytes:
        return json.dumps(
            {"token": self.token, "holder": f"{socket.gethostname()}:{os.getpid()}", "acquired_at": time.time()}
        ).encode()

    def _create(self) -> bool:
        """Write the lock only if absent; True when this call created it."""
        local = self.storage.local_path(self.key)
        if local is not None:
            local.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(local, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._body())
            return True
        if isinstance(self.storage, S3Storage):
            from botocore.exceptions import ClientError

            try:
                self.storage.client.put_object(
                    Bucket=self.storage.bucket, Key=self.storage._key(self.key), Body=self._body(), IfNoneMatch="*"
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                    return False
                raise
            return True
        # Any other storage: write then read back; the last writer owns it.
        if self.storage.exists(self.key):
            return False
        self.storage.write_bytes(self.key, self._body())
        return self._owned()

    def _current(self) -> dict | None:
        try:
            return json.loads(self.storage.read_bytes(self.key))
        except Exception:  # absent or half-written: treat as no readable lock
            return None

    def _owned(self) -> bool:
        current = self._current()
        return bool(current and current.get("token") == self.token)

    def acquire(self) -> None:
        if self._create():
            self._held = True
            return
        current = self._current()
        age = time.time() - float(current.get("acquired_at", 0)) if current else self.stale_after_seconds + 1
        if age <= self.stale_after_seconds:
            holder = current.get("holder", "?") if current else "?"
            raise AnalyticsBusyError(
                f"another analytics run holds {self.key} (holder {holder}, {age:.0f}s ago); "
                f"it is considered stale after {self.stale_after_seconds:.0f}s"
            )
        # Stale: remove it and race for it once more (only one creator can win).
        self.storage.delete([self.key])
        if not self._create():
            raise AnalyticsBusyError(f"another analytics run took over the stale lock {self.key}")
        self._held = True

    def release(self) -> None:
        if self._held and self._owned():
            self.storage.delete([self.key])
        self._held = False

    def __enter__(self) -> LakeLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
