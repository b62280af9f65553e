"""Readers' entry to the lake: ``connect(lake, tables=...)`` and ``read_table(lake, name, ...)``.

The API, the dashboard and training read the lake through this module. It imports nothing heavy
(duckdb on first use, no pyarrow or pandas) and answers plain Python rows.

A ``LakeReader`` is meant to live as long as its process (a Lambda container): it keeps one DuckDB
database in memory, loads each versioned table (analytics, predictions) the first time it is asked
for, and revalidates the table's pointer by its ETag at most every ``revalidate_seconds`` (a
conditional GET on S3, a stat locally), loading the table again only when a new version was
published. Curated tables (sales, stores, ...) are views over their files, listed again on the same
schedule.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from retail_lake import schemas
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, register_parquet, sql_identifier, sql_literal
from retail_lake.layout import CURATED_PREFIXES, pointer_key, versioned_prefix
from retail_lake.mirror import readable_file, readable_files, reads_s3_directly
from retail_lake.storage import Storage, open_storage
from retail_lake.views import CURATED_TABLES, register_curated

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "LakeReader",
    "Page",
    "TableNotReady",
    "TableVersion",
    "UnknownColumn",
    "connect",
    "read_table",
    "readable_tables",
    "reader",
    "register_tables",
    "versioned_tables",
]


class TableNotReady(LookupError):
    """A versioned table has not been published yet (the job that computes it has not run)."""

    def __init__(self, table: str) -> None:
        super().__init__(f"table {table!r} has not been computed yet")
        self.table = table


class UnknownColumn(ValueError):
    """A sort or column name that the table does not have."""


@dataclass(frozen=True)
class TableVersion:
    """What a reader knows of one table: the version it serves (None: not published)."""

    table: str
    run_id: str | None
    rows: int | None
    computed_at: str | None
    key: str | None = None

    @property
    def tag(self) -> str:
        return f"{self.table}@{self.run_id or '-'}"


@dataclass
class Page:
    """One page of a table: ``rows`` are dicts keyed by column name, ``total`` counts every match."""

    table: str
    columns: list[str]
    rows: list[dict[str, Any]]
    total: int
    limit: int | None
    offset: int
    versions: dict[str, TableVersion] = field(default_factory=dict)


def versioned_tables() -> list[str]:
    """Tables published as versions behind a pointer (analytics and prediction tables)."""
    return [name for name, spec in schemas.all_tables().items() if spec.versioned]


def readable_tables() -> list[str]:
    """Every table name a reader answers: curated, versioned and the append-only ones."""
    return sorted(set(CURATED_TABLES) | set(schemas.all_tables()))


def connect(lake: str | Storage | None = None, settings: Settings | None = None, *,
            tables: Iterable[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB connection where the lake's tables answer SQL by their DESIGN names.

    ``tables`` limits what is registered (default: every table); versioned tables are views on
    their current version's file, a table not computed yet an empty view with its columns.
    """
    settings = settings or Settings.from_env()
    storage = _storage(lake, settings)
    names = list(tables) if tables is not None else readable_tables()
    unknown = [n for n in names if n not in CURATED_TABLES and n not in schemas.all_tables()]
    if unknown:
        raise KeyError(f"unknown table(s): {', '.join(unknown)}")
    con = new_duckdb(settings)
    register_tables(con, storage, names, settings)
    return con


def register_tables(con: duckdb.DuckDBPyConnection, storage: Storage, names: Iterable[str],
                    settings: Settings | None = None) -> None:
    """Register lake tables on an existing connection (views; what ``connect`` does)."""
    settings = settings or Settings.from_env()
    names = list(names)
    curated = [n for n in names if n in CURATED_TABLES]
    if curated:
        register_curated(con, storage, settings, tables=curated)
    for name in names:
        if name in CURATED_TABLES:
            continue
        spec = schemas.table(name)
        if spec.versioned:
            pointer = _read_pointer(storage, name)
            if pointer is None:
                con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {spec.empty_select_sql()}")
            else:
                path = _version_file(con, storage, name, pointer, settings)
                source = f"read_parquet({sql_literal(path)})"
                con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS "
                            f"{spec.typed_select(source, partitions=False)}")
        else:  # append-only files under the table's location (analytics_runs)
            files = readable_files(con, storage, versioned_prefix(name), settings)
            register_parquet(con, name, files, spec, hive=False)


def _storage(lake: str | Storage | None, settings: Settings) -> Storage:
    if lake is None:
        return open_storage(settings.lake)
    return open_storage(lake) if isinstance(lake, str) else lake


def _read_pointer(storage: Storage, table: str) -> dict[str, Any] | None:
    try:
        return json.loads(storage.read_bytes(pointer_key(table)))
    except FileNotFoundError:
        return None


def _version_file(con: duckdb.DuckDBPyConnection, storage: Storage, table: str, pointer: dict[str, Any],
                  settings: Settings) -> str:
    """The pointer's version file as ``con`` reads it: an ``s3://`` URL with httpfs (checked to
    exist with one HEAD), else a local path (the file itself, or its cached copy)."""
    def locate(key: str) -> str:
        if reads_s3_directly(storage, settings):
            storage.stat(key)  # FileNotFoundError now rather than an HTTP 404 inside DuckDB later
        return readable_file(con, storage, key, settings)

    try:
        return locate(pointer["key"])
    except FileNotFoundError:  # two newer runs removed it since the pointer was read: read it again
        fresh = _read_pointer(storage, table) or pointer
        return locate(fresh["key"])


# --- the long-lived reader -------------------------------------------------------------------


@dataclass
class _Loaded:
    version: TableVersion
    etag: str | None
    checked: float


class LakeReader:
    """A lake opened for reading by a long-lived process (one per Lambda container).

    Thread-safe: each query runs on its own DuckDB cursor; loading a new version takes a lock.
    """

    def __init__(self, lake: str | Storage | None = None, settings: Settings | None = None, *,
                 revalidate_seconds: float | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.storage = _storage(lake, self.settings)
        self.revalidate_seconds = (self.settings.reader_revalidate_seconds if revalidate_seconds is None
                                   else revalidate_seconds)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.RLock()
        self._loaded: dict[str, _Loaded] = {}

    # connection ---------------------------------------------------------------------------------

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            with self._lock:
                if self._con is None:
                    self._con = new_duckdb(self.settings)
        return self._con

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
            self._loaded.clear()

    # versions -----------------------------------------------------------------------------------

    def version(self, table: str) -> TableVersion:
        """The version this reader serves for ``table`` (loading or refreshing it as needed)."""
        self._ensure(table)
        return self._loaded[table].version

    def versions(self, tables: Iterable[str]) -> dict[str, TableVersion]:
        return {t: self.version(t) for t in tables}

    def require(self, tables: Iterable[str]) -> dict[str, TableVersion]:
        """Like ``versions``, but raise TableNotReady for a versioned table not published yet."""
        out = self.versions(tables)
        for name, version in out.items():
            if version.run_id is None and schemas.table(_spec_name(name)).versioned:
                raise TableNotReady(name)
        return out

    def _ensure(self, table: str) -> None:
        if table not in CURATED_TABLES and table not in schemas.all_tables():
            raise KeyError(f"unknown table {table!r}")
        now = time.monotonic()
        loaded = self._loaded.get(table)
        if loaded is not None and now - loaded.checked < self.revalidate_seconds:
            return
        with self._lock:
            loaded = self._loaded.get(table)
            if loaded is not None and time.monotonic() - loaded.checked < self.revalidate_seconds:
                return
            if table in CURATED_TABLES:
                self._load_curated(table, loaded)
            elif schemas.table(table).versioned:
                self._load_versioned(table, loaded)
            else:
                self._load_appended(table, loaded)

    def _load_versioned(self, table: str, loaded: _Loaded | None) -> None:
        spec = schemas.table(table)
        try:
            data, etag = self.storage.read_if_changed(pointer_key(table), loaded.etag if loaded else None)
        except FileNotFoundError:
            if loaded is None or loaded.version.run_id is not None:  # an empty table with the columns
                self.con.execute(f"CREATE OR REPLACE TABLE {sql_identifier(table)} AS {spec.empty_select_sql()}")
            self._loaded[table] = _Loaded(TableVersion(table, None, None, None), None, time.monotonic())
            return
        if data is None and loaded is not None:  # unchanged pointer
            loaded.checked = time.monotonic()
            return
        pointer = json.loads(data)
        path = _version_file(self.con, self.storage, table, pointer, self.settings)
        source = f"read_parquet({sql_literal(path)})"
        # Materialised in memory: the tables are small and every request then reads RAM, not Parquet.
        self.con.execute(f"CREATE OR REPLACE TABLE {sql_identifier(table)} AS "
                         f"{spec.typed_select(source, partitions=False)}")
        version = TableVersion(table, pointer.get("run_id"), pointer.get("rows"), pointer.get("written_at"),
                               pointer.get("key"))
        self._loaded[table] = _Loaded(version, etag, time.monotonic())

    def _load_curated(self, table: str, loaded: _Loaded | None) -> None:
        prefixes = [CURATED_PREFIXES["sales_versions"]] if table in ("sales", "sales_versions") else [
            CURATED_PREFIXES[table]]
        listing = sorted((o.key, o.etag or str(o.size)) for p in prefixes for o in self.storage.list(p))
        digest = hashlib.sha1(repr(listing).encode()).hexdigest()[:16]
        if loaded is not None and loaded.etag == digest:
            loaded.checked = time.monotonic()
            return
        register_curated(self.con, self.storage, self.settings, tables=[table])
        rows = self.con.execute(f"SELECT COUNT(*) FROM {sql_identifier(table)}").fetchone()[0]
        version = TableVersion(table, digest if listing else None, int(rows), None)
        self._loaded[table] = _Loaded(version, digest, time.monotonic())
        if table == "sales":  # sales_versions was (re)registered with it
            self._loaded["sales_versions"] = _Loaded(TableVersion("sales_versions", version.run_id, None, None),
                                                     digest, time.monotonic())

    def _load_appended(self, table: str, loaded: _Loaded | None) -> None:
        prefix = versioned_prefix(table)
        listing = sorted((o.key, o.etag or str(o.size)) for o in self.storage.list(prefix))
        digest = hashlib.sha1(repr(listing).encode()).hexdigest()[:16]
        if loaded is not None and loaded.etag == digest:
            loaded.checked = time.monotonic()
            return
        register_parquet(self.con, table, readable_files(self.con, self.storage, prefix, self.settings),
                         schemas.table(table), hive=False)
        version = TableVersion(table, digest if listing else None, len(listing), None)
        self._loaded[table] = _Loaded(version, digest, time.monotonic())

    # queries ------------------------------------------------------------------------------------

    def columns(self, table: str) -> list[str]:
        spec = schemas.table(_spec_name(table))
        return [c.name for c in (spec.all_columns if table in CURATED_TABLES else spec.columns)]

    def read(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        params: Sequence[Any] = (),
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        count: bool = True,
        require: bool = True,
    ) -> Page:
        """One page of ``table``.

        ``where`` is a SQL condition with ``?`` placeholders bound to ``params`` (never format
        values into it); ``order_by`` is a column name, ``-name`` for descending, or a list of them,
        checked against the table's columns. With ``require``, a versioned table not published yet
        raises TableNotReady.
        """
        versions = self.require([table]) if require else self.versions([table])
        known = self.columns(table)
        cols = list(columns) if columns else known
        bad = [c for c in cols if c not in known]
        if bad:
            raise UnknownColumn(f"{table} has no column(s) {', '.join(bad)}")
        select = ", ".join(sql_identifier(c) for c in cols)
        sql = f"SELECT {select} FROM {sql_identifier(table)}"
        if where:
            sql += f" WHERE {where}"
        order = self.order_clause(table, order_by)
        if order:
            sql += f" ORDER BY {order}"
        page_sql = sql
        if limit is not None:
            page_sql += f" LIMIT {int(limit)}"
        if offset:
            page_sql += f" OFFSET {int(offset)}"
        cur = self.con.cursor()
        try:
            rows = cur.execute(page_sql, list(params)).fetchall()
            if count and (limit is not None or offset):
                if not rows and not offset:
                    total = 0
                elif limit is not None and len(rows) < limit and offset == 0:
                    total = len(rows)
                else:
                    count_sql = f"SELECT COUNT(*) FROM {sql_identifier(table)}" + (f" WHERE {where}" if where else "")
                    total = cur.execute(count_sql, list(params)).fetchone()[0]
            else:
                total = len(rows) + offset
        finally:
            cur.close()
        return Page(table, cols, [dict(zip(cols, r, strict=True)) for r in rows], int(total), limit, offset,
                    versions)

    def order_clause(self, table: str, order_by: str | Sequence[str] | None) -> str:
        """``"a" DESC, "b"`` from ``["-a", "b"]``; UnknownColumn for a name the table lacks.

        The table's first column is appended as a tie-breaker so pages never overlap.
        """
        if not order_by:
            return ""
        items = [order_by] if isinstance(order_by, str) else list(order_by)
        known = self.columns(table)
        parts = []
        for item in items:
            name, desc = (item[1:], True) if item.startswith("-") else (item.lstrip("+"), False)
            if name not in known:
                raise UnknownColumn(f"cannot sort {table} by {name!r} (columns: {', '.join(known)})")
            parts.append(f"{sql_identifier(name)}{' DESC' if desc else ''} NULLS LAST")
        first = known[0]
        if not any(p.startswith(sql_identifier(first)) for p in parts):
            parts.append(sql_identifier(first))
        return ", ".join(parts)

    def sql(self, query: str, params: Sequence[Any] = (), *, tables: Iterable[str],
            require: bool = True) -> tuple[list[str], list[tuple]]:
        """Run a query that reads ``tables`` (each loaded or refreshed first); (column names, rows)."""
        names = list(tables)
        if require:
            self.require(names)
        else:
            self.versions(names)
        cur = self.con.cursor()
        try:
            result = cur.execute(query, list(params))
            cols = [d[0] for d in result.description]
            return cols, result.fetchall()
        finally:
            cur.close()


def _spec_name(table: str) -> str:
    return "sales" if table == "sales_versions" else table


_READERS: dict[str, LakeReader] = {}
_READERS_LOCK = threading.Lock()


def reader(lake: str | Storage | None = None, settings: Settings | None = None) -> LakeReader:
    """The process-wide reader of a lake (created on first use, then reused)."""
    settings = settings or Settings.from_env()
    storage = _storage(lake, settings)
    with _READERS_LOCK:
        existing = _READERS.get(storage.uri)
        if existing is None:
            existing = _READERS[storage.uri] = LakeReader(storage, settings)
        return existing


def read_table(lake: str | Storage | None, name: str, *, columns: Sequence[str] | None = None,
               where: str | None = None, params: Sequence[Any] = (), order_by: str | Sequence[str] | None = None,
               limit: int | None = None, offset: int = 0) -> Page:
    """One page of a lake table by its DESIGN name, through the process-wide reader of that lake."""
    return reader(lake).read(name, columns=columns, where=where, params=params, order_by=order_by,
                             limit=limit, offset=offset)
