"""bench/ingest: a generated CSV -> partitioned Parquet, `retail-lake ingest` vs the plainest pandas and Polars.

Each side is a whole process, started the way a user starts it: the project is the installed
`retail-lake ingest FILE --lake DIR` command; the references are `python bench/_ingest_pandas_reference.py`
and `python bench/_ingest_polars_reference.py` (the issue's pipeline, exactly); beside them
`python bench/_ingest_duckdb_reference.py`, the same pipeline as a DuckDB user writes it first (not a
target: the engine's floor for the reference's work alone). Runs alternate (project, pandas, polars,
duckdb, project, ...) so the noise of a shared machine falls on every side; medians are reported with
their ratios. Targets (issue 10, item 9): wall time <= 0.5x pandas', peak memory
<= 0.8x pandas'. Then the project's own stage timings show where its time goes, and (issue 2) peak
memory at --big-rows shows it stays flat as files grow.

    .venv/bin/python bench/ingest.py                                # 1M rows, 3 runs per side, + 10M memory
    .venv/bin/python bench/ingest.py --rows 200000 --big-rows 0 --repeat 1   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _harness import CLI  # noqa: E402


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


def run_measured(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """One whole process: wall time from the parent's clock, the child's own peak RSS from os.wait4."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    out = proc.stdout.read()  # drains the pipe so the child never blocks; EOF when it exits
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{out.decode()[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, out.decode())


def median(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), statistics.median(r.peak_rss_mb for r in runs),
               runs[-1].output)


def stages(csv_path: Path, lake: Path) -> None:
    """Child mode: one in-process ingest, printing where its time went (IngestResult.timings)."""
    from retail_lake.ingest import ingest_file

    shutil.rmtree(lake, ignore_errors=True)
    result = ingest_file(csv_path, str(lake))
    print(json.dumps({"timings": result.timings, "rows_accepted": result.rows_accepted}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="project-only memory check (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="where data is generated (default: a temp folder)")
    parser.add_argument("--no-polars", action="store_true", help="skip the Polars reference")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the plain DuckDB pipeline")
    parser.add_argument("--stages", nargs=2, metavar=("CSV", "LAKE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stages:
        stages(Path(args.stages[0]), Path(args.stages[1]))
        return 0

    from retail_lake.generate import generate

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"sales_{args.rows}.csv"
    if not csv_path.exists():
        print(f"generating {args.rows:,} rows ...", flush=True)
        generate(csv_path, rows=args.rows, customers=max(1, args.rows // 4), seed=7)
    size_mb = csv_path.stat().st_size / 1e6
    sides = {
        "retail-lake ingest": [str(CLI), "ingest", str(csv_path), "--lake", str(work / "lake")],
        "pandas reference": [sys.executable, str(HERE / "_ingest_pandas_reference.py"), str(csv_path),
                             str(work / "pandas_out")],
    }
    if not args.no_polars:
        sides["polars reference"] = [sys.executable, str(HERE / "_ingest_polars_reference.py"), str(csv_path),
                                     str(work / "polars_out")]
    if not args.no_duckdb:
        sides["duckdb plain"] = [sys.executable, str(HERE / "_ingest_duckdb_reference.py"), str(csv_path),
                                 str(work / "duckdb_out")]
    print(f"ingest bench: {args.rows:,} rows ({size_mb:.0f} MB CSV), whole processes, {args.repeat} alternating "
          f"runs per side")
    runs: dict[str, list[Run]] = {name: [] for name in sides}
    for i in range(args.repeat):
        for name, argv in sides.items():
            if name == "retail-lake ingest":
                shutil.rmtree(work / "lake", ignore_errors=True)
            runs[name].append(run_measured(argv))
            print(f"  run {i + 1}/{args.repeat}: {name:<20} {runs[name][-1].seconds:6.2f}s "
                  f"{runs[name][-1].peak_rss_mb:5.0f} MB", flush=True)
    result = {name: median(r) for name, r in runs.items()}
    project, pandas = result["retail-lake ingest"], result["pandas reference"]
    print()
    print(f"{'':<22}{'seconds':>9}{'rows/s':>13}{'peak RSS MB':>13}{'time/pandas':>13}{'memory/pandas':>15}")
    for name, r in result.items():
        print(f"{name:<22}{r.seconds:>9.2f}{args.rows / r.seconds:>13,.0f}{r.peak_rss_mb:>13.0f}"
              f"{r.seconds / pandas.seconds:>12.2f}x{r.peak_rss_mb / pandas.peak_rss_mb:>14.2f}x")
    time_ratio = project.seconds / pandas.seconds
    memory_ratio = project.peak_rss_mb / pandas.peak_rss_mb
    print(f"wall time ratio (project/pandas): {time_ratio:.2f}x   target <= 0.5x   "
          f"{'OK' if time_ratio <= 0.5 else 'MISSED'}")
    print(f"peak memory ratio (project/pandas): {memory_ratio:.2f}x   target <= 0.8x   "
          f"{'OK' if memory_ratio <= 0.8 else 'MISSED'}")
    if "polars reference" in result:
        print(f"polars/pandas: {result['polars reference'].seconds / pandas.seconds:.2f}x time; "
              f"project/polars: {project.seconds / result['polars reference'].seconds:.2f}x time")
    if "duckdb plain" in result:
        print(f"duckdb plain/pandas: {result['duckdb plain'].seconds / pandas.seconds:.2f}x time (the reference's "
              f"work alone on the project's engine; not a target); project/duckdb plain: "
              f"{project.seconds / result['duckdb plain'].seconds:.2f}x time")
    print("project summary: " + " | ".join(line.strip() for line in project.output.strip().splitlines()[:2]))
    for name in ("pandas reference", "polars reference", "duckdb plain"):
        if name in result:
            print(f"{name}: {result[name].output.strip().splitlines()[-1]}")

    staged = run_measured([sys.executable, str(Path(__file__).resolve()), "--stages", str(csv_path),
                           str(work / "lake_stages")])
    timings = json.loads(staged.output.strip().splitlines()[-1])["timings"]
    total = sum(timings.values())
    print("\nwhere the project's time goes (one in-process ingest, seconds): " + ", ".join(
        f"{stage} {seconds:.2f} ({100 * seconds / total:.0f}%)" for stage, seconds in timings.items()))

    if args.big_rows:
        csv_big = work / f"sales_{args.big_rows}.csv"
        if not csv_big.exists():
            print(f"\ngenerating {args.big_rows:,} rows ...", flush=True)
            started = time.perf_counter()
            generate(csv_big, rows=args.big_rows, customers=max(1, args.big_rows // 4), seed=7)
            print(f"  {time.perf_counter() - started:.1f}s, {csv_big.stat().st_size / 1e6:.0f} MB")
        shutil.rmtree(work / "lake_big", ignore_errors=True)
        big = run_measured([str(CLI), "ingest", str(csv_big), "--lake", str(work / "lake_big")])
        growth = big.peak_rss_mb / project.peak_rss_mb
        print(f"\nmemory as the file grows (project): {args.rows:,} rows {project.peak_rss_mb:.0f} MB -> "
              f"{args.big_rows:,} rows {big.peak_rss_mb:.0f} MB ({growth:.2f}x for {args.big_rows / args.rows:.0f}x "
              f"the rows; {args.big_rows / big.seconds:,.0f} rows/s)   {'FLAT' if growth < 2 else 'GROWING'}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
