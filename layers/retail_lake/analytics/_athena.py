"""The Athena engine (``ANALYTICS_ENGINE=athena``): the same SQL files, run by Athena over the Glue tables.

Why UNLOAD and not CTAS: the workgroup in template.yaml enforces its result location, and Athena
fails a CTAS that names an ``external_location`` in such a workgroup (a CTAS would land under
``athena-results/tables/<query-id>/`` and need a temporary Glue table). UNLOAD writes to any S3
prefix, creates no catalog object and needs no Glue write beyond the location switch below.

Per table: the rendered DuckDB statement is transpiled to Athena (sqlglot, duckdb -> athena) and run
as ``UNLOAD (...) TO 's3://<lake>/analytics/<table>/run=<run_id>/'`` (zstd Parquet). Athena writes
one or more files with its own names; they are merged into the single ``part-0.parquet`` the
pointer names (DuckDB readers download one object per version) with the lake_schemas types, and
their row count is the count returned. Then the Glue table's location is switched to the run folder,
so Athena readers (and later tables of this run, e.g. ``rfm_segments`` reading ``customer_rfm``)
see the new version as one step; the runner then swaps the pointer as for DuckDB.

Plain boto3 on purpose (docs/ANALYTICS.md, "Engines"): awswrangler + pandas + pyarrow + numpy do not
fit a 250 MB Lambda beside duckdb, and the engine needs four API calls, not DataFrames. sqlglot is
imported only here, so ``import retail_lake.analytics`` stays light.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_lake import schemas
from retail_lake.analytics._engine import SourceSnapshot
from retail_lake.analytics._versions import table_prefix
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, sql_literal
from retail_lake.layout import SALES_PREFIX, STORES_KEY, STORES_PREFIX
from retail_lake.storage import Storage
from retail_lake.views import register_curated

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_glue import GlueClient

logger = logging.getLogger(__name__)

# TableInput accepts only these keys of what GetTable returns (the rest is read-only metadata).
_TABLE_INPUT_KEYS = (
    "Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention", "StorageDescriptor",
    "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType", "Parameters", "TargetTable",
)
_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class AthenaQueryError(RuntimeError):
    """An Athena query ended FAILED or CANCELLED (the message carries Athena's reason)."""


def to_athena(sql: str) -> str:
    """One DuckDB statement in Athena's (Trino) dialect; the SQL files are written to survive this."""
    import sqlglot

    (statement,) = sqlglot.transpile(sql, read="duckdb", write="athena")
    return statement


def unload_statement(select_sql: str, location: str) -> str:
    """``UNLOAD (select) TO location`` as zstd Parquet; ``location`` must be an empty prefix."""
    return (f"UNLOAD ({to_athena(select_sql)})\nTO '{location}'\n"
            "WITH (format = 'PARQUET', compression = 'ZSTD')")


class AthenaEngine:
    """Runs every analytics statement in Athena (workgroup ATHENA_WORKGROUP, database GLUE_DATABASE)."""

    name = "athena"
    poll_seconds = (0.2, 0.5, 1.0, 2.0)  # back-off between GetQueryExecution calls, last value repeats

    def __init__(self, storage: Storage, settings: Settings, *, athena: Any | None = None,
                 glue: Any | None = None) -> None:
        if not storage.uri.startswith("s3://"):
            raise ValueError(f"ANALYTICS_ENGINE=athena needs an S3 lake (Athena reads S3), not {storage.uri}")
        if not settings.glue_database or not settings.athena_workgroup:
            raise ValueError("ANALYTICS_ENGINE=athena needs GLUE_DATABASE and ATHENA_WORKGROUP "
                             "(template.yaml sets them)")
        import boto3

        self.storage = storage
        self.settings = settings
        self.database: str = settings.glue_database
        self.workgroup: str = settings.athena_workgroup
        self.athena: AthenaClient = athena or boto3.client("athena")
        self.glue: GlueClient = glue or boto3.client("glue")
        settings.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="retail-lake-athena-", dir=settings.tmp_dir)

    # ------------------------------------------------------------ Athena calls

    def execute(self, sql: str) -> str:
        """Start ``sql`` in the workgroup and database, wait for it; returns the query execution id."""
        query_id = self.athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.database},
            WorkGroup=self.workgroup,
        )["QueryExecutionId"]
        for attempt in itertools.count():
            execution = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            status = execution["Status"]
            if status["State"] in _DONE:
                break
            time.sleep(self.poll_seconds[min(attempt, len(self.poll_seconds) - 1)])
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage", "")
            raise AthenaQueryError(f"Athena query {query_id} {status['State']}: {reason}")
        return query_id

    def fetch_rows(self, query_id: str) -> list[list[str | None]]:
        """A small result set as strings (GetQueryResults; the header row Athena adds is dropped)."""
        rows: list[list[str | None]] = []
        names: list[str] = []
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            names = names or [c.get("Name", "") for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        if rows and rows[0] == names:
            rows = rows[1:]
        return rows

    def set_location(self, table: str, location: str) -> None:
        """Point the Glue table at ``location`` (one UpdateTable: Athena readers switch atomically)."""
        current = self.glue.get_table(DatabaseName=self.database, Name=table)["Table"]
        table_input = {k: current[k] for k in _TABLE_INPUT_KEYS if k in current}
        table_input["StorageDescriptor"] = {**current["StorageDescriptor"], "Location": location}
        # SkipArchive: a nightly location switch per table would pile up Glue table versions.
        self.glue.update_table(DatabaseName=self.database, TableInput=table_input, SkipArchive=True)

    # ------------------------------------------------------------ Engine

    def s3_uri(self, key: str) -> str:
        return f"{self.storage.uri.rstrip('/')}/{key}"

    def load_sources(self) -> SourceSnapshot:
        listed = sorted((o.key, o.etag or str(o.size)) for o in self.storage.list(SALES_PREFIX)
                        if o.key.endswith(".parquet"))
        self._ensure_stores()
        query_id = self.execute(
            "SELECT COUNT(*), CAST(MAX(uploaded_at) AS VARCHAR), CAST(MAX(invoice_date) AS VARCHAR) FROM sales"
        )
        ((rows, max_uploaded_at, max_invoice_date),) = self.fetch_rows(query_id)
        # Athena has no cheap per-upload digest: the listed files (immutable per key and ETag) stand in.
        digest = hashlib.sha256(repr(listed).encode()).hexdigest()[:16]
        return SourceSnapshot(
            files=len(listed),
            digest=digest,
            rows=int(rows or 0),
            max_uploaded_at=datetime.fromisoformat(max_uploaded_at) if max_uploaded_at else None,
            max_invoice_date=date.fromisoformat(max_invoice_date) if max_invoice_date else None,
        )

    def _ensure_stores(self) -> None:
        """DuckDB falls back to the shipped default stores when none was uploaded; Athena only sees
        files, so write that default where a stores upload would go (an upload replaces it)."""
        if any(o.key.endswith(".parquet") for o in self.storage.list(STORES_PREFIX)):
            return
        con = new_duckdb(self.settings)
        try:
            register_curated(con, self.storage, self.settings, tables=("sales_versions", "stores"))
            out = Path(self._tmp.name) / "stores.parquet"
            select = schemas.table("stores").typed_select("stores", partitions=False)
            con.execute(f"COPY ({select}) TO {sql_literal(str(out))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        finally:
            con.close()
        self.storage.upload(out, STORES_KEY)
        logger.info("no stores upload in the lake: wrote the default stores to %s for Athena", STORES_KEY)

    def write_table(self, table: str, sql: str, key: str) -> int:
        folder = key.rsplit("/", 1)[0] + "/"
        if not folder.startswith(table_prefix(table)):
            raise ValueError(f"{key!r} is not under {table_prefix(table)}")
        self.execute(unload_statement(sql, self.s3_uri(folder)))
        rows = self._merge_parts(table, folder, key)
        self.set_location(table, self.s3_uri(folder))
        return rows

    def _merge_parts(self, table: str, folder: str, key: str) -> int:
        """Athena's output files (own names, one per writer) -> the one ``key`` with lake_schemas types."""
        parts = [o.key for o in self.storage.list(folder) if o.key != key]
        work = Path(self._tmp.name) / table
        work.mkdir(parents=True, exist_ok=True)
        local = [self.storage.download(k, work / f"in-{i}.parquet") for i, k in enumerate(parts)]
        spec = schemas.table(table)
        out = work / "part-0.parquet"
        con = new_duckdb(self.settings)
        try:
            if local:
                files = "[" + ", ".join(sql_literal(str(p)) for p in local) + "]"
                select = spec.typed_select(f"read_parquet({files})", partitions=False)
            else:  # an empty result: Athena writes no file
                select = spec.empty_select_sql()
            con.execute(f"COPY ({select}) TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)")
            rows = int(con.execute(f"SELECT COUNT(*) FROM read_parquet({sql_literal(str(out))})").fetchone()[0])
        finally:
            con.close()
        self.storage.upload(out, key)
        if parts:
            self.storage.delete(parts)
        for path in [*local, out]:
            path.unlink()
        return rows

    def close(self) -> None:
        self._tmp.cleanup()
