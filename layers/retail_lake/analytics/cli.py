"""``retail-lake analytics``: compact the curated sales, compute the business tables, print KPIs.

The lead CLI (retail_lake/cli.py) calls ``add_parser(subparsers)`` and dispatches to ``run(args)``.
Progress goes to stderr, the per-table summary and KPIs to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

from retail_lake.analytics._tables import TABLE_NAMES


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``analytics [--tables t1 t2 ...] [--reference-date YYYY-MM-DD] [--lake DIR|s3://...]``."""
    parser = subparsers.add_parser(
        "analytics",
        help="compute the analytics tables (store performance, RFM, cohorts, ...) and print headline KPIs",
        description="Compact the curated sales, then compute every analytics table (or the ones named, plus "
        "the tables they read) into analytics/<table>/ and print a few headline KPIs. Tables: "
        + ", ".join(TABLE_NAMES) + ".",
    )
    parser.add_argument("--tables", nargs="+", metavar="TABLE", choices=TABLE_NAMES, default=None,
                        help="only these tables (and what they read); default: all")
    parser.add_argument("--reference-date", default=None, metavar="YYYY-MM-DD",
                        help="measure recency from this date (default: the latest invoice date in the lake)")
    parser.add_argument("--no-compact", dest="compact", action="store_false",
                        help="skip compacting the curated sales first")
    parser.add_argument("--lake", default=None, metavar="DIR|s3://bucket/prefix",
                        help="the lake: a local folder or an S3 URI (default: $RETAIL_LAKE, else ./lake)")
    parser.set_defaults(func=run)
    return parser


def _progress(line: str) -> None:
    print(f"  .. {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the analytics on ``args.lake``; 0 when every table succeeded, 1 otherwise."""
    from retail_lake.analytics import format_kpis, headline_kpis
    from retail_lake.analytics._lock import AnalyticsBusyError
    from retail_lake.analytics._runner import EmptyLakeError, run_analytics
    from retail_lake.config import Settings
    from retail_lake.query import connect
    from retail_lake.storage import open_storage

    lake = getattr(args, "lake", None) or os.environ.get("RETAIL_LAKE") or "./lake"
    raw_date = getattr(args, "reference_date", None)
    try:
        reference_date = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        print(f"retail-lake analytics: --reference-date {raw_date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    storage = open_storage(lake)
    started = time.monotonic()
    try:
        results = run_analytics(storage, getattr(args, "tables", None), settings=settings, progress=_progress,
                                reference_date=reference_date, compact=getattr(args, "compact", True))
    except (EmptyLakeError, AnalyticsBusyError, ValueError) as exc:
        print(f"retail-lake analytics: {exc}", file=sys.stderr)
        return 1
    failed = [r for r in results if not r.ok]
    written = sum(r.rows or 0 for r in results)
    print(f"analytics: {len(results) - len(failed)}/{len(results)} tables, {written:,} rows, "
          f"run {results[0].run_id if results else '-'}, {time.monotonic() - started:.1f}s")
    for r in failed:
        print(f"  {r.table}: {r.status.upper()}: {r.message}")
    kpi_tables = ["repeat_vs_onetime", "store_performance"]
    for line in format_kpis(headline_kpis(connect(storage, settings, tables=kpi_tables))):
        print(f"  {line}")
    return 1 if failed else 0
