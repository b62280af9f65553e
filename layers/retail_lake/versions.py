"""Versioned tables (analytics and predictions): each run writes a new folder, a pointer says which is current.

    <location>/run=<run_id>/part-0.parquet   one immutable version per run
    <location>/_current.json                 {"table", "run_id", "key", "rows", ...}, replaced last

Readers follow the pointer, so they never see a half-written table; the version the pointer named
before stays until the next run, so a reader that read the old pointer can still finish. Every job
that publishes a table (analytics, training) goes through ``publish_version``.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retail_lake.layout import pointer_key, version_key, versioned_prefix
from retail_lake.storage import Storage

__all__ = ["new_run_id", "publish_version", "read_pointer", "swap_pointer"]

_RUN_FOLDER = re.compile(r"/run=([^/]+)/")


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by time (UTC, microseconds) with a random suffix against same-instant runs."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(2)


def read_pointer(storage: Storage, table: str) -> dict[str, Any] | None:
    """The table's current pointer, or None when it was never published."""
    try:
        return json.loads(storage.read_bytes(pointer_key(table)))
    except FileNotFoundError:
        return None


def publish_version(storage: Storage, table: str, local_file: Path, run_id: str, rows: int,
                    extra: dict[str, Any] | None = None) -> str:
    """Upload ``local_file`` as the table's version ``run_id`` and make it current; returns its key."""
    key = version_key(table, run_id)
    storage.upload(local_file, key)
    swap_pointer(storage, table, run_id, key, rows, extra=extra)
    return key


def swap_pointer(storage: Storage, table: str, run_id: str, key: str, rows: int,
                 extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Make ``key`` the current version of ``table`` and drop versions older than the previous one.

    Returns the previous pointer (None on the first run).
    """
    previous = read_pointer(storage, table)
    pointer = {
        "table": table,
        "run_id": run_id,
        "key": key,
        "rows": rows,
        "written_at": datetime.now(UTC).isoformat(),
        "previous": {"run_id": previous["run_id"], "key": previous["key"]} if previous else None,
        **(extra or {}),
    }
    storage.write_bytes(pointer_key(table), json.dumps(pointer, indent=1).encode())
    keep = {run_id, previous["run_id"] if previous else None}
    stale = []
    for info in storage.list(versioned_prefix(table)):
        match = _RUN_FOLDER.search(info.key)
        # Only older runs: a concurrent newer run's folder is never touched.
        if match and match.group(1) not in keep and match.group(1) < run_id:
            stale.append(info.key)
    if stale:
        storage.delete(stale)
        _remove_empty_folders(storage, stale)
    return previous


def _remove_empty_folders(storage: Storage, deleted_keys: list[str]) -> None:
    """A local lake keeps folders after their files go; drop the emptied run= folders (S3 has none)."""
    for key in deleted_keys:
        path = storage.local_path(key)
        if path is not None:
            with contextlib.suppress(OSError):  # not empty (another file landed) or already gone
                path.parent.rmdir()
