"""The API's view of the lake: one long-lived ``LakeReader`` plus what makes a warm answer cheap.

Table versions are immutable, so an answer is a function of (URL, versions of the tables it read).
That pair is the answer's ETag, and the rendered body is kept under it (an LRU bounded in bytes):
a repeated request costs a dictionary lookup, a new version of a table changes the ETag and so
misses. Point lookups (a customer) read an in-memory table with an ART index on its key; totals of
a filtered list are kept per version too.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retail_lake import schemas
from retail_lake.api._errors import NotReady
from retail_lake.config import Settings
from retail_lake.duck import sql_identifier
from retail_lake.query import LakeReader, TableNotReady, TableVersion, reader

if TYPE_CHECKING:
    from retail_lake.storage import Storage

# Rendered answers kept per container (bytes of bodies, gzip copies included).
RESPONSE_CACHE_BYTES = 48 * 1024 * 1024
# A body over this size is not kept (a few such would push out hundreds of small ones).
RESPONSE_CACHE_ENTRY_MAX = 4 * 1024 * 1024
GZIP_MIN_BYTES = 1024


@dataclass
class Rendered:
    """A rendered 200 answer: its body, media type, extra headers and (once asked for) its gzip copy."""

    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)
    _gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=5, mtime=0)
        return self._gzipped

    @property
    def size(self) -> int:
        return len(self.body) + (len(self._gzipped) if self._gzipped else 0)


class ResponseCache:
    """ETag -> Rendered, least recently used out first, bounded by the bytes held."""

    def __init__(self, max_bytes: int = RESPONSE_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> Rendered | None:
        with self._lock:
            found = self._items.get(etag)
            if found is not None:
                self._items.move_to_end(etag)
            return found

    def put(self, etag: str, rendered: Rendered) -> None:
        if rendered.size > min(RESPONSE_CACHE_ENTRY_MAX, self.max_bytes):
            return
        with self._lock:
            old = self._items.pop(etag, None)
            if old is not None:
                self._bytes -= old.size
            self._items[etag] = rendered
            self._bytes += rendered.size
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size

    def grew(self, etag: str, rendered: Rendered, before: int) -> None:
        """Account for a gzip copy made after the entry was stored."""
        with self._lock:
            if self._items.get(etag) is rendered:
                self._bytes += rendered.size - before

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class ApiLake:
    """The lake as the API reads it (one per process; thread-safe)."""

    def __init__(self, lake: str | Storage | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.reader: LakeReader = reader(lake if lake is not None else self.settings.lake, self.settings)
        self.cache = ResponseCache(self.settings.api_answer_cache_bytes)
        self._lock = threading.Lock()
        self._indexed: dict[tuple[str, str], str] = {}
        self._totals: dict[tuple[Any, ...], int] = {}
        self._local = threading.local()

    @property
    def uri(self) -> str:
        return self.reader.storage.uri

    # versions ----------------------------------------------------------------------------------

    def require(self, tables: Iterable[str]) -> dict[str, TableVersion]:
        """The versions served for ``tables``; NotReady (503) for one not computed or not defined yet."""
        names = list(tables)
        known = schemas.all_tables()
        for name in names:
            if name not in known:  # e.g. a prediction table before training ships its lake_schemas file
                raise NotReady(name, f"table {name!r} is not defined in this lake (no lake_schemas/{name}.yaml): "
                               "it has not been trained or computed yet")
        try:
            return self.reader.require(names)
        except TableNotReady as exc:
            raise NotReady(exc.table) from None
        except KeyError as exc:  # "no such table in lake_schemas" raised below the reader
            raise NotReady(names[0], f"table not available: {exc.args[0] if exc.args else exc}") from None

    def ready(self, table: str) -> bool:
        """Whether ``table`` can be read now (defined and published)."""
        try:
            self.require([table])
        except NotReady:
            return False
        return True

    # reads -------------------------------------------------------------------------------------

    def rows(self, table: str, *, where: str | None = None, params: Sequence[Any] = (),
             order_by: str | Sequence[str] | None = None, limit: int | None = None, offset: int = 0,
             columns: Sequence[str] | None = None) -> tuple[list[str], list[dict[str, Any]], int]:
        """(columns, rows, total) of one page of ``table``; the total of a filter is kept per version."""
        page = self.reader.read(table, columns=columns, where=where, params=params, order_by=order_by,
                                limit=limit, offset=offset, count=False)
        version = page.versions[table]
        found = len(page.rows)
        if found and (limit is None or found < limit):  # the last page: everything before it was skipped
            total = offset + found
        elif not found and not offset:
            total = 0
        elif not where and version.rows is not None:
            total = int(version.rows)
        else:
            total = self.total(table, version, where, params)
        return page.columns, page.rows, total

    def total(self, table: str, version: TableVersion, where: str | None, params: Sequence[Any]) -> int:
        key = (table, version.run_id, where, tuple(params))
        found = self._totals.get(key)
        if found is None:
            sql = f"SELECT COUNT(*) AS n FROM {sql_identifier(table)}" + (f" WHERE {where}" if where else "")
            found = int(self.sql(sql, params, tables=[table])[0]["n"])
            with self._lock:
                if len(self._totals) > 10_000:
                    self._totals.clear()
                self._totals[key] = found
        return found

    def sql(self, query: str, params: Sequence[Any] = (), *, tables: Iterable[str]) -> list[dict[str, Any]]:
        """Rows of a query over ``tables`` (each checked ready first) as dicts."""
        self.require(tables)
        cur = self._cursor()
        result = cur.execute(query, list(params))
        cols = [d[0] for d in result.description]
        return [dict(zip(cols, r, strict=True)) for r in result.fetchall()]

    def lookup(self, table: str, column: str, value: Any) -> dict[str, Any] | None:
        """The first row of ``table`` whose ``column`` equals ``value`` (through an ART index)."""
        found = self.lookup_all(table, column, value)
        return found[0] if found else None

    def lookup_all(self, table: str, column: str, value: Any, order_by: str | None = None) -> list[dict[str, Any]]:
        """The rows of ``table`` whose ``column`` equals ``value`` (an ART index lookup, not a scan)."""
        self.require([table])
        self.ensure_index(table, column)
        order = f" ORDER BY {sql_identifier(order_by)}" if order_by else ""
        return self.sql(f"SELECT * FROM {sql_identifier(table)} WHERE {sql_identifier(column)} = ?{order}", [value],
                        tables=[table])

    def _cursor(self) -> Any:
        """This thread's cursor on the reader's database (a cursor per call costs ~0.1 ms more)."""
        con = self.reader.con
        local = self._local
        if getattr(local, "con", None) is not con:
            local.cursor, local.con = con.cursor(), con
        return local.cursor

    def ensure_index(self, table: str, column: str) -> None:
        """An ART index on ``table.column`` for the version being served (a new version drops it)."""
        run_id = self.reader.version(table).run_id
        if run_id is None or self._indexed.get((table, column)) == run_id:
            return
        with self._lock:
            if self._indexed.get((table, column)) == run_id:
                return
            cur = self.reader.con.cursor()
            try:
                cur.execute(f"CREATE INDEX IF NOT EXISTS {sql_identifier(f'{table}__{column}')} "
                            f"ON {sql_identifier(table)} ({sql_identifier(column)})")
            finally:
                cur.close()
            self._indexed[(table, column)] = run_id


_LAKES: dict[str, ApiLake] = {}
_LAKES_LOCK = threading.Lock()


def api_lake(settings: Settings) -> ApiLake:
    """The process-wide ApiLake for ``settings`` (module-scope state in a Lambda container)."""
    key = repr(settings)
    with _LAKES_LOCK:
        found = _LAKES.get(key)
        if found is None:
            found = _LAKES[key] = ApiLake(settings.lake, settings)
        return found
