"""The compiled analytics SQL, remembered between runs (so sqlglot is neither imported nor run).

Everything the DuckDB engine derives from a statement's text with sqlglot - the relations it reads
and the CTEs it defines (``_rewrites.relations_read``), the rewrites an ANALYTICS_REWRITES value
names, and the SQL the enabled rewrites generate for the run's facts - is a pure function of its
inputs. ``Memo`` keeps those results in one small JSON file, keyed by a SHA-256 of every input:

- the statement's full text (the SQL files, the reference relations and the shared intermediates
  rendered into it, the typed wrapper: whatever ``_sql`` produced);
- the enabled rewrites, in order, and every field of ``RunFacts`` (the customer keys' bound, whether
  every invoice is one line, whether money sums fit DECIMAL(18, 4), the held intermediates and the
  text of their definitions);
- the code that computes the result: the bytes of ``_rewrites.py`` (the rewrites, the parser and
  generator settings), of ``_sql.py``, this module and ``sql/_shared/*.sql`` (the definitions the
  rewrites compare CTEs with), of sqlglot's version file, and ``FORMAT``.

So a result is reused only for exactly the inputs it was computed from; anything else (a changed
file, another customer count, another sqlglot) is a miss, computed and then remembered. A missing,
unreadable or corrupt file, or an entry of the wrong shape, is a miss too: the run compiles as if
there were no cache. The file is replaced atomically (a temporary file in the same folder, then
``os.replace``), so concurrent runs each read a complete file; when two write, the last one wins
(it merges what is on disk first, so usually neither loses entries). At most ``MAX_ENTRIES`` are
kept, the most recently used.

Where: ``ANALYTICS_SQL_CACHE`` (a folder, or ``none`` to turn the cache off), else
``$XDG_CACHE_HOME/retail-lake``, else ``retail-lake-<uid>`` in the temp folder (Lambda: /tmp, kept
while the container is warm). The folder is created private (0700) and used only when it belongs to
this user and nobody else can write to it: a cached statement is run as it is.

This module imports no sqlglot; ``_rewrites`` is imported only on a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
MAX_ENTRIES = 160
FILE_NAME = "analytics-sql.json"


@dataclass
class RunFacts:
    """What the engine knows about the run's data, which decides where a rewrite applies."""

    # Every customer_key is in 1..customer_key_bound: the number of customers rounded up to one of
    # 16-32 steps per power of two (0: not known yet), so that a run on a lake that gained a few
    # customers since the last one still finds its compiled statements (see key_bound).
    customer_key_bound: int = 0
    one_line_invoices: bool = False  # the load check found no invoice with several rows
    # The sum of |price| over every line of sales is below 10^14, the bound of DECIMAL(18, 4)
    # (narrow_money_sums).
    money_sums_fit: bool = False
    held: dict[str, str] = field(default_factory=dict)  # shared intermediate -> relation holding its rows
    definitions: dict[str, str] = field(default_factory=dict)  # shared intermediate -> its SELECT (text)

    def key(self) -> str:
        """Every field, canonically (part of a compiled statement's cache key)."""
        return json.dumps([self.customer_key_bound, self.one_line_invoices, self.money_sums_fit,
                           sorted(self.held.items()), sorted(self.definitions.items())])


def key_bound(customers: int) -> int:
    """RunFacts.customer_key_bound: ``customers`` rounded up to a multiple of a step of 1/16 to 1/32
    of it (a power of two), so the bitmaps are at most ~6 % larger than needed (0 for none)."""
    step = 1 << max(0, customers.bit_length() - 5)
    return -(-customers // step) * step


def default_folder() -> Path | None:
    """The cache folder (see the module docstring); None when ANALYTICS_SQL_CACHE is ``none``."""
    configured = os.environ.get("ANALYTICS_SQL_CACHE", "").strip()
    if configured.lower() in ("none", "off", "0"):
        return None
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg:
        return Path(xdg) / "retail-lake"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"retail-lake-{uid}"


def _private_folder(folder: Path) -> bool:
    """Create ``folder`` (0700) if needed; True when it is this user's and only this user writes to it."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return False
    if not hasattr(os, "getuid"):
        return stat.S_ISDIR(info.st_mode)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def _code_salt() -> str:
    """The code the cached results come from: this module, _rewrites.py, _sql.py and the shared
    intermediates' files (rewrites compare CTEs with their definitions) and sqlglot's version file."""
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    here = Path(__file__).parent
    for path in (here / "_compiled.py", here / "_rewrites.py", here / "_sql.py",
                 *sorted((here / "sql" / "_shared").glob("*.sql"))):
        data = path.read_bytes()
        digest.update(path.name.encode() + len(data).to_bytes(8, "big") + data)
    spec = importlib.util.find_spec("sqlglot")
    folders = (spec.submodule_search_locations or []) if spec else []
    version_file = next((Path(p) / "_version.py" for p in folders), None)
    if version_file is not None and version_file.is_file():
        digest.update(version_file.read_bytes())
    else:  # no version file: ask sqlglot itself
        import sqlglot

        digest.update(str(sqlglot.__version__).encode())
    return digest.hexdigest()


class Memo:
    """Results derived from SQL text with sqlglot, kept in ``folder/analytics-sql.json`` (None: in
    memory only). Reads the file on first use; ``save()`` writes it back when something was added."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / FILE_NAME if folder is not None and _private_folder(folder) else None
        self._entries: dict[str, list[Any]] | None = None  # key -> [last used (epoch s), value]
        self._salt: str | None = None
        self._dirty = False
        self.hits = self.misses = 0

    def _load(self) -> dict[str, list[Any]]:
        if self._entries is None:
            self._entries = _read(self.path) if self.path is not None else {}
        return self._entries

    def _key(self, kind: str, *parts: str) -> str:
        if self._salt is None:
            self._salt = _code_salt()
        digest = hashlib.sha256(self._salt.encode())
        for part in (kind, *parts):  # length-prefixed: no two part lists give the same bytes
            data = part.encode()
            digest.update(len(data).to_bytes(8, "big") + data)
        return digest.hexdigest()

    def _get(self, key: str, valid: type) -> Any:
        entry = self._load().get(key)
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], valid):
            entry[0] = int(time.time())
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def _put(self, key: str, value: Any) -> None:
        self._load()[key] = [int(time.time()), value]
        self._dirty = True

    def _names(self, kind: str, sql: str) -> frozenset[str]:
        key = self._key(kind, sql)
        cached = self._get(key, list)
        if cached is not None and all(isinstance(n, str) for n in cached):
            return frozenset(cached)
        from retail_lake.analytics import _rewrites

        names = _rewrites.relations_read(sql) if kind == "relations_read" else _rewrites.ctes_defined(sql)
        self._put(key, sorted(names))
        return names

    def relations_read(self, sql: str) -> frozenset[str]:
        """``_rewrites.relations_read(sql)``: the relations ``sql`` reads from outside itself."""
        return self._names("relations_read", sql)

    def ctes_defined(self, sql: str) -> frozenset[str]:
        """``_rewrites.ctes_defined(sql)``: the CTEs ``sql`` defines."""
        return self._names("ctes_defined", sql)

    def enabled_rewrites(self, setting: str | None) -> tuple[str, ...]:
        """``_rewrites.enabled_rewrites(setting)``; an unknown name raises there (never cached)."""
        key = self._key("rewrites", (setting or "").strip().lower())
        cached = self._get(key, list)
        if cached is not None and all(isinstance(n, str) for n in cached):
            return tuple(cached)
        from retail_lake.analytics import _rewrites

        names = _rewrites.enabled_rewrites(setting)
        self._put(key, list(names))
        return names

    def compiled(self, sql: str, names: tuple[str, ...], facts: RunFacts) -> str:
        """``_rewrites.rewrite(sql, facts, names)``: the SQL the rewrites generate."""
        if not names:
            return sql
        key = self._key("compiled", sql, ",".join(names), facts.key())
        cached = self._get(key, str)
        if cached is not None:
            return cached
        from retail_lake.analytics import _rewrites

        out = _rewrites.rewrite(sql, facts, names)
        self._put(key, out)
        return out

    def save(self) -> None:
        """Write the file back (merged with what another run wrote meanwhile, the most recently used
        MAX_ENTRIES kept) when something was added; a failure to write only loses the cache."""
        if not self._dirty or self.path is None or self._entries is None:
            return
        merged = _read(self.path) | self._entries
        kept = dict(sorted(merged.items(), key=lambda item: item[1][0] if isinstance(item[1], list) and item[1]
                           and isinstance(item[1][0], int) else 0, reverse=True)[:MAX_ENTRIES])
        try:
            fd, temporary = tempfile.mkstemp(prefix=".analytics-sql-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"format": FORMAT, "entries": kept}, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError:
            return
        self._dirty = False


def _read(path: Path) -> dict[str, list[Any]]:
    """The entries of a cache file; {} when it is missing, unreadable or not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not (isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("entries"), dict)):
        return {}
    return data["entries"]


_memos: dict[Path | None, Memo] = {}


def memo() -> Memo:
    """The process's Memo for the configured folder (one per folder, so a warm Lambda keeps it)."""
    folder = default_folder()
    if folder not in _memos:
        _memos[folder] = Memo(folder)
    return _memos[folder]
