"""bench/analytics: every analytics table, Retail Lake (DuckDB SQL) vs a straightforward pandas version.

Both sides start from the same lake (generated rows, ingested into curated Parquet) and run in the
same bench run, each in a fresh child process (A B A B ...); seconds, peak RSS and the ratios are
printed, and headline figures of both sides are checked to agree. Targets (issue 3): all tables for
10M rows within 20 s on 2 cores, at least 5x faster than the pandas reference, peak memory < 2 GB.

    .venv/bin/python bench/analytics.py --workdir /tmp/bench-analytics      # 1M x3, then 10M once
    .venv/bin/python bench/analytics.py --rows 200000 --big-rows 0 --repeat 1  # quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Run, alternate, run_child

HERE = Path(__file__).resolve()
TARGET_SECONDS_10M = 20.0
TARGET_SPEEDUP = 5.0
TARGET_PEAK_MB = 2048.0


# --- the two sides, run as children of this script ------------------------------------------------

def project_side(lake: str) -> dict:
    """run_analytics on the lake (compaction check, sources, all tables), then its headline figures."""
    from retail_lake.analytics import run_analytics
    from retail_lake.query import connect

    started = time.perf_counter()
    results = run_analytics(lake)
    seconds = time.perf_counter() - started
    failed = [r.table for r in results if not r.ok]
    if failed:
        raise SystemExit(f"tables failed: {failed}")
    con = connect(lake)
    try:
        out = {
            "store_revenue": dict(con.execute("SELECT store, revenue FROM store_performance").fetchall()),
            "store_transactions": dict(con.execute("SELECT store, transactions FROM store_performance").fetchall()),
            "segment_customers": dict(con.execute("SELECT segment, customers FROM rfm_segments").fetchall()),
            "repeat_customers": con.execute(
                "SELECT customers FROM repeat_vs_onetime WHERE customer_type = 'repeat'").fetchone()[0],
            "overall_payment_transactions": dict(con.execute(
                "SELECT payment_method, transactions FROM payment_methods WHERE breakdown = 'overall'").fetchall()),
            "cohort_month0_customers": con.execute(
                "SELECT SUM(customers) FROM cohort_retention WHERE months_since_first = 0").fetchone()[0],
            "total_cost": con.execute("SELECT cost FROM profitability WHERE breakdown = 'overall'").fetchone()[0],
            "tables": len(results),
        }
    finally:
        con.close()
    return {**out, "inner_seconds": seconds}


def reference_side(lake: str) -> dict:
    from _pandas_reference import compute, headline

    started = time.perf_counter()
    tables = compute(lake)
    return {**headline(tables), "inner_seconds": time.perf_counter() - started}


# --- checks and report -------------------------------------------------------------------------------

def compare(project: dict, reference: dict) -> list[str]:
    """Differences between the headline figures of the two sides (empty when they agree)."""
    problems = []

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))

    for key in ("store_revenue", "store_transactions", "overall_payment_transactions"):
        a, b = project[key], reference[key]
        if set(a) != set(b) or not all(close(a[k], b[k]) for k in a):
            problems.append(f"{key}: project {a} != reference {b}")
    # Segment sizes within 0.1 % of the customers: the two sides add a customer's line totals in a
    # different order, so a monetary value can differ in its last bit and leave or join a tie group.
    a, b = project["segment_customers"], reference["segment_customers"]
    allowed = max(2, sum(b.values()) // 1000)
    if set(a) != set(b) or any(abs(a[k] - b[k]) > allowed for k in a):
        problems.append(f"segment_customers (tolerance {allowed}): project {a} != reference {b}")
    for key in ("repeat_customers", "cohort_month0_customers", "total_cost"):
        if not close(project[key], reference[key]):
            problems.append(f"{key}: project {project[key]} != reference {reference[key]}")
    return problems


def prepare(work: Path, rows: int) -> Path:
    """A lake holding ``rows`` generated lines (cached in the workdir: 10M take a few minutes)."""
    from retail_lake.generate import generate
    from retail_lake.ingest import ingest_file

    lake = work / f"lake_{rows}"
    if (lake / "curated" / "sales").exists():
        return lake
    csv = work / f"sales_{rows}.csv"
    if not csv.exists():
        print(f"generating {rows:,} rows ...", flush=True)
        generate(csv, rows=rows, customers=max(1, rows // 4), seed=7)
    print(f"ingesting {rows:,} rows ...", flush=True)
    started = time.perf_counter()
    result = ingest_file(str(csv), str(lake))
    print(f"  {result.rows_accepted:,} lines accepted in {time.perf_counter() - started:.0f}s", flush=True)
    return lake


def report(rows: int, project: Run, reference: Run, runs: int, *, judged: bool) -> None:
    """Print one size's figures; ``judged``: the issue's targets apply to this size (10M rows)."""
    speedup = reference.seconds / project.seconds
    memory = project.peak_rss_mb / reference.peak_rss_mb
    print(f"\n{rows:,} rows ({runs} run(s) per side, median)")
    print(f"{'':<26}{'seconds':>9}{'peak RSS MB':>13}")
    print(f"{'retail-lake (DuckDB SQL)':<26}{project.seconds:>9.2f}{project.peak_rss_mb:>13.0f}")
    print(f"{'pandas reference':<26}{reference.seconds:>9.2f}{reference.peak_rss_mb:>13.0f}")
    verdict = (f"target >= {TARGET_SPEEDUP:.0f}x   {'OK' if speedup >= TARGET_SPEEDUP else 'MISSED'}" if judged
               else "(the issue's targets are for the 10M run)")
    print(f"speed ratio (reference/project): {speedup:.2f}x   {verdict}")
    print(f"peak memory ratio (project/reference): {memory:.2f}x")
    problems = compare(project.output, reference.output)
    print("headline figures agree (store revenue and transactions, RFM segment sizes, repeat customers, "
          "payment mix, cohort sizes, total cost)" if not problems else "HEADLINE FIGURES DIFFER:\n  "
          + "\n  ".join(problems))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="both sides once (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="data cache (default: a temp folder, removed after)")
    parser.add_argument("--side", choices=["project", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:  # child mode
        fn = project_side if args.side == "project" else reference_side
        print(json.dumps(fn(args.lake), default=float))
        return 0

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-analytics-"))
    work.mkdir(parents=True, exist_ok=True)

    def side(name: str, lake: Path) -> list[str]:
        return [str(HERE), "--side", name, "--lake", str(lake)]

    lake = prepare(work, args.rows)
    print(f"analytics bench: all tables on {args.rows:,} rows, {args.repeat} alternating runs per side")
    project, reference = alternate(side("project", lake), side("reference", lake), args.repeat)
    report(args.rows, project, reference, args.repeat, judged=args.rows >= 10_000_000)

    if args.big_rows:
        big_lake = prepare(work, args.big_rows)
        print(f"\nall tables on {args.big_rows:,} rows, one run per side", flush=True)
        big_project = run_child(side("project", big_lake))
        print(f"  project {big_project.seconds:.2f}s {big_project.peak_rss_mb:.0f} MB", flush=True)
        big_reference = run_child(side("reference", big_lake))
        print(f"  reference {big_reference.seconds:.2f}s {big_reference.peak_rss_mb:.0f} MB", flush=True)
        report(args.big_rows, big_project, big_reference, 1, judged=True)
        print(f"10M target: {big_project.seconds:.1f}s (<= {TARGET_SECONDS_10M:.0f}s "
              f"{'OK' if big_project.seconds <= TARGET_SECONDS_10M else 'MISSED'}), peak "
              f"{big_project.peak_rss_mb:.0f} MB (< {TARGET_PEAK_MB:.0f} MB "
              f"{'OK' if big_project.peak_rss_mb < TARGET_PEAK_MB else 'MISSED'})")
        if big_reference.peak_rss_mb > 12 * 1024 or big_reference.seconds > 600:
            print("note: the pandas reference at this size needed more than 12 GB or 10 minutes")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
