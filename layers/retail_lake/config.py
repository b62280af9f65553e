"""Every environment variable the library reads, in one typed object with local defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Lambda sets them in template.yaml; locally the defaults apply.

    ``lake`` is a local folder or ``s3://bucket/prefix``. In Lambda it is built from LAKE_BUCKET.
    """

    lake: str = "./lake"
    aws_endpoint_url: str | None = None
    idempotency_table: str | None = None
    idempotency_ttl_seconds: int = 7 * 24 * 3600
    glue_database: str | None = None  # Athena/Glue path (awswrangler); template.yaml sets it
    athena_workgroup: str | None = None
    duckdb_memory_limit: str | None = None
    ingest_memory_limit: str = "256MB"
    # Ingest limits (issue 10, retail_lake.ingest): plausible invoice dates (ISO; an empty max means
    # today + 1 year), what a gzip upload may decompress to (bytes, and ratio past 256 MB), the
    # longest line and the widest header an upload may have.
    ingest_min_date: str = "2000-01-01"
    ingest_max_date: str | None = None
    ingest_max_uncompressed_bytes: int = 4 * 1024**3
    ingest_max_compression_ratio: float = 200.0
    ingest_max_line_bytes: int = 2_000_000
    ingest_max_columns: int = 1000
    duckdb_threads: int | None = None
    # Analytics (issue 3): the engine that runs the SQL files ('duckdb' embedded, 'athena' scale-out)
    # and after how long a left-behind analytics lock counts as stale (a run lasts < 15 min in Lambda).
    analytics_engine: str = "duckdb"
    analytics_lock_stale_seconds: int = 1800
    # Which optimisations (analytics/_rewrites.py) the DuckDB engine applies to the SQL: 'all',
    # 'none' or names separated by commas (each one gives exactly the same tables).
    analytics_rewrites: str = "all"
    # Readers (query.LakeReader): how long a loaded table version is served before its pointer's
    # ETag is checked again (a conditional GET on S3). 0 checks on every read.
    reader_revalidate_seconds: float = 5.0
    # API (issue 7, retail_lake.api): browser origins allowed by CORS (none: CORS off), how long
    # clients may cache a GET (Cache-Control max-age; ETags revalidate after), the largest request
    # body (413 beyond), the largest response body (a page is cut below it and says `truncated`:
    # Lambda answers at most 6 MB), and the API Gateway stage prefix that Mangum strips ('/prod').
    api_cors_origins: tuple[str, ...] = ()
    api_cache_max_age: int = 60
    api_max_body_bytes: int = 1_048_576
    api_max_response_bytes: int = 5_000_000
    api_base_path: str = ""
    api_answer_cache_bytes: int = 48 * 1024 * 1024  # rendered answers kept per process (0: none)
    # S3 reads (docs/DECISIONS.md, "DuckDB version"): 'httpfs' lets DuckDB read s3:// objects itself
    # by range requests; 'mirror' copies them into the temp folder first (retail_lake.mirror);
    # 'auto' takes httpfs when its extension is installed for this DuckDB. The mirror refuses to
    # grow past mirror_max_bytes (None: the temp folder's free space), with a message, not ENOSPC.
    s3_reads: str = "auto"
    mirror_max_bytes: int | None = None
    aws_region: str | None = None  # AWS_REGION (Lambda sets it), else AWS_DEFAULT_REGION
    # Training (issue 9, retail_lake.models): default horizons, the promotion gate's tolerance (a
    # fraction of the current version's metric) and the seed of every sample and model.
    train_clv_horizon_days: int = 90
    train_forecast_weeks: int = 12
    train_gate_tolerance: float = 0.05
    train_seed: int = 42
    tmp_dir: Path = field(default_factory=lambda: Path(_env("TMPDIR", "/tmp") or "/tmp"))

    @classmethod
    def from_env(cls) -> Settings:
        bucket = _env("LAKE_BUCKET")
        lake = _env("RETAIL_LAKE")
        if lake is None and bucket:
            prefix = (_env("LAKE_PREFIX", "") or "").strip("/")
            lake = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        threads = _env("DUCKDB_THREADS")
        return cls(
            lake=lake or "./lake",
            aws_endpoint_url=_env("AWS_ENDPOINT_URL"),
            idempotency_table=_env("IDEMPOTENCY_TABLE"),
            idempotency_ttl_seconds=int(_env("IDEMPOTENCY_TTL_SECONDS", str(7 * 24 * 3600)) or 0),
            glue_database=_env("GLUE_DATABASE"),
            athena_workgroup=_env("ATHENA_WORKGROUP"),
            duckdb_memory_limit=_env("DUCKDB_MEMORY_LIMIT") or _lambda_memory_limit(),
            ingest_memory_limit=_env("INGEST_MEMORY_LIMIT", "256MB") or "256MB",
            ingest_min_date=_env("INGEST_MIN_DATE", "2000-01-01") or "2000-01-01",
            ingest_max_date=_env("INGEST_MAX_DATE"),
            ingest_max_uncompressed_bytes=int(_env("INGEST_MAX_UNCOMPRESSED_BYTES", str(4 * 1024**3)) or 0),
            ingest_max_compression_ratio=float(_env("INGEST_MAX_COMPRESSION_RATIO", "200") or 200),
            ingest_max_line_bytes=int(_env("INGEST_MAX_LINE_BYTES", "2000000") or 2000000),
            ingest_max_columns=int(_env("INGEST_MAX_COLUMNS", "1000") or 1000),
            duckdb_threads=int(threads) if threads else None,
            analytics_engine=(_env("ANALYTICS_ENGINE", "duckdb") or "duckdb").lower(),
            analytics_lock_stale_seconds=int(_env("ANALYTICS_LOCK_STALE_SECONDS", "1800") or 1800),
            analytics_rewrites=(_env("ANALYTICS_REWRITES", "all") or "all").lower(),
            reader_revalidate_seconds=float(_env("READER_REVALIDATE_SECONDS", "5") or 5),
            # API
            api_cors_origins=tuple(o.strip() for o in (_env("API_CORS_ORIGINS", "") or "").split(",") if o.strip()),
            api_cache_max_age=int(_env("API_CACHE_MAX_AGE", "60") or 60),
            api_max_body_bytes=int(_env("API_MAX_BODY_BYTES", "1048576") or 1048576),
            api_max_response_bytes=int(_env("API_MAX_RESPONSE_BYTES", "5000000") or 5000000),
            api_base_path=(_env("API_BASE_PATH", "") or "").rstrip("/"),
            api_answer_cache_bytes=int(_env("API_ANSWER_CACHE_BYTES", str(48 * 1024 * 1024)) or 0),
            # S3 reads
            s3_reads=(_env("S3_READS", "auto") or "auto").lower(),
            mirror_max_bytes=_megabytes("MIRROR_MAX_MB"),
            aws_region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION"),
            # Training
            train_clv_horizon_days=int(_env("TRAIN_CLV_HORIZON_DAYS", "90") or 90),
            train_forecast_weeks=int(_env("TRAIN_FORECAST_WEEKS", "12") or 12),
            train_gate_tolerance=float(_env("TRAIN_GATE_TOLERANCE", "0.05") or 0.05),
            train_seed=int(_env("TRAIN_SEED", "42") or 42),
        )


def _lambda_memory_limit() -> str | None:
    """In Lambda, leave DuckDB ~60 % of the function memory so Python and buffers fit beside it."""
    mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    return f"{int(int(mb) * 0.6)}MB" if mb else None


def _megabytes(name: str) -> int | None:
    """A size in MB from the environment as bytes (None when unset); a clear error when not a number."""
    raw = _env(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of megabytes") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must be >= 0")
    return int(value * 1024 * 1024)
