"""Ingest: an uploaded file becomes curated Parquet, quarantine rows and one ingest_log row.

Every data row ends up either in ``curated/sales`` or in ``quarantine/sales`` with a reason naming the
file, row and rule (rows_in = rows_accepted + rows_quarantined). Outputs are named by the upload's
deterministic id, so redelivery and re-upload change nothing.
"""

from retail_lake.ingest._errors import IngestFailedError, RejectedFileError, RetryableIngestError
from retail_lake.ingest._pipeline import (
    IngestResult,
    Upload,
    file_sha256,
    ingest_file,
    ingest_path,
    ingest_s3_object,
    is_stores_key,
)

__all__ = [
    "IngestFailedError",
    "IngestResult",
    "RejectedFileError",
    "RetryableIngestError",
    "Upload",
    "file_sha256",
    "ingest_file",
    "ingest_path",
    "ingest_s3_object",
    "is_stores_key",
]
