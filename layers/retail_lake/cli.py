"""``retail-lake``: the local front door (generate, ingest, sql, analytics, demo).

Every subcommand takes ``--lake DIR|s3://bucket/prefix`` after its own arguments; it defaults to
``$RETAIL_LAKE``, else ``./lake``. Results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.util
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

INGESTABLE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet", ".txt", ".tsv")


def default_lake() -> str:
    return os.environ.get("RETAIL_LAKE") or "./lake"


def add_lake_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake",
        default=None,
        metavar="DIR|s3://bucket/prefix",
        help="the lake: a local folder or an S3 URI (default: $RETAIL_LAKE, else ./lake)",
    )


def lake_of(args: argparse.Namespace) -> str:
    return args.lake or default_lake()


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def row_progress(done: int, total: int) -> None:
    progress(f"{done:,}/{total:,} rows ({100 * done / max(total, 1):.0f}%)")


# --- generate -----------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    from retail_lake.generate import generate

    started = time.monotonic()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = generate(
        out, rows=args.rows, customers=args.customers, seed=args.seed,
        with_costs=args.with_costs, messy=args.messy, progress=row_progress,
    )
    print(f"wrote {args.rows:,} rows ({args.customers:,} customers, seed {args.seed}) to {out} "
          f"in {time.monotonic() - started:.1f}s")
    injected = {k: v for k, v in (getattr(summary, "injected", None) or {}).items() if v}
    if injected:
        print("injected bad rows: " + ", ".join(f"{k} {v}" for k, v in injected.items()))
    return 0


# --- ingest -------------------------------------------------------------------------------------

def _expand(paths: Sequence[str]) -> list[str]:
    """Files as given; folders expand to the ingestable files inside them (sorted)."""
    out: list[str] = []
    for item in paths:
        path = Path(item)
        if not item.startswith("s3://") and path.is_dir():
            found = sorted(path.rglob("*"))
            out.extend(str(p) for p in found if p.is_file() and p.name.lower().endswith(INGESTABLE_SUFFIXES))
        else:
            out.append(item)
    return out


def format_result(result: Any) -> str:
    name = result.source
    if result.status == "rejected":
        return f"{name}: REJECTED: {result.message}"
    if result.status == "skipped":
        return (f"{name}: already ingested (upload {result.upload_id}): {result.rows_in:,} rows in, "
                f"{result.rows_accepted:,} accepted, {result.rows_quarantined:,} quarantined; nothing changed")
    line = (f"{name}: {result.rows_in:,} rows in, {result.rows_accepted:,} accepted, "
            f"{result.rows_quarantined:,} quarantined")
    if result.rows_flagged:
        line += f", {result.rows_flagged:,} flagged"
    line += f" -> {len(result.partitions)} {'file' if result.table == 'stores' else 'partition(s)'}"
    line += f" [{result.table}, upload {result.upload_id}, {result.duration_ms / 1000:.1f}s]"
    if result.quarantine_reasons:
        line += "\n  quarantined: " + ", ".join(f"{k} {v}" for k, v in result.quarantine_reasons.items())
    notes = getattr(result, "notes", None)
    if notes:  # what was decided for the file: encoding, date order, number format, invoices replaced
        line += "\n  notes: " + "; ".join(notes)
    elif result.message and result.message != "ok" and "ignored columns" in result.message:
        line += "\n  note: " + result.message.split("; ", 1)[-1]
    return line


def cmd_ingest(args: argparse.Namespace) -> int:
    from retail_lake.ingest import ingest_file, ingest_s3_object
    from retail_lake.storage import open_storage, parse_s3_uri

    lake = open_storage(lake_of(args))
    files = _expand(args.files)
    if not files:
        print("retail-lake ingest: no files to ingest", file=sys.stderr)
        return 2
    failures = 0
    totals = [0, 0, 0]
    for item in files:
        if len(files) > 1:
            progress(f"ingesting {item}")
        try:
            options = {"encoding": getattr(args, "encoding", None), "force": getattr(args, "force", False)}
            if item.startswith("s3://"):
                bucket, key = parse_s3_uri(item)
                result = ingest_s3_object(bucket, key, lake=lake, progress=progress, **options)
            else:
                result = ingest_file(item, lake, kind=args.table, progress=progress, **options)
        except Exception as exc:  # storage/network trouble: one line, not a traceback
            print(f"{item}: FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            failures += 1
            continue
        print(format_result(result))
        if not result.ok:
            failures += 1
        totals[0] += result.rows_in
        totals[1] += result.rows_accepted
        totals[2] += result.rows_quarantined
    if len(files) > 1:
        print(f"total: {len(files)} files, {totals[0]:,} rows in, {totals[1]:,} accepted, "
              f"{totals[2]:,} quarantined, {failures} file(s) not processed")
    return 1 if failures else 0


# --- sql ----------------------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/Infinity
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, timedelta | UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= 1e15:
            return str(value)  # inf, -inf, nan, 1e+308: printed as Python spells them (int() would overflow)
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(_jsonable(value))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A CSV field: non-finite floats spelled out, and text a spreadsheet would run as a formula
    (= + - @ tab CR at the start, not a plain number) prefixed with an apostrophe (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    value = _jsonable(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _numeric(value):
        return "'" + value
    return value


def render(names: list[str], rows: list[tuple], fmt: str, out: Any = sys.stdout) -> None:
    if fmt == "json":
        json.dump([{n: _jsonable(v) for n, v in zip(names, row, strict=True)} for row in rows], out, indent=2)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([[_csv_cell(v) for v in row] for row in rows])
    else:
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
        print(" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)), file=out)
        print("-+-".join("-" * w for w in widths), file=out)
        for row in cells:
            print(" | ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)),
                  file=out)
        print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", file=out)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from retail_lake.query import connect

    query = args.query
    if query == "-":
        query = sys.stdin.read()
    con = connect(lake_of(args))
    try:
        cur = con.execute(query)
    except duckdb.Error as exc:
        print(f"retail-lake sql: {str(exc).strip()}", file=sys.stderr)
        return 1
    if cur.description is None:
        return 0
    names = [d[0] for d in cur.description]
    render(names, cur.fetchall(), args.format)
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from retail_lake.query import connect

    con = connect(lake_of(args))
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name"
    ).fetchall()
    render(["table", "type"], rows, args.format)
    return 0


# --- demo ---------------------------------------------------------------------------------------

def cmd_demo(args: argparse.Namespace) -> int:
    """The main job on the embedded default: generate sample data, ingest it, compute the tables, train
    the models, answer SQL, then run the platform (drop folder, API, dashboard) until Ctrl-C."""
    from retail_lake.analytics import cli as analytics_cli
    from retail_lake.ingest import ingest_file

    lake = lake_of(args)
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    sample = data_dir / f"customer_shopping_data_{args.rows}_{args.seed}.csv"
    print(f"== 1. generate: {args.rows:,} sales rows -> {sample}", flush=True)
    if not sample.exists():
        from retail_lake.generate import generate

        generate(sample, rows=args.rows, customers=args.customers, seed=args.seed, progress=row_progress)
    else:
        print("   (already generated)")
    print(f"== 2. ingest into the lake at {lake}", flush=True)
    result = ingest_file(sample, lake, progress=progress)
    print("   " + format_result(result).replace("\n", "\n   "))
    if not result.ok:
        return 1
    print("== 3. analytics: every business table", flush=True)
    code = analytics_cli.run(argparse.Namespace(lake=lake, tables=None, reference_date=None))
    if code:
        return code
    if args.train:
        print("== 4. train: segmentation, customer lifetime value, sales forecast (each against its baseline)",
              flush=True)
        from retail_lake.models import format_summary, train

        started = time.monotonic()
        results = train(lake, progress=progress)
        for line in format_summary(results):
            print(f"   {line}")
        print(f"   trained in {time.monotonic() - started:.1f}s")
    print("== sample SQL: revenue by store (retail-lake sql \"...\" --lake " + lake + ")")
    from retail_lake.query import connect

    con = connect(lake, tables=["sales"])
    query = (
        "SELECT shopping_mall AS store, round(sum(price), 2) AS revenue, count(DISTINCT invoice_no) AS transactions, "
        "count(DISTINCT customer_id) AS customers FROM sales GROUP BY 1 ORDER BY revenue DESC LIMIT 5"
    )
    print(f"   {query}")
    cur = con.execute(query)
    render([d[0] for d in cur.description], cur.fetchall(), "table")
    con.close()
    if not args.serve:
        return 0
    print(f"== 5. the platform: drop files into {args.drop}/, the dashboard and API on http://{args.host}:{args.port}/"
          " (Ctrl-C stops)", flush=True)
    from retail_lake.local import run_platform

    return run_platform(lake, args.drop, args.port, host=args.host)


# --- parser -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retail-lake",
        description="Retail Lake: store sales files -> partitioned Parquet lake -> DuckDB/Athena analytics.",
        epilog="Every subcommand takes --lake DIR|s3://bucket/prefix (default: $RETAIL_LAKE, else ./lake). "
        "Set AWS_ENDPOINT_URL to use moto's server or LocalStack for s3:// lakes.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("generate", help="write a realistic sample sales file (customer shopping dataset schema)",
                       description="Write a realistic, deterministic sample of the customer shopping dataset: "
                       "repeat customers, seasonality, store and category mix.")
    p.add_argument("--rows", type=int, default=100_000, help="number of sales rows (default 100000)")
    p.add_argument("--customers", type=int, default=None, help="customer pool size (default rows/3)")
    p.add_argument("--seed", type=int, default=42, help="random seed; the same seed gives the same bytes (default 42)")
    p.add_argument("--out", required=True, help="output file: .csv, .csv.gz or .parquet")
    p.add_argument("--with-costs", action="store_true", help="add the optional discount and unit_cost columns")
    p.add_argument("--messy", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of deliberately bad rows (missing keys, bad dates, ...) for ingest demos")
    add_lake_option(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("ingest", help="validate and load sales (or stores) files into the lake",
                       description="Ingest CSV, CSV.gz or Parquet files (or folders of them, or s3:// objects). "
                       "Each row is accepted into curated/sales or quarantined with a reason; a per-file summary "
                       "is printed. Exit 0 when every file was processed (even with quarantined rows), 1 when a "
                       "file could not be used at all.")
    p.add_argument("files", nargs="+", metavar="FILE", help="files, folders or s3://bucket/key URIs")
    p.add_argument("--table", choices=["sales", "stores"], default=None,
                   help="what the files hold (default: stores for files under a stores/ folder or whose header has "
                   "a mall and a region but no invoice column, else sales)")
    p.add_argument("--encoding", default=None, metavar="NAME",
                   help="text encoding of the files (utf-8, cp1254, cp1252, latin-1, ...); default: detected "
                   "(UTF-8, else Windows-1254 when Turkish letters show, else Windows-1252)")
    p.add_argument("--force", action="store_true",
                   help="ingest even files already ingested or rejected: a local file becomes a new upload "
                   "(its invoices the latest again)")
    add_lake_option(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("sql", help="answer SQL over the lake with DuckDB (tables: sales, stores, ...)",
                       description="Run a query over the lake. Tables: sales (deduplicated view), sales_versions, "
                       "stores, quarantine_sales, ingest_log and the analytics tables.")
    p.add_argument("query", help="the SQL query ('-' reads it from stdin)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="output format (json: an array of row objects; default table)")
    add_lake_option(p)
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("tables", help="list the tables the lake answers")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    add_lake_option(p)
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("demo", help="the main job: generate sample data, ingest, analyse, train, then serve the "
                       "platform", description="Run the whole local flow on the embedded default lake: generate "
                       "sample sales, ingest them, compute every analytics table, train the models, answer a sample "
                       "SQL query, then run the platform (retail-lake up: drop folder, API, dashboard) until Ctrl-C. "
                       "--no-serve exits after the one-shot run.")
    p.add_argument("--rows", type=int, default=100_000, help="sample rows to generate (default 100000)")
    p.add_argument("--customers", type=int, default=20_000, help="customer pool size (default 20000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data-dir", default="./data", help="where the sample file is written (default ./data)")
    p.add_argument("--no-train", dest="train", action="store_false", help="skip training the models")
    p.add_argument("--no-serve", dest="serve", action="store_false",
                   help="exit after the one-shot run instead of running the platform (retail-lake up)")
    p.add_argument("--drop", default="./drop", metavar="DIR", help="drop folder of the platform (default ./drop)")
    p.add_argument("--host", default="127.0.0.1", help="address of the API and dashboard (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port of the API and dashboard (default 8000)")
    add_lake_option(p)
    p.set_defaults(func=cmd_demo)

    # Subcommands owned by the job packages: each module has ``add_parser(subparsers)`` and imports
    # nothing heavy at module level (the parser is built on every call of the CLI).
    for module_name in JOB_CLI_MODULES:
        try:
            present = importlib.util.find_spec(module_name) is not None
        except ModuleNotFoundError:  # the job's package itself is not there (find_spec raises then)
            present = False
        if present:
            importlib.import_module(module_name).add_parser(sub)
    return parser


JOB_CLI_MODULES = (
    "retail_lake.analytics.cli",  # analytics
    "retail_lake.ingest.cli",  # redrive
    "retail_lake.api.cli",  # serve
    "retail_lake.models.cli",  # train
    "retail_lake.local.cli",  # up
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "generate" and args.customers is None:
        args.customers = max(1, args.rows // 3)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # one line for the user; RETAIL_LAKE_DEBUG=1 shows the traceback
        if os.environ.get("RETAIL_LAKE_DEBUG"):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"retail-lake {args.command}: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
