"""The drop folder: new files are noticed by polling, handed over once they stopped changing.

Polling (a directory walk every half second) works the same on every OS and filesystem, network
shares included, and needs no extra package. A file is *settled* when its size, mtime and inode were
unchanged for ``settle_seconds``: a half-copied file is still growing and is left alone until the
copy finished.

The drop folder is laid out like the upload bucket: ``raw/sales/...`` and ``raw/stores/...``. A file
elsewhere (the top level, say) gets the key ``raw/stores/<path>`` when its header is a stores table
(a mall and a region, no invoice column) and ``raw/sales/<path>`` otherwise, as the ingest decides
for local files.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "RAW_PREFIX",
    "RAW_SALES_PREFIX",
    "RAW_STORES_PREFIX",
    "REFRESH_TRIGGER",
    "DropWatcher",
    "DroppedFile",
    "is_ignored",
    "key_for",
    "looks_like_stores",
]

# The upload bucket's prefixes (template.yaml's notification filter is RAW_PREFIX).
RAW_PREFIX = "raw/"
RAW_SALES_PREFIX = "raw/sales/"
RAW_STORES_PREFIX = "raw/stores/"
# Touch this file in the drop folder to re-run analytics now.
REFRESH_TRIGGER = ".refresh"

# Names that are never uploads: partial downloads and editor scratch files (the finished file
# arrives under its real name), and the hidden '.' / '_' names that Athena and Hadoop skip too.
_TEMP_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", ".swx", "~")


def is_ignored(relative: str) -> bool:
    """True for paths (relative to the drop folder, '/'-separated) that are not uploads."""
    parts = relative.split("/")
    if any(p.startswith((".", "_")) or p.startswith("~$") for p in parts):
        return True
    return parts[-1].lower().endswith(_TEMP_SUFFIXES)


def _header_names(path: Path) -> list[str]:
    """Column names of a CSV (plain or gzip) or Parquet file; [] when unreadable."""
    try:
        with open(path, "rb") as raw:
            magic = raw.read(4)
        if magic == b"PAR1":
            import duckdb

            from retail_lake.duck import sql_literal

            con = duckdb.connect()
            try:
                return [r[0] for r in con.execute(
                    f"SELECT name FROM parquet_schema({sql_literal(str(path))}) WHERE num_children IS NULL"
                ).fetchall()]
            finally:
                con.close()
        import csv

        opener = gzip.open if magic[:2] == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline()
        dialect_delimiter = max((",", ";", "\t", "|"), key=first.count)
        return next(csv.reader([first], delimiter=dialect_delimiter), [])
    except Exception:  # unreadable here: the ingest will say why when it reads the file
        return []


def looks_like_stores(path: Path) -> bool:
    """A stores reference file: its header names a mall and a region and no invoice column
    (headers matched with lake_schemas' names and aliases, as the ingest matches them)."""
    from retail_lake.schemas import normalise_header, table

    def index(name: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for col in table(name).input_columns:
            for alias in (col.name, *col.aliases):
                out.setdefault(normalise_header(alias), col.name)
        return out

    headers = [normalise_header(h) for h in _header_names(path)]
    stores, sales = index("stores"), index("sales")
    names = {stores.get(h) for h in headers}
    return "region" in names and "shopping_mall" in names and "invoice_no" not in {sales.get(h) for h in headers}


def key_for(relative: str, path: Path | None = None) -> str:
    """The upload bucket key of a file dropped at ``relative`` (drop-folder relative, '/'-separated)."""
    relative = relative.lstrip("/")
    if relative.startswith(RAW_PREFIX):
        return relative
    folders = [p.lower() for p in relative.split("/")[:-1]]
    if "stores" in folders:
        return RAW_PREFIX + relative
    if path is not None and looks_like_stores(path):
        return RAW_STORES_PREFIX + relative
    return RAW_SALES_PREFIX + relative


@dataclass(frozen=True)
class DroppedFile:
    """A settled file and where it goes in the upload bucket."""

    path: Path
    key: str
    size: int
    landed_at: datetime  # when it entered the folder: the upload's own time (S3's event time)


Signature = tuple[int, int, int]  # size, mtime_ns, inode


def _landed_at(st: os.stat_result) -> datetime:
    """The moment the file arrived: a copy or move into the folder sets ctime (POSIX), a write sets
    mtime; on Windows ctime is the creation time. The later of the two, like S3's LastModified."""
    return datetime.fromtimestamp(max(st.st_mtime, st.st_ctime), UTC)


class DropWatcher:
    """Finds files in the drop folder that are new or changed since they were handed over."""

    def __init__(self, root: Path, *, settle_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root = Path(root)
        self.settle_seconds = settle_seconds
        self.clock = clock
        self._candidates: dict[Path, tuple[Signature, float]] = {}
        self._handed: dict[Path, Signature] = {}
        self._ignored: set[Path] = set()
        self._refresh_mtime: int | None = None

    def prepare(self) -> None:
        """Create the folder with the bucket's layout, so users see where files go; a refresh
        trigger left from an earlier run does not count."""
        for prefix in (RAW_SALES_PREFIX, RAW_STORES_PREFIX):
            (self.root / prefix).mkdir(parents=True, exist_ok=True)
        self.refresh_requested()

    @property
    def settling(self) -> int:
        """Files seen but not settled yet (a copy in progress)."""
        return len(self._candidates)

    def scan(self) -> tuple[list[DroppedFile], list[str]]:
        """One pass: (settled files to hand over now, newly ignored paths to mention once)."""
        now = self.clock()
        ready: list[DroppedFile] = []
        ignored: list[str] = []
        present: set[Path] = set()
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            for name in sorted(filenames):
                path = Path(dirpath) / name
                relative = path.relative_to(self.root).as_posix()
                if is_ignored(relative):
                    if path not in self._ignored and name != REFRESH_TRIGGER and not name.startswith("."):
                        self._ignored.add(path)
                        ignored.append(relative)
                    continue
                try:
                    st = path.stat()
                except OSError:  # removed between the listing and the stat
                    continue
                present.add(path)
                signature = (st.st_size, st.st_mtime_ns, st.st_ino)
                if self._handed.get(path) == signature:
                    continue
                seen = self._candidates.get(path)
                if seen is None or seen[0] != signature:
                    self._candidates[path] = (signature, now)
                    continue
                if now - seen[1] < self.settle_seconds:
                    continue
                del self._candidates[path]
                self._handed[path] = signature
                ready.append(DroppedFile(path, key_for(relative, path), st.st_size, _landed_at(st)))
        for gone in [p for p in self._candidates if p not in present]:
            del self._candidates[gone]
        for gone in [p for p in self._handed if p not in present]:
            del self._handed[gone]
        return ready, ignored

    def refresh_requested(self) -> bool:
        """True once per touch of ``<drop>/.refresh`` (created or its mtime changed)."""
        try:
            mtime = (self.root / REFRESH_TRIGGER).stat().st_mtime_ns
        except OSError:
            return False
        if mtime == self._refresh_mtime:
            return False
        self._refresh_mtime = mtime
        return True
