"""Run ``retail-lake`` in this process and SIGKILL it at its Nth AWS request (issue 10, item 4).

Used by test_hardening_crash.py as ``python tests/integration/crash_child.py <retail-lake args>``.
Every botocore client this process creates registers a ``before-send`` hook (installed by wrapping
``botocore.session.Session.create_client`` before the library imports boto3); the hook counts the
requests about to go on the wire and:

- ``CRASH_AT=N`` (N >= 1): ``os.kill(os.getpid(), SIGKILL)`` at request N, before it is sent, so
  nothing cleans up: no ``finally``, no ``atexit``, no multipart abort, no lock release;
- ``CRASH_LOG=path``: appends one line per request (``<n> <service>.<operation>``), flushed before
  a possible kill, so the parent knows how many requests an undisturbed run makes and which one
  each kill interrupted.

``CRASH_MULTIPART_BYTES=B`` lowers boto3's managed-transfer threshold and part size to B bytes, so
small test files go through CreateMultipartUpload / UploadPart / CompleteMultipartUpload like the
large files of production do (needs an endpoint that accepts small parts: moto's
S3_UPLOAD_PART_MIN_SIZE).

DuckDB's httpfs talks to S3 itself, not through botocore: its reads are not kill points.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import botocore.session

_CRASH_AT = int(os.environ.get("CRASH_AT") or 0)
_LOG = os.environ.get("CRASH_LOG")
_lock = threading.Lock()
_calls = 0


def _before_send(request: Any = None, event_name: str = "", **_kwargs: Any) -> None:
    global _calls
    with _lock:
        _calls += 1
        n = _calls
        if _LOG:
            operation = event_name.split(".", 1)[-1] if event_name else "?"
            with open(_LOG, "a") as fh:
                fh.write(f"{n} {operation}\n")
                fh.flush()
                os.fsync(fh.fileno())
        if n == _CRASH_AT:
            os.kill(os.getpid(), signal.SIGKILL)
    return None  # send the request as usual


_create_client = botocore.session.Session.create_client


def _create_client_with_hook(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _create_client(self, *args, **kwargs)
    client.meta.events.register("before-send", _before_send)
    return client


botocore.session.Session.create_client = _create_client_with_hook  # type: ignore[method-assign]

if os.environ.get("CRASH_MULTIPART_BYTES"):
    import boto3.s3.transfer

    _part = int(os.environ["CRASH_MULTIPART_BYTES"])
    _init = boto3.s3.transfer.TransferConfig.__init__

    def _small_parts(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("multipart_threshold", _part)
        kwargs.setdefault("multipart_chunksize", _part)
        _init(self, *args, **kwargs)

    boto3.s3.transfer.TransferConfig.__init__ = _small_parts  # type: ignore[method-assign]


if __name__ == "__main__":
    from retail_lake.cli import main

    sys.exit(main(sys.argv[1:]))
