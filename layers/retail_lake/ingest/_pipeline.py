"""One upload, start to finish: read, validate, write, log. Local files and S3 objects alike."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, sql_literal
from retail_lake.ingest._errors import IngestFailedError, RejectedFileError, RetryableIngestError
from retail_lake.ingest._prepare import Limits
from retail_lake.ingest._read import alias_index, detect_format, load_raw, missing_columns_message
from retail_lake.ingest._validate import DateRange, build_all_rejected, build_checked, quarantined_from_checked
from retail_lake.ingest._work import work_folder
from retail_lake.ingest._write import (
    Lineage,
    count_replaced,
    read_log,
    write_accepted,
    write_log,
    write_quarantine,
)
from retail_lake.layout import STORES_KEY
from retail_lake.schemas import normalise_header, table
from retail_lake.storage import Storage, StorageError, open_storage

Progress = Callable[[str], None]


@dataclass
class IngestResult:
    """What happened to one upload (the CLI prints it, the handler logs it)."""

    upload_id: str
    source: str
    status: str  # 'succeeded' | 'rejected' | 'failed' | 'skipped'
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_flagged: int = 0
    partitions: list[str] = field(default_factory=list)
    message: str = ""
    duration_ms: int = 0
    table: str = "sales"
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    invoices_replaced: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage: where the time went

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
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def upload_id(self) -> str:
        """24 hex chars of sha256 of the idempotency key; an S3 upload announced with a ``sequencer``
        gets it in front (:func:`sequencer_order`), so that the ``sales`` view's last tie-break
        (``upload_id DESC``, after ``uploaded_at`` and ``source``) lets the later write of one key win
        when two writes share the event time's millisecond."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:24]
        order = sequencer_order(self.sequencer)
        return f"{order}-{digest}" if order else digest


def sequencer_order(sequencer: str | None) -> str:
    """An S3 event ``sequencer`` as text that sorts like its value, or '' when there is none (or it
    is not hex, or absurdly long: it becomes part of file names).

    S3 orders the events of one key by sequencer, compared as hex values with the shorter one
    left-padded with zeros; sequencers can differ in length. Leading zeros stripped, lower case, and
    the length in front (two digits) make plain string order equal that numeric order:
    '0A' -> '01a' < '00B' -> '01b' < '0100' -> '03100'.
    """
    if not sequencer or len(sequencer) > 64 or any(c not in "0123456789abcdefABCDEF" for c in sequencer):
        return ""
    digits = sequencer.lstrip("0").lower() or "0"
    return f"{len(digits):02d}{digits}"


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


def _hash_while_loading(path: Path) -> str:
    """``file_sha256(path)``, computed on a second thread while this one imports DuckDB.

    The hash names the upload, so it comes before any work on the file; hashing a 75 MB file and
    importing DuckDB each take ~0.08 s on one core, and both release the GIL for most of it (file
    reads and hashlib's update; loading the extension module), so side by side they take one of the
    two. A hashing error is raised here, as a plain call would.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="retail-lake-sha256") as pool:
        hashing = pool.submit(file_sha256, path)
        import duckdb  # noqa: F401  (loaded now, while the file is hashed; every ingest needs it)

        return hashing.result()


def is_stores_key(key: str) -> bool:
    """Uploads under raw/stores/ (or any .../stores/ folder) replace the stores reference table."""
    parts = key.lower().split("/")
    return "stores" in parts[:-1]


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_uncompressed_bytes=settings.ingest_max_uncompressed_bytes,
        max_compression_ratio=settings.ingest_max_compression_ratio,
        max_line_bytes=settings.ingest_max_line_bytes,
        max_columns=settings.ingest_max_columns,
    )


def date_range_of(settings: Settings, today: date | None = None) -> DateRange:
    """The plausible invoice dates: INGEST_MIN_DATE .. INGEST_MAX_DATE (default today + 1 year)."""
    today = today or datetime.now(UTC).date()
    try:
        first = date.fromisoformat(settings.ingest_min_date)
        last = date.fromisoformat(settings.ingest_max_date) if settings.ingest_max_date else \
            today.replace(year=today.year + 1, day=min(today.day, 28))
    except ValueError as exc:
        raise ValueError(f"INGEST_MIN_DATE / INGEST_MAX_DATE must be ISO dates (2000-01-01): {exc}") from None
    return DateRange(first, last)


def _previous_blocks(previous: dict[str, Any] | None, force: bool) -> bool:
    """A completed upload (succeeded, or rejected for good) is not run again unless forced; a
    failed one is retried."""
    return previous is not None and not force and previous.get("status") in ("succeeded", "rejected")


def ingest_path(
    path: Path,
    lake: Storage,
    upload: Upload,
    *,
    kind: str = "sales",
    settings: Settings | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Ingest one file already on local disk. Never raises for bad content; StorageError propagates,
    and a failure a retry may fix (memory, disk) is logged as 'failed' and raised as IngestFailedError."""
    settings = settings or Settings.from_env()
    say = progress or (lambda _msg: None)
    started = datetime.now(UTC)
    clock = time.monotonic()
    with work_folder(settings.tmp_dir, "ingest") as workdir:
        # Ingest streams through scans, sorts and writes that all spill: a small, fixed DuckDB budget keeps
        # memory flat as files grow (a 2 GB CSV inside the 1,536 MB function) at little cost in speed.
        # Its spill files go to this upload's own work folder, so a killed run leaves them where the
        # next run's clean-up finds them.
        con = new_duckdb(replace(settings, duckdb_memory_limit=settings.ingest_memory_limit))
        try:
            con.execute(f"SET temp_directory = {sql_literal(str(workdir / 'spill'))}")
            return _ingest(con, path, lake, upload, kind, settings, say, encoding, force, workdir, started, clock)
        finally:
            con.close()


def _ingest(
    con: Any, path: Path, lake: Storage, upload: Upload, kind: str, settings: Settings, say: Progress,
    encoding: str | None, force: bool, workdir: Path, started: datetime, clock: float,
) -> IngestResult:
    lineage = Lineage(upload.source, upload.upload_id, _utc_naive(upload.uploaded_at))
    previous = read_log(con, lake, upload.upload_id, workdir)
    if _previous_blocks(previous, force):
        assert previous is not None
        return IngestResult(
            upload.upload_id, upload.source, "skipped",
            rows_in=previous["rows_in"], rows_accepted=previous["rows_accepted"],
            rows_quarantined=previous["rows_quarantined"], rows_flagged=previous["rows_flagged"],
            message=f"already ingested ({previous['status']}): nothing changed", table=kind,
        )
    spec = table(kind)
    file_format: str | None = None
    status, message = "succeeded", ""
    notes: list[str] = []
    log = {
        "upload_id": upload.upload_id, "source": upload.source, "etag": upload.etag,
        "content_hash": upload.content_hash, "version_id": upload.version_id, "sequencer": upload.sequencer,
        "uploaded_at": lineage.uploaded_at, "started_at": _utc_naive(started),
    }
    timings: dict[str, float] = {}
    last = [time.monotonic()]

    def mark(stage: str) -> None:
        now = time.monotonic()
        timings[stage] = round(timings.get(stage, 0.0) + now - last[0], 3)
        last[0] = now

    mark("start")
    try:
        try:
            file_format = detect_format(path, upload.source)
            say(f"reading {file_format}")
            read = load_raw(con, path, file_format, spec, workdir=workdir, limits=limits_of(settings),
                            encoding=encoding)
            mark("read")
            log["encoding"] = read.encoding
            if read.encoding_source != "default" or read.encoding != "utf-8":
                notes.append(f"encoding {read.encoding} ({read.encoding_source})")
            if read.missing_required:
                raise RejectedFileError(missing_columns_message(read.missing_required, spec, read.headers))
            say(f"validating {read.rows_parsed + read.rows_unparseable:,} rows")
            if kind == "stores":
                _build_checked_stores(con, upload.source)
            else:
                decisions = build_checked(con, spec, upload.source, date_range_of(settings),
                                          present=list(read.mapping), layout=read.layout,
                                          delimiter=read.delimiter)
                notes.extend(decisions.notes())
                log["date_order"] = "ambiguous" if decisions.dates_contradict else decisions.date_order
                log["number_format"] = decisions.number_format
            mark("validate")
            if read.ignored_columns:
                notes.insert(0, f"ignored columns: {', '.join(read.ignored_columns)}")
            if read.layout:
                notes.insert(0, f"layout {read.layout.name}: {read.layout.note}")
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
        partitions: list[str] = []
        replaced = superseded = 0
        if status == "succeeded" and accepted:
            if kind == "stores":
                partitions = _write_stores(con, lake, lineage, workdir)
            else:
                replaced, superseded = count_replaced(con, lake, lineage, workdir)
                mark("replaced_lookup")
                partitions = write_accepted(con, lake, lineage, workdir)
                mark("write")
                if replaced:
                    notes.append(f"replaced {replaced:,} invoice(s) of earlier uploads")
                if superseded:
                    notes.append(f"{superseded:,} invoice(s) already newer in the lake (kept)")
        if quarantined:
            if kind == "sales" and status == "succeeded":
                # The accepted rows are written; the quarantine of a validated file reads ``raw``,
                # not ``checked``: its memory goes to the quarantine's sort instead.
                con.execute("DROP TABLE checked")
            write_quarantine(con, lake, lineage, workdir, spec, kind=kind)
        con.execute("DROP VIEW IF EXISTS raw")
        mark("quarantine")
    except (IngestFailedError, StorageError, *_transient_errors()) as exc:
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        _log_failure(con, lake, log | {"file_format": file_format, "status": "failed", "message": reason,
                                       "duration_ms": int((time.monotonic() - clock) * 1000)}, workdir)
        raise IngestFailedError(f"{upload.source}: {reason} (recorded as failed; the next ingest retries)") from exc
    if status == "succeeded" and quarantined:
        notes.insert(0, "quarantined: " + ", ".join(f"{rule} {n}" for rule, n in reasons.items()))
    if status == "succeeded":
        message = "; ".join(notes)
    duration_ms = int((time.monotonic() - clock) * 1000)
    write_log(con, lake, log | {
        "file_format": file_format, "rows_in": rows_in, "rows_accepted": accepted,
        "rows_quarantined": quarantined, "rows_flagged": flagged, "partitions_written": len(partitions),
        "status": status, "message": message or "ok", "duration_ms": duration_ms,
        "invoices_replaced": replaced,
    }, workdir)
    mark("log")
    return IngestResult(
        upload.upload_id, upload.source, status, rows_in, accepted, quarantined, flagged,
        partitions, message or "ok", duration_ms, kind, reasons,
        notes=[n for n in notes if not n.startswith("quarantined: ")], invoices_replaced=replaced,
        timings=timings,
    )


def _transient_errors() -> tuple[type[BaseException], ...]:
    """DuckDB's errors a retry may fix (memory, disk, interruption) and Python's MemoryError."""
    import duckdb

    names = ("OutOfMemoryException", "IOException", "InterruptException")
    return (MemoryError, *(getattr(duckdb, n) for n in names if hasattr(duckdb, n)))


def _log_failure(con: Any, lake: Storage, row: dict[str, Any], workdir: Path) -> None:
    """Best effort: a 'failed' ingest_log row, so the failure is visible and the next ingest retries."""
    with contextlib.suppress(Exception):  # the storage may be what failed; the caller raises the original
        write_log(con, lake, {"rows_in": 0, "rows_accepted": 0, "rows_quarantined": 0, "rows_flagged": 0,
                              "partitions_written": 0} | row, workdir)


def ingest_file(
    path: str | Path,
    lake: str | Storage,
    *,
    uploaded_at: datetime | None = None,
    kind: str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Ingest a local file. Idempotent on content: the same bytes again change nothing, unless
    ``force``, which makes them a new upload (uploaded now, so its invoices are the latest again)."""
    path = Path(path)
    storage = open_storage(lake) if isinstance(lake, str) else lake
    source = str(path.resolve())
    if not path.is_file():
        return IngestResult("", source, "rejected", message=f"{path}: no such file")
    content_hash = _hash_while_loading(path)
    moment = uploaded_at or datetime.now(UTC)
    key = f"sha256:{content_hash}"
    if force:
        key += f"#forced:{_utc_naive(moment).isoformat()}"
    upload = Upload(source=source, idempotency_key=key, uploaded_at=moment, content_hash=content_hash)
    kind = kind or ("stores" if is_stores_key(source) or _looks_like_stores(path) else "sales")
    return ingest_path(path, storage, upload, kind=kind, settings=settings, progress=progress,
                       encoding=encoding, force=force)


def _looks_like_stores(path: Path) -> bool:
    """A local file is a stores table when its header names a region and no invoice column."""
    import csv
    import gzip

    try:
        with open(path, "rb") as raw:
            opener = gzip.open if raw.read(2) == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as fh:
            header = next(csv.reader([fh.readline(64 * 1024)]), [])
    except (OSError, EOFError, UnicodeError, csv.Error):
        return False
    names = {alias_index(table("stores")).get(normalise_header(h)) for h in header}
    invoice = {alias_index(table("sales")).get(normalise_header(h)) for h in header}
    return "region" in names and "shopping_mall" in names and "invoice_no" not in invoice


def unsafe_key_reason(key: str) -> str | None:
    """Why an S3 key must not be used as a path (``..`` or ``.`` segments, a leading '/', NUL or
    backslashes), else None: such a key could leave its prefix (raw/sales/../stores/x.csv would be
    read as a stores upload) or the work folder when mirrored to disk."""
    if not key or key.startswith("/") or "\x00" in key or "\\" in key:
        return "a key that is empty, absolute or holds NUL/backslash characters"
    if any(part in ("..", ".") for part in key.split("/")):
        return "a key with '..' or '.' path segments (it could escape its prefix)"
    return None


def upload_identity(bucket: str, key: str, *, version_id: str | None, sequencer: str | None,
                    etag: str | None, last_modified: datetime | None) -> str:
    """The idempotency key of an S3 upload: bucket/key plus the object's versionId, else the event's
    sequencer, else ETag and LastModified. Not the ETag alone: re-uploading yesterday's bytes is a
    new upload (it makes them the latest again), while a redelivered notification is not."""
    if version_id and version_id != "null":
        return f"{bucket}/{key}?versionId={version_id}"
    if sequencer:
        return f"{bucket}/{key}#{etag or ''}@sequencer={sequencer}"
    stamp = _utc_naive(last_modified).isoformat() if last_modified else ""
    return f"{bucket}/{key}#{etag or ''}@{stamp}"


def ingest_s3_object(
    bucket: str,
    key: str,
    *,
    lake: str | Storage,
    etag: str | None = None,
    event_time: datetime | None = None,
    version_id: str | None = None,
    sequencer: str | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    force: bool = False,
) -> IngestResult:
    """Ingest s3://bucket/key (the version the notification announced). Identity: see
    :func:`upload_identity`; the upload time is the S3 event time (else the object's LastModified),
    never the processing time.

    Bad content is recorded, not raised; storage failures raise RetryableIngestError. An object that
    was overwritten after its notification (an unversioned bucket, another ETag now) is skipped: the
    newer bytes are their own upload, announced by their own notification.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from retail_lake.storage import S3Storage

    settings = settings or Settings.from_env()
    storage = open_storage(lake) if isinstance(lake, str) else lake
    source = f"s3://{bucket}/{key}"
    unsafe = unsafe_key_reason(key)
    if unsafe:
        return IngestResult("", source, "rejected", message=f"{source}: refused: {unsafe}")
    upload_store = S3Storage(bucket)
    version_args = {"VersionId": version_id} if version_id and version_id != "null" else {}
    with work_folder(settings.tmp_dir, "download") as workdir:
        try:
            try:
                head = upload_store.client.head_object(Bucket=bucket, Key=key, **version_args)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
                    return IngestResult("", source, "rejected", message=f"{source}: object no longer exists")
                raise RetryableIngestError(f"{source}: {exc}") from exc
            current_etag = head.get("ETag", "").strip('"')
            if etag and not version_args and current_etag and current_etag != etag:
                return IngestResult("", source, "skipped", message=(
                    f"{source}: overwritten since this notification (ETag {etag} -> {current_etag}); "
                    "the newer object is ingested by its own notification"))
            version_id = version_id or head.get("VersionId")
            etag = etag or current_etag
            upload = Upload(
                source=source,
                idempotency_key=upload_identity(bucket, key, version_id=version_id, sequencer=sequencer, etag=etag,
                                                last_modified=head.get("LastModified")),
                uploaded_at=event_time or head["LastModified"],
                etag=etag,
                version_id=version_id if version_id != "null" else None,
                sequencer=sequencer,
            )
            local = workdir / ("upload" + _safe_suffix(key))
            extra = {"ExtraArgs": {"VersionId": version_args["VersionId"]}} if version_args else {}
            upload_store.client.download_file(bucket, key, str(local), **extra)
            kind = "stores" if is_stores_key(key) else "sales"
            return ingest_path(local, storage, upload, kind=kind, settings=settings, progress=progress,
                               encoding=encoding, force=force)
        except IngestFailedError:
            raise
        except (ClientError, BotoCoreError, StorageError) as exc:
            raise RetryableIngestError(f"{source}: {exc}") from exc


def _safe_suffix(key: str) -> str:
    """'.csv', '.csv.gz', '.parquet' ... of a key, reduced to safe characters (the bytes decide the format)."""
    name = key.rsplit("/", 1)[-1].lower()
    for suffix in (".csv.gz", ".csv", ".gz", ".parquet", ".txt", ".tsv"):
        if name.endswith(suffix):
            return suffix
    return ".bin"


# --- stores -------------------------------------------------------------------------------------

def _build_checked_stores(con: Any, source: str) -> None:
    """Stores rows: mall and region required; a mall listed twice keeps its last row."""
    from retail_lake.ingest._normalise import normalise_mall
    from retail_lake.ingest._rows import table_from_rows
    from retail_lake.ingest._validate import text

    malls = [r[0] for r in con.execute("SELECT DISTINCT shopping_mall FROM raw").fetchall()]
    rows = [(m, normalise_mall(m)[0]) for m in malls if m is not None and m.strip()]
    table_from_rows(con, "map_mall", {"raw": "VARCHAR", "value": "VARCHAR"}, rows)
    texts = ", ".join(f"raw.{c} AS q_{c}" for c in ("shopping_mall", "district", "region", "opened_year"))
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT raw.rowid + 1 AS ordinal, raw.rowid + 1 AS row_number,
               m.value AS shopping_mall, {text('district')} AS district, {text('region')} AS region,
               TRY_CAST({text('opened_year')} AS INTEGER) AS opened_year, NULL AS flags,
               CAST(NULL AS VARCHAR) AS raw_line,
               CASE WHEN {text('shopping_mall')} IS NULL THEN 'missing_shopping_mall'
                    WHEN {text('region')} IS NULL THEN 'missing_region' END AS rule,
               CASE WHEN {text('shopping_mall')} IS NULL THEN 'shopping_mall is empty'
                    WHEN {text('region')} IS NULL THEN 'region is empty' END AS detail,
               {texts}
        FROM raw LEFT JOIN map_mall m ON m.raw = raw.shopping_mall
        UNION ALL BY NAME
        SELECT data_row AS row_number, raw_line, 'unparseable_row' AS rule,
               'the line could not be read as CSV fields (' || lower(error_type) || ')' AS detail
        FROM rejects
        """
    )
    con.execute(
        """UPDATE checked SET rule = 'duplicate_store', detail = 'mall listed again in a later row'
           FROM (SELECT row_number, max(row_number) OVER (PARTITION BY shopping_mall) AS last_row
                 FROM checked WHERE rule IS NULL) d
           WHERE checked.row_number = d.row_number AND d.row_number <> d.last_row"""
    )
    quarantined_from_checked(con)


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
