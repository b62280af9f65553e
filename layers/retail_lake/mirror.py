"""A local copy of lake objects for DuckDB when the lake is in S3 and DuckDB reads local files.

A local lake needs no copy (its files are read in place). For an S3 lake, ``local_root`` mirrors a
prefix into ``$TMPDIR/retail-lake-cache/<lake hash>/`` (only new or changed objects are downloaded,
objects gone from S3 are removed) and ``local_copy`` fetches one immutable object once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from retail_lake.config import Settings
from retail_lake.storage import Storage

__all__ = ["cache_root", "local_copy", "local_root"]


def cache_root(storage: Storage, settings: Settings | None = None) -> Path:
    settings = settings or Settings.from_env()
    lake_hash = hashlib.sha1(storage.uri.encode()).hexdigest()[:12]
    return settings.tmp_dir / "retail-lake-cache" / lake_hash


def local_root(storage: Storage, prefix: str, settings: Settings | None = None) -> Path:
    """A local folder holding the files under ``prefix``: the folder itself for a local lake,
    else a cache mirrored from S3 (only new or changed objects are downloaded)."""
    direct = storage.local_path(prefix)
    if direct is not None:
        return direct
    cache = cache_root(storage, settings) / prefix
    manifest_path = cache / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    remote = {o.key: o for o in storage.list(prefix)}
    for key, info in remote.items():
        rel = key[len(prefix) :]
        if manifest.get(rel) != info.etag or not (cache / rel).exists():
            storage.download(key, cache / rel)
            manifest[rel] = info.etag
    for rel in list(manifest):
        if prefix + rel not in remote:
            (cache / rel).unlink(missing_ok=True)
            del manifest[rel]
    cache.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest))
    return cache


def local_copy(storage: Storage, key: str, settings: Settings | None = None) -> Path:
    """The object's file on this machine; for immutable objects (table versions) a cached copy is reused."""
    direct = storage.local_path(key)
    if direct is not None:
        return direct
    cached = cache_root(storage, settings) / key
    if not cached.exists():
        storage.download(key, cached)
    return cached
