"""The upload bucket, two ways: the drop folder itself (no endpoint), or the template's bucket on a
local AWS endpoint, where dropped files are uploaded and S3 itself notifies the queue."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from retail_lake.local._watch import DroppedFile

__all__ = ["EndpointBucket", "LocalBucket", "StoredObject"]

LOCAL_BUCKET_NAME = "retail-lake-local-drop"


@dataclass(frozen=True)
class StoredObject:
    """An object in the upload bucket, with what its ObjectCreated notification carries."""

    bucket: str
    key: str
    size: int
    etag: str
    event_time: datetime


def _md5(path: Path) -> str:
    """S3's ETag of a single-part upload: the MD5 of the bytes."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class LocalBucket:
    """The drop folder standing in for the upload bucket: a key names a file under the folder,
    or (for a file dropped outside ``raw/``) the file it was given for."""

    def __init__(self, root: Path, name: str = LOCAL_BUCKET_NAME) -> None:
        self.root = Path(root)
        self.name = name
        self._files: dict[str, Path] = {}

    def put(self, dropped: DroppedFile) -> StoredObject:
        self._files[dropped.key] = dropped.path
        return StoredObject(self.name, dropped.key, dropped.size, _md5(dropped.path), dropped.landed_at)

    def path_for(self, bucket: str, key: str) -> Path:
        if bucket != self.name:
            raise FileNotFoundError(f"s3://{bucket}/{key}: not the local upload bucket ({self.name})")
        return self._files.get(key) or self.root / key


class EndpointBucket:
    """The template's upload bucket on moto's server or LocalStack: ``put`` uploads the file and
    S3 sends the ObjectCreated notification to the ingest queue by itself."""

    def __init__(self, name: str) -> None:
        from retail_lake.storage import S3Storage

        self.name = name
        self.storage = S3Storage(name)

    def put(self, dropped: DroppedFile) -> StoredObject:
        self.storage.upload(dropped.path, dropped.key)
        info = self.storage.stat(dropped.key)
        moment = info.last_modified if info.last_modified.tzinfo else info.last_modified.replace(tzinfo=UTC)
        return StoredObject(self.name, dropped.key, info.size, info.etag or "", moment)
