"""DuckDB connections, SQL text helpers and the httpfs extension, shared by every job (ingest,
analytics, readers).

Importing this module does not import duckdb: the API's cold start pays for DuckDB only when the
first connection is opened.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_lake.config import Settings

if TYPE_CHECKING:
    import duckdb

    from retail_lake import schemas

__all__ = [
    "HttpfsUnavailable",
    "enable_s3",
    "httpfs_extension_path",
    "new_duckdb",
    "one_thread",
    "parquet_files",
    "read_sql",
    "register_parquet",
    "s3_reads_mode",
    "s3_secret_sql",
    "sql_identifier",
    "sql_literal",
    "threads",
]


def sql_literal(value: str) -> str:
    """A SQL string literal ('it''s')."""
    return "'" + value.replace("'", "''") + "'"


def sql_value(value: Any) -> str:
    """A typed SQL literal for a Python value: NULL, a boolean, an integer, a DOUBLE (non-finite ones
    too), a DATE, a TIMESTAMP (UTC, no zone) or a string. Portable to Athena (DuckDB and Trino both
    read ``DATE '2024-01-31'`` and ``CAST(1.5 AS DOUBLE)``)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"CAST({value!r} AS DOUBLE)" if math.isfinite(value) else f"CAST('{value!r}' AS DOUBLE)"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"TIMESTAMP {sql_literal(value.isoformat(sep=' '))}"
    if isinstance(value, date):
        return f"DATE {sql_literal(value.isoformat())}"
    return sql_literal(str(value))


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier ("rank")."""
    return '"' + name.replace('"', '""') + '"'


def read_sql(relative: str) -> str:
    """Text of a SQL file shipped in the package (``views/sales.sql``)."""
    return resources.files("retail_lake").joinpath("sql", relative).read_text(encoding="utf-8")


def new_duckdb(
    settings: Settings | None = None, database: str = ":memory:", *, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the memory limit, threads and spill folder from settings.

    ``memory_limit`` is the caller's default when settings do not set one: DuckDB spills to the temp
    folder beyond it, which is what keeps memory flat as files grow.
    """
    import duckdb

    settings = settings or Settings.from_env()
    con = duckdb.connect(database)
    # No progress bar drawn on the terminal by DuckDB itself: callers report progress their way.
    con.execute("SET enable_progress_bar = false")
    spill = settings.tmp_dir / "retail-lake-duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {sql_literal(str(spill))}")
    limit = settings.duckdb_memory_limit or memory_limit
    if limit:
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
    if settings.duckdb_threads:
        con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    return con


def threads(con: duckdb.DuckDBPyConnection) -> int:
    """The threads DuckDB runs a query on."""
    return int(con.execute("SELECT current_setting('threads')").fetchone()[0])


@contextmanager
def one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Queries in the block run on one DuckDB thread each (an ordered copy; several copies run side
    by side from Python threads); the setting is restored after."""
    before = threads(con)
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {before}")


def parquet_files(root: Path) -> list[str]:
    """The Parquet files under a local folder (sorted; temp files of a writer in progress excluded)."""
    return sorted(str(p) for p in root.rglob("*.parquet") if not p.name.startswith(".tmp-"))


def register_parquet(con: duckdb.DuckDBPyConnection, name: str, files: list[str], spec: schemas.Table,
                     hive: bool) -> None:
    """A view ``name`` over Parquet files, typed by the table's schema (an empty typed view for no files)."""
    if not files:
        con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {spec.empty_select_sql()}")
        return
    file_list = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    hive_opts = ", hive_partitioning = true, hive_types_autocast = false" if hive else ""
    source = f"read_parquet({file_list}, union_by_name = true{hive_opts})"
    con.execute(f"CREATE OR REPLACE VIEW {sql_identifier(name)} AS {spec.typed_select(source)}")


# --- S3 through DuckDB's httpfs extension --------------------------------------------------------
#
# DuckDB cannot download its extensions here (nor in a locked-down Lambda), but the signed builds
# install from PyPI: the package ``duckdb-extension-httpfs`` holds
# ``duckdb_extension_httpfs/extensions/v<duckdb version>/httpfs.duckdb_extension`` (its
# ``__init__`` is empty) and DuckDB LOADs it by path with signature checks on. The package exists
# for DuckDB 1.5.x only, and a build loads only into the DuckDB version it was built for, so the
# project pins the two together (docs/DECISIONS.md, "DuckDB version").

HTTPFS_PACKAGE = "duckdb_extension_httpfs"
S3_SECRET = "retail_lake_s3"
S3_READS_MODES = ("auto", "httpfs", "mirror")


class HttpfsUnavailable(RuntimeError):
    """S3_READS=httpfs, but the httpfs extension for this DuckDB version is not installed."""


def httpfs_extension_path() -> Path | None:
    """The httpfs extension file for the running DuckDB, from the installed package; None without one.

    Looked up without importing the package, and only for this DuckDB version's folder: a build for
    another version would refuse to load.
    """
    import importlib.util

    import duckdb

    try:
        spec = importlib.util.find_spec(HTTPFS_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
        if candidate.is_file():
            return candidate
    return None


def s3_reads_mode(settings: Settings | None = None) -> str:
    """How DuckDB reads an S3 lake: ``'httpfs'`` (s3:// URLs, range requests) or ``'mirror'``
    (objects copied into the temp folder first, retail_lake.mirror).

    ``S3_READS=auto`` (the default) takes httpfs when its extension is installed for this DuckDB.
    """
    settings = settings or Settings.from_env()
    mode = settings.s3_reads
    if mode not in S3_READS_MODES:
        raise ValueError(f"S3_READS={mode!r} is not one of {', '.join(S3_READS_MODES)}")
    if mode == "mirror":
        return "mirror"
    if httpfs_extension_path() is not None:
        return "httpfs"
    if mode == "httpfs":
        raise _httpfs_unavailable()
    return "mirror"


def _httpfs_unavailable() -> HttpfsUnavailable:
    import duckdb

    return HttpfsUnavailable(
        f"S3_READS=httpfs needs the httpfs extension built for DuckDB {duckdb.__version__}: the package "
        f"duckdb-extension-httpfs=={duckdb.__version__} (it exists for DuckDB 1.5.x; the project pins "
        "duckdb==1.5.5 with it); or set S3_READS=mirror (or auto) to copy objects into the temp folder"
    )


_CREDENTIAL_SESSIONS: dict[tuple[str | None, ...], Any] = {}
_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                   "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


def _aws_credentials() -> tuple[str, str, str | None] | None:
    """(key id, secret, session token) from the AWS SDK's chain: environment variables (a Lambda
    role's session credentials are there), profile, container or instance role; None when none.

    Resolved by botocore, as boto3 does for the rest of the lake, so both see the same identity.
    One botocore session per credential environment: the chain (which may ask an instance
    metadata endpoint) runs once, and refreshable credentials are refreshed when due.
    """
    credentials = _botocore_session().get_credentials()
    if credentials is None:
        return None
    frozen = credentials.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token or None


def _botocore_session() -> Any:
    import os

    import botocore.session

    env_key = tuple(os.environ.get(name) for name in _CREDENTIAL_ENV)
    session = _CREDENTIAL_SESSIONS.get(env_key)
    if session is None:
        session = _CREDENTIAL_SESSIONS[env_key] = botocore.session.get_session()
    return session


def s3_secret_sql(settings: Settings | None = None) -> str:
    """``CREATE OR REPLACE SECRET`` for the lake's S3: endpoint, region and credentials from the
    environment, as boto3 would use them.

    AWS_ENDPOINT_URL (moto's server, LocalStack) gives the endpoint, path-style URLs (those servers
    have no per-bucket host names) and SSL from its scheme; without it, AWS's own endpoint.
    """
    from urllib.parse import urlsplit

    settings = settings or Settings.from_env()
    region = settings.aws_region or _botocore_session().get_config_variable("region") or "us-east-1"
    options = ["TYPE s3", f"REGION {sql_literal(region)}"]
    credentials = _aws_credentials()
    if credentials is not None:
        key_id, secret, token = credentials
        options += [f"KEY_ID {sql_literal(key_id)}", f"SECRET {sql_literal(secret)}"]
        if token:
            options.append(f"SESSION_TOKEN {sql_literal(token)}")
    if settings.aws_endpoint_url:
        endpoint = urlsplit(settings.aws_endpoint_url)
        if not endpoint.netloc:
            raise ValueError(f"AWS_ENDPOINT_URL={settings.aws_endpoint_url!r} is not a URL (http://host:port)")
        options += [
            f"ENDPOINT {sql_literal(endpoint.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}",
        ]
    return f"CREATE OR REPLACE SECRET {S3_SECRET} ({', '.join(options)})"


def enable_s3(con: duckdb.DuckDBPyConnection, settings: Settings | None = None) -> None:
    """Make ``con`` read ``s3://`` URLs: load httpfs by path (once per database) and (re)create the
    S3 secret, so rotated credentials are picked up each time a reader loads files.

    Cursors of ``con`` share both. Raises HttpfsUnavailable without the extension.
    """
    settings = settings or Settings.from_env()
    loaded = con.execute(
        "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
    ).fetchone()
    if not (loaded and loaded[0]):
        path = httpfs_extension_path()
        if path is None:
            raise _httpfs_unavailable()
        con.execute(f"LOAD {sql_literal(str(path))}")
    con.execute(s3_secret_sql(settings))
