"""Why an ingest stopped: a file that can never be used, or a failure a retry may fix."""


class RejectedFileError(Exception):
    """The file cannot be used at all (empty, not CSV/Parquet, required column missing, over a limit).

    Recorded in ingest_log as 'rejected' with this one-line message and remembered: the same
    content is not tried again unless forced (``--force``); retrying cannot help.
    """


class RetryableIngestError(Exception):
    """A transient failure (storage, throttling): the SQS record should fail and be retried."""


class IngestFailedError(RetryableIngestError):
    """Processing failed for a reason a retry may fix (out of memory, disk full, a timeout).

    Recorded in ingest_log as 'failed' (not 'rejected'), so the next ingest of the same content
    runs it again; in Lambda the SQS record fails and is redelivered.
    """
