"""One upload, start to finish: read, validate, write, log. Local files and S3 objects alike."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, sql_literal
from retail_lake.ingest._errors import RejectedFileError, RetryableIngestError
from retail_lake.ingest._read import alias_index, detect_format, load_raw, missing_columns_message
from retail_lake.ingest._validate import build_all_rejected, build_checked
from retail_lake.ingest._write import Lineage, read_log, write_accepted, write_log, write_quarantine
from retail_lake.layout import STORES_KEY
from retail_lake.schemas import normalise_header, table
from retail_lake.storage import Storage, StorageError, open_storage

Progress = Callable[[str], None]


@dataclass
class IngestResult:
    """What happened to one upload (the CLI prints it, the handler logs it)."""

    upload_id: str
    source: str
    status: str  # 'succeeded' | 'rejected' | 'skipped'
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0
    partitions: list[str] = field(default_factory=list)
    message: str = ""
    duration_ms: int = 0
    table: str = "sales"
    quarantine_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        """True when the file was processed (even with quarantined rows) or was already ingested."""
        return self.status in ("succeeded", "skipped")


@dataclass(frozen=True)
class Upload:
    """An upload's identity. The idempotency key decides the upload_id and so every output name."""

    source: str
    idempotency_key: str
    uploaded_at: datetime
    etag: str | None = None
    content_hash: str | None = None

    @property
    def upload_id(self) -> str:
        return hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:24]


def _utc_naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def is_stores_key(key: str) -> bool:
    """Uploads under raw/stores/ (or any .../stores/ folder) replace the stores reference table."""
    parts = key.lower().split("/")
    return "stores" in parts[:-1]


def ingest_path(
    path: Path,
    lake: Storage,
    upload: Upload,
    *,
    kind: str = "sales",
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest one file already on local disk. Never raises for bad content; StorageError propagates."""
    settings = settings or Settings.from_env()
    say = progress or (lambda _msg: None)
    started = datetime.now(UTC)
    clock = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="retail-lake-ingest-", dir=settings.tmp_dir))
    # Ingest streams through scans, sorts and writes that all spill: a small, fixed DuckDB budget keeps
    # memory flat as files grow (a 2 GB CSV inside the 1,536 MB function) at little cost in speed.
    con = new_duckdb(replace(settings, duckdb_memory_limit=settings.ingest_memory_limit))
    lineage = Lineage(upload.source, upload.upload_id, _utc_naive(upload.uploaded_at))
    try:
        previous = read_log(con, lake, upload.upload_id, workdir)
        if previous is not None:
            return IngestResult(
                upload.upload_id, upload.source, "skipped",
                rows_in=previous["rows_in"], rows_accepted=previous["rows_accepted"],
                rows_quarantined=previous["rows_quarantined"], rows_flagged=previous["rows_flagged"],
                message=f"already ingested ({previous['status']}): nothing changed", table=kind,
            )
        spec = table(kind)
        file_format: str | None = None
        status, message = "succeeded", ""
        try:
            file_format = detect_format(path, upload.source)
            say(f"reading {file_format}")
            read = load_raw(con, path, file_format, spec)
            if read.missing_required:
                raise RejectedFileError(missing_columns_message(read.missing_required, spec, read.headers))
            say(f"validating {read.rows_parsed + read.rows_unparseable:,} rows")
            if kind == "stores":
                _build_checked_stores(con, upload.source)
                order = None
            else:
                order = build_checked(con, spec, upload.source)
            notes = []
            if read.ignored_columns:
                notes.append(f"ignored columns: {', '.join(read.ignored_columns)}")
            if order == "month/day/year":
                notes.append("dates read as month/day/year")
            message = "; ".join(notes)
        except RejectedFileError as exc:
            status, message = "rejected", str(exc)
            if con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw'").fetchone()[0]:
                build_all_rejected(con, spec, upload.source, "file_rejected", message)
            else:
                con.execute("CREATE OR REPLACE TABLE checked AS SELECT 1 AS row_number, NULL AS rule WHERE false")

        counts = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE rule IS NULL), count(*) FILTER (WHERE rule IS NOT NULL), "
            "count(*) FILTER (WHERE rule IS NULL AND flags IS NOT NULL) FROM checked"
            if status == "succeeded"
            else "SELECT count(*), 0, count(*), 0 FROM checked"
        ).fetchone()
        rows_in, accepted, quarantined, flagged = (int(v) for v in counts)
        reasons = dict(
            con.execute("SELECT rule, count(*) FROM checked WHERE rule IS NOT NULL GROUP BY rule ORDER BY 2 DESC")
            .fetchall()
        ) if rows_in else {}
        say(f"writing {accepted:,} accepted and {quarantined:,} quarantined rows")
        if quarantined:  # keep only the text of quarantined rows; free the rest before writing
            write_quarantine(con, lake, lineage, workdir, spec, kind=kind)
        con.execute("DROP TABLE IF EXISTS raw")
        partitions: list[str] = []
        if status == "succeeded" and accepted:
            if kind == "stores":
                partitions = _write_stores(con, lake, lineage, workdir)
            else:
                partitions = write_accepted(con, lake, lineage, workdir)
        if status == "succeeded" and not message and quarantined:
            message = "quarantined: " + ", ".join(f"{rule} {n}" for rule, n in reasons.items())
        elif status == "succeeded" and quarantined:
            message = "quarantined: " + ", ".join(f"{rule} {n}" for rule, n in reasons.items()) + "; " + message
        duration_ms = int((time.monotonic() - clock) * 1000)
        write_log(con, lake, {
            "upload_id": upload.upload_id, "source": upload.source, "etag": upload.etag,
            "content_hash": upload.content_hash, "file_format": file_format, "rows_in": rows_in,
            "rows_accepted": accepted, "rows_quarantined": quarantined, "rows_flagged": flagged,
            "partitions_written": len(partitions), "status": status, "message": message or "ok",
            "uploaded_at": lineage.uploaded_at, "started_at": _utc_naive(started), "duration_ms": duration_ms,
        }, workdir)
        return IngestResult(
            upload.upload_id, upload.source, status, rows_in, accepted, quarantined, flagged,
            partitions, message or "ok", duration_ms, kind, reasons,
        )
    finally:
        con.close()
        shutil.rmtree(workdir, ignore_errors=True)


def ingest_file(
    path: str | Path,
    lake: str | Storage,
    *,
    uploaded_at: datetime | None = None,
    kind: str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest a local file. Idempotent on content: the same bytes again change nothing."""
    path = Path(path)
    storage = open_storage(lake) if isinstance(lake, str) else lake
    source = str(path.resolve())
    if not path.is_file():
        return IngestResult("", source, "rejected", message=f"{path}: no such file")
    content_hash = file_sha256(path)
    upload = Upload(
        source=source,
        idempotency_key=f"sha256:{content_hash}",
        uploaded_at=uploaded_at or datetime.now(UTC),
        content_hash=content_hash,
    )
    kind = kind or ("stores" if is_stores_key(source) or _looks_like_stores(path) else "sales")
    return ingest_path(path, storage, upload, kind=kind, settings=settings, progress=progress)


def _looks_like_stores(path: Path) -> bool:
    """A local file is a stores table when its header names a region and no invoice column."""
    import csv
    import gzip

    try:
        with open(path, "rb") as raw:
            opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            header = next(csv.reader([fh.readline()]), [])
    except (OSError, EOFError, UnicodeError):
        return False
    names = {alias_index(table("stores")).get(normalise_header(h)) for h in header}
    invoice = {alias_index(table("sales")).get(normalise_header(h)) for h in header}
    return "region" in names and "shopping_mall" in names and "invoice_no" not in invoice


def ingest_s3_object(
    bucket: str,
    key: str,
    *,
    lake: str | Storage,
    etag: str | None = None,
    event_time: datetime | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest s3://bucket/key. Idempotency key ``bucket/key#etag``; the upload time is the S3 event
    time (else the object's LastModified), never the processing time.

    Bad content is recorded, not raised; storage failures raise RetryableIngestError.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from retail_lake.storage import S3Storage

    settings = settings or Settings.from_env()
    storage = open_storage(lake) if isinstance(lake, str) else lake
    source = f"s3://{bucket}/{key}"
    upload_store = S3Storage(bucket)
    workdir = Path(tempfile.mkdtemp(prefix="retail-lake-download-", dir=settings.tmp_dir))
    try:
        try:
            head = upload_store.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return IngestResult("", source, "rejected", message=f"{source}: object no longer exists")
            raise RetryableIngestError(f"{source}: {exc}") from exc
        etag = etag or head.get("ETag", "").strip('"')
        upload = Upload(
            source=source,
            idempotency_key=f"{bucket}/{key}#{etag}",
            uploaded_at=event_time or head["LastModified"],
            etag=etag,
        )
        local = workdir / Path(key).name
        upload_store.client.download_file(bucket, key, str(local))
        kind = "stores" if is_stores_key(key) else "sales"
        return ingest_path(local, storage, upload, kind=kind, settings=settings, progress=progress)
    except (ClientError, BotoCoreError, StorageError) as exc:
        raise RetryableIngestError(f"{source}: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- stores -------------------------------------------------------------------------------------

def _build_checked_stores(con: Any, source: str) -> None:
    """Stores rows: mall and region required; a mall listed twice keeps its last row."""
    from retail_lake.ingest._normalise import normalise_mall
    from retail_lake.ingest._validate import text

    malls = [r[0] for r in con.execute("SELECT DISTINCT shopping_mall FROM raw").fetchall()]
    con.execute("CREATE OR REPLACE TABLE map_mall (raw VARCHAR, value VARCHAR)")
    rows = [(m, normalise_mall(m)[0]) for m in malls if m is not None and m.strip()]
    if rows:
        con.executemany("INSERT INTO map_mall VALUES (?, ?)", rows)
    src = sql_literal(source)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT *, CASE WHEN rule IS NOT NULL THEN {src} || ' row ' || row_number || ': ' || rule || ': ' || detail
               END AS reason_text FROM (
            SELECT raw.rowid + 1 AS ordinal, raw.rowid + 1 AS row_number,
                   m.value AS shopping_mall, {text('district')} AS district, {text('region')} AS region,
                   TRY_CAST({text('opened_year')} AS INTEGER) AS opened_year, NULL AS flags,
                   CAST(NULL AS VARCHAR) AS raw_line,
                   CASE WHEN {text('shopping_mall')} IS NULL THEN 'missing_shopping_mall'
                        WHEN {text('region')} IS NULL THEN 'missing_region' END AS rule,
                   CASE WHEN {text('shopping_mall')} IS NULL THEN 'shopping_mall is empty'
                        WHEN {text('region')} IS NULL THEN 'region is empty' END AS detail
            FROM raw LEFT JOIN map_mall m ON m.raw = raw.shopping_mall
            UNION ALL
            SELECT NULL, data_row, NULL, NULL, NULL, NULL, NULL, raw_line,
                   'unparseable_row', 'the line could not be read as CSV fields (' || lower(error_type) || ')'
            FROM rejects
        )
        """
    )
    con.execute("UPDATE checked SET detail = reason_text WHERE rule IS NOT NULL")
    con.execute(
        """UPDATE checked SET rule = 'duplicate_store', detail = 'mall listed again in a later row'
           FROM (SELECT row_number, max(row_number) OVER (PARTITION BY shopping_mall) AS last_row
                 FROM checked WHERE rule IS NULL) d
           WHERE checked.row_number = d.row_number AND d.row_number <> d.last_row"""
    )


def _write_stores(con: Any, lake: Storage, lineage: Lineage, workdir: Path) -> list[str]:
    """Replace curated/stores/stores.parquet unless a newer stores upload is already there."""
    key = STORES_KEY
    if lake.exists(key):
        local = lake.local_path(key) or lake.download(key, workdir / "current_stores.parquet")
        current = con.execute(
            f"SELECT max(uploaded_at) FROM read_parquet({sql_literal(str(local))})"
        ).fetchone()[0]
        if current is not None and current > lineage.uploaded_at:
            return []
    out = workdir / "stores.parquet"
    con.execute(
        f"COPY (SELECT shopping_mall, district, region, opened_year, {lineage.select_sql()} "
        f"FROM checked WHERE rule IS NULL ORDER BY shopping_mall) TO {sql_literal(str(out))} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    lake.upload(out, key)
    return [key]
