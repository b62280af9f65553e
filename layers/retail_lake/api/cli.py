"""``retail-lake serve``: the API (and its dashboard) on this machine, with uvicorn.

Loopback by default: the API has no authentication of its own (in AWS an API Gateway authorizer
guards it), so serving beyond 127.0.0.1 is a choice made with --host.
"""

from __future__ import annotations

import argparse
import os
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="run the HTTP API and dashboard locally (uvicorn)",
        description="Serve the Retail Lake API (/api/v1, OpenAPI at /docs) and the dashboard (/dashboard) "
        "over the lake with uvicorn. Tables are read from the lake's current versions and re-read when a "
        "new version is published.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--root-path", default=None, metavar="PREFIX",
                   help="serve behind a proxy under this path prefix (e.g. /prod)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.add_argument("--lake", default=None, metavar="DIR|s3://bucket/prefix",
                   help="the lake: a local folder or an S3 URI (default: $RETAIL_LAKE, else ./lake)")
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    import dataclasses

    import uvicorn

    from retail_lake.api.app import create_app
    from retail_lake.config import Settings

    settings = Settings.from_env()
    lake = args.lake or os.environ.get("RETAIL_LAKE") or settings.lake
    settings = dataclasses.replace(settings, lake=lake, api_base_path=(args.root_path or "").rstrip("/")
                                   or settings.api_base_path)
    if args.workers > 1:
        # Workers import the app themselves: hand them the lake through the environment.
        os.environ["RETAIL_LAKE"] = lake
        if args.root_path:
            os.environ["API_BASE_PATH"] = args.root_path
        app: object = "retail_lake.api.app:create_app"
    else:
        app = create_app(settings)
    print(f"serving the lake {lake} on http://{args.host}:{args.port}{settings.api_base_path} "
          f"(docs: /docs, dashboard: /dashboard); Ctrl-C stops", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, workers=args.workers, factory=args.workers > 1,
                log_level=args.log_level, access_log=not args.no_access_log, lifespan="off")
    return 0
