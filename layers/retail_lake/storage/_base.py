from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class StorageError(Exception):
    """A storage operation failed for another reason than a missing key (network, throttling, 5xx,
    access). Every backend raises this one type (and FileNotFoundError for a missing key), so no
    caller sniffs botocore error codes."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the lake root, '/'-separated
    size: int
    etag: str | None
    last_modified: datetime


class Storage(Protocol):
    """What the lake needs from a bucket. Keys are relative to the lake root."""

    uri: str

    def list(self, prefix: str) -> list[ObjectInfo]: ...

    def exists(self, key: str) -> bool: ...

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when the key does not exist."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and time of one object; FileNotFoundError when the key does not exist."""
        ...

    def read_if_changed(self, key: str, etag: str | None) -> tuple[bytes | None, str | None]:
        """(bytes, etag) when the object's ETag differs from ``etag``, else (None, etag).

        A cache revalidates a small object (a table pointer) without downloading it again: on S3
        this is one conditional GET (If-None-Match). FileNotFoundError when the key does not exist.
        """
        ...

    def download(self, key: str, dest: Path) -> Path: ...

    def upload(self, src: Path, key: str) -> None: ...

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def delete(self, keys: list[str]) -> None: ...

    def create_if_absent(self, key: str, data: bytes) -> bool:
        """Write ``data`` only if ``key`` does not exist; True when this call created it.

        Atomic on every backend (O_EXCL-style link on a folder, ``If-None-Match: *`` on S3): of two
        writers racing, exactly one gets True, and nobody ever sees a half-written object.
        """
        ...

    def replace_if_unchanged(self, key: str, data: bytes, etag: str) -> bool:
        """Replace ``key`` with ``data`` only if its ETag is still ``etag``; True when replaced.

        False when the object changed or is gone. On S3 this is a PUT with ``If-Match``; on a folder,
        a compare-and-swap under a lock file. Of two writers holding the same ETag, one wins.
        """
        ...

    def delete_if_unchanged(self, key: str, etag: str) -> bool:
        """Delete ``key`` only if its ETag is still ``etag`` (S3: DELETE with ``If-Match``); True when
        deleted. Lets a lock's holder remove its own lock and never one a later holder took over."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The key's file on this machine when the storage is a local folder, else None."""
        ...
