"""The lake's layout: every prefix and key, spelled once.

Keys are relative to the lake root (a local folder or ``s3://bucket/prefix``). Everything that
writes or reads a lake object asks this module for its key, so a change of layout is one edit.
"""

from __future__ import annotations

__all__ = [
    "ANALYTICS_LOCK_KEY",
    "ANALYTICS_PREFIX",
    "COMPACTED_FILE_PREFIX",
    "CURATED_PREFIXES",
    "INGEST_LOG_PREFIX",
    "MODELS_PREFIX",
    "POINTER_NAME",
    "PREDICTIONS_PREFIX",
    "QUARANTINE_SALES_PREFIX",
    "QUARANTINE_STORES_PREFIX",
    "SALES_PREFIX",
    "STORES_KEY",
    "STORES_PREFIX",
    "ingest_log_key",
    "model_prefix",
    "pointer_key",
    "quarantine_key",
    "sales_file_key",
    "sales_partition_prefix",
    "version_key",
    "versioned_prefix",
]

SALES_PREFIX = "curated/sales/"
STORES_PREFIX = "curated/stores/"
STORES_KEY = STORES_PREFIX + "stores.parquet"
QUARANTINE_SALES_PREFIX = "quarantine/sales/"
QUARANTINE_STORES_PREFIX = "quarantine/stores/"
INGEST_LOG_PREFIX = "audit/ingest_log/"
ANALYTICS_PREFIX = "analytics/"
ANALYTICS_LOCK_KEY = ANALYTICS_PREFIX + "_lock.json"
# Batch predictions of the trained models: versioned tables like the analytics ones.
PREDICTIONS_PREFIX = "predictions/"
# Model artefacts: models/<model>/<version>/ (model file, metrics.json, features, snapshot id).
MODELS_PREFIX = "models/"
# Compaction names the one file it writes per partition with this prefix.
COMPACTED_FILE_PREFIX = "compacted-"
# The pointer object naming the current version of a versioned table.
POINTER_NAME = "_current.json"

# Curated table -> prefix of its Parquet files (the DuckDB views and Glue tables read these).
CURATED_PREFIXES: dict[str, str] = {
    "sales_versions": SALES_PREFIX,
    "stores": STORES_PREFIX,
    "quarantine_sales": QUARANTINE_SALES_PREFIX,
    "ingest_log": INGEST_LOG_PREFIX,
}


def sales_partition_prefix(year: int, month: int) -> str:
    return f"{SALES_PREFIX}year={year:04d}/month={month:02d}/"


def sales_file_key(year: int, month: int, upload_id: str) -> str:
    """An upload's accepted rows of one month: named after the upload, so a redelivery rewrites it."""
    return f"{sales_partition_prefix(year, month)}{upload_id}.parquet"


def quarantine_key(upload_id: str, kind: str = "sales") -> str:
    prefix = QUARANTINE_SALES_PREFIX if kind == "sales" else QUARANTINE_STORES_PREFIX
    return f"{prefix}{upload_id}.parquet"


def ingest_log_key(upload_id: str) -> str:
    return f"{INGEST_LOG_PREFIX}{upload_id}.parquet"


def versioned_prefix(table: str) -> str:
    """Folder of a versioned table (analytics and prediction tables): from its lake_schemas location."""
    from retail_lake import schemas

    location = schemas.table(table).location
    return location if location.endswith("/") else location + "/"


def pointer_key(table: str) -> str:
    return versioned_prefix(table) + POINTER_NAME


def version_key(table: str, run_id: str) -> str:
    return f"{versioned_prefix(table)}run={run_id}/part-0.parquet"


def model_prefix(model: str, version: str | None = None) -> str:
    return f"{MODELS_PREFIX}{model}/" + (f"{version}/" if version else "")
