"""``retail-lake up``: the whole platform on this machine (the lead CLI loads this module).

Nothing heavy is imported here: the parser is built on every call of the CLI.
"""

from __future__ import annotations

import argparse
import os


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds cannot be negative")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0-65535 (0 picks a free one)")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``up [--lake DIR] [--drop DIR] [--port P] ...``."""
    parser = subparsers.add_parser(
        "up",
        help="run the whole platform locally: drop folder -> ingest -> analytics -> API and dashboard",
        description=(
            "Bring the platform up on this machine with the functions' own handlers: files dropped into the "
            "drop folder (raw/sales/, raw/stores/, or anywhere: the header decides) are handed to the ingest "
            "function in the SQS event Lambda would build; analytics re-runs once ingests settle and on demand "
            "(touch <drop>/.refresh, or r + Enter); the API and its dashboard are served on localhost. "
            "With AWS_ENDPOINT_URL set (moto's server, LocalStack), template.yaml's upload bucket, its S3 -> SQS "
            "notification, the queue and its DLQ are created there, dropped files are uploaded, and a poller on "
            "the queue invokes the handler. Ctrl-C stops it."
        ),
        epilog="Progress goes to stderr. Exit 0 after Ctrl-C/SIGTERM, 2 when it cannot start.",
    )
    parser.add_argument("--drop", default="./drop", metavar="DIR",
                        help="the folder watched for new files (default ./drop, created)")
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8000, help="API port (default 8000; 0 picks a free one)")
    parser.add_argument("--debounce", type=_seconds, default=3.0, metavar="SECONDS",
                        help="re-run analytics after this long without new ingests (default 3)")
    parser.add_argument("--settle", type=_seconds, default=1.0, metavar="SECONDS",
                        help="read a file once its size and mtime were unchanged this long (default 1)")
    parser.add_argument("--poll", type=_seconds, default=0.5, metavar="SECONDS",
                        help="how often the drop folder is scanned (default 0.5)")
    parser.add_argument("--retry-delay", type=_seconds, default=5.0, metavar="SECONDS",
                        help="a failed upload is retried after this long times its attempt number (default 5)")
    parser.add_argument("--no-api", dest="serve_api", action="store_false", help="do not serve the API")
    parser.add_argument("--no-analytics", dest="analytics", action="store_false",
                        help="ingest only; never run analytics")
    parser.add_argument("--name-prefix", default="retail-lake",
                        help="template.yaml's NamePrefix for the stack on AWS_ENDPOINT_URL (default retail-lake)")
    parser.add_argument("--stage", default="dev", choices=["dev", "prod"],
                        help="template.yaml's Stage for that stack (default dev)")
    parser.add_argument("--verbose", action="store_true",
                        help="show the handlers' JSON logs (stdout) and the API's access log")
    parser.add_argument("--lake", default=None, metavar="DIR|s3://bucket/prefix",
                        help="the lake: a local folder or an S3 URI (default: $RETAIL_LAKE, else ./lake)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    import sys

    from retail_lake.local._platform import run_platform

    return run_platform(
        args.lake or os.environ.get("RETAIL_LAKE") or "./lake",
        args.drop,
        args.port,
        host=args.host,
        debounce_seconds=args.debounce,
        settle_seconds=args.settle,
        poll_seconds=max(0.05, args.poll),
        retry_delay_seconds=args.retry_delay,
        serve_api=args.serve_api,
        analytics=args.analytics,
        name_prefix=args.name_prefix,
        stage=args.stage,
        verbose=args.verbose,
        interactive=bool(sys.stdin and sys.stdin.isatty()),
    )
