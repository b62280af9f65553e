from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol


class StorageError(Exception):
    """A storage operation failed in a way a retry may fix (network, throttling, 5xx)."""


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

    def read_bytes(self, key: str) -> bytes: ...

    def download(self, key: str, dest: Path) -> Path: ...

    def upload(self, src: Path, key: str) -> None: ...

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def delete(self, keys: list[str]) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The key's file on this machine when the storage is a local folder, else None."""
        ...
