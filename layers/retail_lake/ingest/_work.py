"""Work folders for one ingest (downloads, decompressed/transcoded copies, DuckDB spill files).

A killed ingest (SIGKILL, a Lambda timeout, OOM) cannot clean up after itself, and in Lambda the
next invocation may reuse the same /tmp. So each folder holds a lock file that its live process
keeps locked (``flock``: the kernel releases it when the process dies, whatever the pid reuse), and
every new ingest first removes the folders whose lock nobody holds any more.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "retail-lake-ingest-"
LOCK_NAME = ".in-use"


# A folder without its lock file is being created right now, or was left by a run killed in that
# instant: only the second kind is old.
_UNLOCKED_GRACE_SECONDS = 60


def _locked_by_someone(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime < _UNLOCKED_GRACE_SECONDS
        except OSError:
            return True
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_abandoned(tmp_dir: Path) -> list[Path]:
    """Delete work folders left behind by ingests that are no longer running; returns them."""
    removed = []
    try:
        candidates = [p for p in tmp_dir.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    except OSError:
        return removed
    for folder in candidates:
        if not _locked_by_someone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def work_folder(tmp_dir: Path, purpose: str) -> Iterator[Path]:
    """A fresh folder under ``tmp_dir``, locked while in use and removed afterwards; abandoned ones
    of earlier runs are removed first."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    remove_abandoned(tmp_dir)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-", dir=tmp_dir))
    # The lock file appears already locked: created under another name, locked, then renamed. Created
    # in place, another ingest's clean-up could find it unlocked in between and remove the folder
    # under this one (a fresh folder without its lock file counts as in use: the grace period).
    pending = folder / f"{LOCK_NAME}.{os.getpid()}"
    fd = os.open(pending, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.replace(pending, folder / LOCK_NAME)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
