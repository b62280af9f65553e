"""How DuckDB reaches lake objects: in place (a local lake), by ``s3://`` URL through httpfs, or
through a local copy (the mirror) when the lake is in S3 and httpfs is not in use.

``readable_files`` / ``readable_file`` are what readers call: they answer the paths or URLs a
DuckDB connection reads, and make that connection able to read them (httpfs loaded, S3 secret).

The mirror: ``local_root`` copies a prefix into ``$TMPDIR/retail-lake-cache/<lake hash>/`` (only
new or changed objects are downloaded, objects gone from S3 are removed) and ``local_copy`` fetches
one immutable object once. A Lambda's /tmp holds at most 10 GB, so the mirror checks before it
downloads: beyond ``MIRROR_MAX_MB`` (or the temp folder's free space) it raises MirrorTooLarge
with the way out (S3_READS=httpfs) instead of filling the disk halfway through a job.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.config import Settings
from retail_lake.duck import enable_s3, parquet_files, s3_reads_mode
from retail_lake.storage import ObjectInfo, Storage

if TYPE_CHECKING:
    import duckdb

__all__ = ["MirrorTooLarge", "cache_root", "local_copy", "local_root", "readable_file", "readable_files",
           "reads_s3_directly"]


class MirrorTooLarge(RuntimeError):
    """Mirroring a prefix would take more of the temp folder than allowed (or than is free)."""


def cache_root(storage: Storage, settings: Settings | None = None) -> Path:
    settings = settings or Settings.from_env()
    lake_hash = hashlib.sha1(storage.uri.encode()).hexdigest()[:12]
    return settings.tmp_dir / "retail-lake-cache" / lake_hash


def reads_s3_directly(storage: Storage, settings: Settings | None = None) -> bool:
    """True when DuckDB reads this lake's objects by ``s3://`` URL (an S3 lake and httpfs in use)."""
    if storage.local_path("") is not None or not storage.uri.startswith("s3://"):
        return False
    return s3_reads_mode(settings) == "httpfs"


def _data_files(infos: list[ObjectInfo]) -> list[ObjectInfo]:
    """Parquet objects, without a writer's temp files (``.tmp-*``)."""
    return [o for o in infos if o.key.endswith(".parquet") and not o.key.rsplit("/", 1)[-1].startswith(".tmp-")]


def object_url(storage: Storage, key: str) -> str:
    """The ``s3://bucket/prefix/key`` URL of a lake key."""
    return f"{storage.uri.rstrip('/')}/{key.lstrip('/')}"


def readable_files(con: duckdb.DuckDBPyConnection, storage: Storage, prefix: str,
                   settings: Settings | None = None) -> list[str]:
    """The Parquet files under ``prefix`` as ``con`` reads them (sorted): local paths of a local
    lake, ``s3://`` URLs with httpfs (nothing is copied; ``con`` gets httpfs and the S3 secret), or
    paths in the mirror otherwise.

    With httpfs the files are the ones the listing returned (not a glob), so a query reads one
    consistent set even while ingests add files.
    """
    settings = settings or Settings.from_env()
    if reads_s3_directly(storage, settings):
        enable_s3(con, settings)
        return sorted(object_url(storage, o.key) for o in _data_files(storage.list(prefix)))
    return parquet_files(local_root(storage, prefix, settings))


def readable_file(con: duckdb.DuckDBPyConnection, storage: Storage, key: str,
                  settings: Settings | None = None) -> str:
    """One object as ``con`` reads it: its local path, its ``s3://`` URL (httpfs), or a cached copy.

    With httpfs a missing object is found when DuckDB reads it, not here.
    """
    settings = settings or Settings.from_env()
    if reads_s3_directly(storage, settings):
        enable_s3(con, settings)
        return object_url(storage, key)
    return str(local_copy(storage, key, settings))


def local_root(storage: Storage, prefix: str, settings: Settings | None = None) -> Path:
    """A local folder holding the files under ``prefix``: the folder itself for a local lake,
    else a cache mirrored from S3 (only new or changed objects are downloaded).

    MirrorTooLarge before any download when the prefix would not fit (MIRROR_MAX_MB, free space).
    """
    direct = storage.local_path(prefix)
    if direct is not None:
        return direct
    settings = settings or Settings.from_env()
    cache = cache_root(storage, settings) / prefix
    manifest_path = cache / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    remote = {o.key: o for o in storage.list(prefix)}
    missing = {key: info for key, info in remote.items()
               if manifest.get(key[len(prefix):]) != info.etag or not (cache / key[len(prefix):]).exists()}
    _check_room(storage, prefix, remote, missing, settings)
    for key, info in missing.items():
        rel = key[len(prefix) :]
        storage.download(key, cache / rel)
        manifest[rel] = info.etag
    for rel in list(manifest):
        if prefix + rel not in remote:
            (cache / rel).unlink(missing_ok=True)
            del manifest[rel]
    cache.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest))
    return cache


def _check_room(storage: Storage, prefix: str, remote: dict[str, ObjectInfo], missing: dict[str, ObjectInfo],
                settings: Settings) -> None:
    """Refuse a mirror that would outgrow its budget: the whole prefix against MIRROR_MAX_MB, the
    bytes still to download against the temp folder's free space."""
    total = sum(o.size for o in remote.values())
    needed = sum(o.size for o in missing.values())
    advice = ("read S3 with DuckDB's httpfs instead (S3_READS=httpfs or auto, with the duckdb-extension-httpfs "
              "package installed), or run the analytics on Athena (ANALYTICS_ENGINE=athena)")
    where = f"{storage.uri}/{prefix}"
    if settings.mirror_max_bytes is not None and total > settings.mirror_max_bytes:
        raise MirrorTooLarge(
            f"mirroring {where} needs {_mb(total)} in {settings.tmp_dir}, more than MIRROR_MAX_MB="
            f"{_mb(settings.mirror_max_bytes, unit=False)}: {advice}"
        )
    if needed:
        folder = settings.tmp_dir
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        if needed > free:
            raise MirrorTooLarge(
                f"mirroring {where} needs {_mb(needed)} more in {folder}, which has {_mb(free)} free: {advice}"
            )


def _mb(size: int, *, unit: bool = True) -> str:
    value = f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".")
    return f"{value} MB" if unit else value


def local_copy(storage: Storage, key: str, settings: Settings | None = None) -> Path:
    """The object's file on this machine; for immutable objects (table versions) a cached copy is reused."""
    direct = storage.local_path(key)
    if direct is not None:
        return direct
    cached = cache_root(storage, settings) / key
    if not cached.exists():
        storage.download(key, cached)
    return cached
