"""Why an ingest stopped: a file that can never be used, or a failure a retry may fix."""


class RejectedFileError(Exception):
    """The file cannot be used at all (empty, not CSV/Parquet, required column missing).

    Recorded in ingest_log as 'rejected' with this one-line message; retrying cannot help.
    """


class RetryableIngestError(Exception):
    """A transient failure (storage, throttling): the SQS record should fail and be retried."""
