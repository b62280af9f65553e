"""Build sqs_s3_put.json: the SQS event Lambda receives when S3 notifies the ingest queue.

S3 -> SQS -> Lambda nests the S3 notification (s3_put.json) as the JSON ``body`` of an SQS record
(sqs_receive_message.json); ``md5OfBody`` is the MD5 of that body. Both inputs come unchanged from
``sam local generate-event``; rerun this script after regenerating them (see README.md).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(s3_event: dict, sqs_event: dict) -> dict:
    """The SQS event whose single record carries ``s3_event`` as S3 would send it."""
    body = json.dumps(s3_event, separators=(",", ":"))
    record = dict(sqs_event["Records"][0])
    record["body"] = body
    record["md5OfBody"] = hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    return {"Records": [record]}


def main() -> None:
    s3_event = json.loads((HERE / "s3_put.json").read_text())
    sqs_event = json.loads((HERE / "sqs_receive_message.json").read_text())
    out = HERE / "sqs_s3_put.json"
    out.write_text(json.dumps(build(s3_event, sqs_event), indent=2) + "\n")
    print(out)


if __name__ == "__main__":
    main()
