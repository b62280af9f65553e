"""bench/ingest: a generated CSV -> curated Parquet, Retail Lake vs a straightforward pandas pipeline.

Both sides run in the same bench run, each in a fresh child process (A B A B ...), and the ratios are
printed. Targets (issue 2): throughput >= 2x the reference, peak memory <= 0.8x, and memory flat as the
file grows (peak RSS at 10M rows close to the one at 1M rows).

    .venv/bin/python bench/ingest.py                 # 1M rows side by side + 10M rows project only
    .venv/bin/python bench/ingest.py --rows 200000 --big-rows 0 --repeat 1   # quick look
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
from _harness import alternate, run_child

HERE = Path(__file__).resolve()


# --- the two sides, run as children of this script ------------------------------------------------

def project_side(csv_path: str, lake: str) -> dict:
    from retail_lake.ingest import ingest_file

    shutil.rmtree(lake, ignore_errors=True)
    result = ingest_file(csv_path, lake)
    return {"rows_in": result.rows_in, "accepted": result.rows_accepted, "quarantined": result.rows_quarantined}


def reference_side(csv_path: str, out: str) -> dict:
    """What a data engineer would write first with pandas: read, clean, dedupe, partitioned Parquet."""
    import pandas as pd

    shutil.rmtree(out, ignore_errors=True)
    df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    rows_in = len(df)
    for col in df.columns:
        df[col] = df[col].str.strip()
    df["invoice_date"] = pd.to_datetime(df["invoice_date"], format="%d/%m/%Y", errors="coerce")
    for col in ("quantity", "price", "age"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    ok = (df["invoice_no"] != "") & (df["customer_id"] != "") & df["invoice_date"].notna()
    ok &= (df["quantity"] > 0) & (df["price"] >= 0)
    quarantined = df[~ok]
    df = df[ok].drop_duplicates()
    df["year"] = df["invoice_date"].dt.year
    df["month"] = df["invoice_date"].dt.month
    df.to_parquet(out, partition_cols=["year", "month"], compression="zstd", index=False)
    return {"rows_in": rows_in, "accepted": len(df), "quarantined": len(quarantined)}


# --- the bench ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="project-only memory check (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="where data is generated (default: a temp folder)")
    parser.add_argument("--side", choices=["project", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.side:  # child mode
        fn = project_side if args.side == "project" else reference_side
        print(json.dumps(fn(args.csv, args.out)))
        return 0

    from retail_lake.generate import generate

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_1m = work / f"sales_{args.rows}.csv"
    if not csv_1m.exists():
        print(f"generating {args.rows:,} rows ...", flush=True)
        generate(csv_1m, rows=args.rows, customers=max(1, args.rows // 4), seed=7)
    size_mb = csv_1m.stat().st_size / 1e6
    print(f"ingest bench: {args.rows:,} rows ({size_mb:.0f} MB CSV), {args.repeat} alternating runs per side")

    def side(name: str, csv_path: Path, out: Path) -> list[str]:
        return [str(HERE), "--side", name, "--csv", str(csv_path), "--out", str(out)]

    project, reference = alternate(
        side("project", csv_1m, work / "lake"), side("reference", csv_1m, work / "pandas_out"), args.repeat
    )
    rows = args.rows
    print()
    print(f"{'':<22}{'seconds':>9}{'rows/s':>13}{'peak RSS MB':>13}")
    print(f"{'retail-lake ingest':<22}{project.seconds:>9.2f}{rows / project.seconds:>13,.0f}"
          f"{project.peak_rss_mb:>13.0f}")
    print(f"{'pandas reference':<22}{reference.seconds:>9.2f}{rows / reference.seconds:>13,.0f}"
          f"{reference.peak_rss_mb:>13.0f}")
    speedup = reference.seconds / project.seconds
    memory = project.peak_rss_mb / reference.peak_rss_mb
    print(f"throughput ratio (project/reference): {speedup:.2f}x   target >= 2x   "
          f"{'OK' if speedup >= 2 else 'MISSED'}")
    print(f"peak memory ratio (project/reference): {memory:.2f}x   target <= 0.8x   "
          f"{'OK' if memory <= 0.8 else 'MISSED'}")
    print(f"accounted rows: project {project.output}, reference {reference.output}")

    if args.big_rows:
        csv_big = work / f"sales_{args.big_rows}.csv"
        if not csv_big.exists():
            print(f"\ngenerating {args.big_rows:,} rows ...", flush=True)
            started = time.perf_counter()
            generate(csv_big, rows=args.big_rows, customers=max(1, args.big_rows // 4), seed=7)
            print(f"  {time.perf_counter() - started:.1f}s, {csv_big.stat().st_size / 1e6:.0f} MB")
        big = run_child(side("project", csv_big, work / "lake_big"))
        growth = big.peak_rss_mb / project.peak_rss_mb
        print(f"\nmemory as the file grows (project): {rows:,} rows {project.peak_rss_mb:.0f} MB -> "
              f"{args.big_rows:,} rows {big.peak_rss_mb:.0f} MB ({growth:.2f}x for {args.big_rows / rows:.0f}x "
              f"the rows; {args.big_rows / big.seconds:,.0f} rows/s)   {'FLAT' if growth < 2 else 'GROWING'}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
