from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from retail_lake.storage._base import ObjectInfo, StorageError


class LocalStorage:
    """A folder laid out exactly like the lake bucket. Writes are atomic (temp file + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key.lstrip("/")).resolve()
        if self.root not in path.parents and path != self.root:
            raise ValueError(f"key {key!r} escapes the lake root")
        return path

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def list(self, prefix: str) -> list[ObjectInfo]:
        base = self._path(prefix) if prefix else self.root
        # A prefix may end inside a name (like S3): list its parent and filter.
        search = base if base.is_dir() else base.parent
        if not search.exists():
            return []
        out = []
        for path in sorted(search.rglob("*")):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix.lstrip("/")):
                st = path.stat()
                out.append(ObjectInfo(key, st.st_size, _etag(st), datetime.fromtimestamp(st.st_mtime, UTC)))
        return out

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(f"{self.uri}/{key}") from None
        except OSError as exc:
            raise StorageError(f"reading {self.uri}/{key}: {exc}") from exc

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(f"{self.uri}/{key}") from None
        if not path.is_file():
            raise FileNotFoundError(f"{self.uri}/{key}")
        return ObjectInfo(key.lstrip("/"), st.st_size, _etag(st), datetime.fromtimestamp(st.st_mtime, UTC))

    def read_if_changed(self, key: str, etag: str | None) -> tuple[bytes | None, str | None]:
        current = self.stat(key).etag
        if etag is not None and current == etag:
            return None, etag
        # The tag read before the bytes: if the file is replaced in between, the next call reads again.
        return self.read_bytes(key), current

    def download(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(self._path(key), dest)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(f"{self.uri}/{key}") from None
        return dest

    def upload(self, src: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    # --- conditional writes (issue 10): create-if-absent and compare-and-swap -----------------------

    def create_if_absent(self, key: str, data: bytes) -> bool:
        """Write a temp file, then ``link`` it to the key: the link fails if the key exists (atomic on
        POSIX, like O_EXCL) and the object is complete the moment it is visible."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            except OSError as exc:
                raise StorageError(f"creating {self.uri}/{key}: {exc}") from exc
            return True
        finally:
            Path(tmp).unlink(missing_ok=True)

    def replace_if_unchanged(self, key: str, data: bytes, etag: str) -> bool:
        target = self._path(key)
        with self._key_lock(target):
            if not self._etag_is(key, etag):
                return False
            self.write_bytes(key, data)
            return True

    def delete_if_unchanged(self, key: str, etag: str) -> bool:
        target = self._path(key)
        with self._key_lock(target):
            if not self._etag_is(key, etag):
                return False
            target.unlink(missing_ok=True)
            return True

    def _etag_is(self, key: str, etag: str) -> bool:
        try:
            return self.stat(key).etag == etag
        except FileNotFoundError:
            return False

    @contextlib.contextmanager
    def _key_lock(self, target: Path) -> Iterator[None]:
        """An exclusive ``flock`` on a hidden lock file beside the key (``.tmp-`` names are never
        listed): compare-and-swap is atomic between threads and processes. The file exists only
        while held: it is unlinked before it is unlocked, and a waiter that then wins the lock on
        the unlinked file sees another inode at the path and tries again."""
        target.parent.mkdir(parents=True, exist_ok=True)
        path = target.parent / f".tmp-lock-{target.name}"
        while True:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            os.close(fd)


def _etag(st: os.stat_result) -> str:
    """A cheap change tag (size + mtime), enough to tell a cached copy is stale."""
    return hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode(), usedforsecurity=False).hexdigest()
