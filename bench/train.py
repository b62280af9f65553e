"""bench/train: time and peak memory of `retail-lake train` on generated rows (issue 9, item 8).

Each model trains alone as a whole child process (`retail-lake train --models X`), then all three
together; peak RSS is the child's own (os.wait4). Targets: the whole training within 3 minutes and
3 GB on 2 cores. The lake is generated like bench/analytics.py's (same generator, seed 7, rows/4
customers). Prints each model's metric against its baseline from the model_registry table.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import run_child
from analytics import prepare

TARGET_SECONDS = 180.0
TARGET_MB = 3 * 1024
CHILD = "import sys; from retail_lake.cli import main; sys.exit(main(sys.argv[1:]))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=None, help="data cache (default: a temp folder, removed after)")
    args = parser.parse_args()
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_train_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        lake = prepare(work, args.rows)
        print(f"\n{args.rows:,} rows; each run a whole child process: retail-lake train --models ...")
        print(f"{'models':<34}{'seconds':>9}{'peak MB':>10}")
        runs = {}
        for models in (["segmentation"], ["clv"], ["forecast"], ["segmentation", "clv", "forecast"]):
            run = run_child(["-c", CHILD, "train", "--models", *models, "--lake", str(lake)])
            runs[" ".join(models)] = run
            print(f"{' '.join(models):<34}{run.seconds:>9.1f}{run.peak_rss_mb:>10.0f}", flush=True)
        whole = runs["segmentation clv forecast"]
        ok_t = whole.seconds <= TARGET_SECONDS
        ok_m = whole.peak_rss_mb <= TARGET_MB
        print(
            f"whole training: {whole.seconds:.1f}s (target <= {TARGET_SECONDS:.0f}s) {'OK' if ok_t else 'MISSED'}; "
            f"peak {whole.peak_rss_mb:.0f} MB (target <= {TARGET_MB} MB) {'OK' if ok_m else 'MISSED'}"
        )
        from retail_lake.query import connect

        con = connect(str(lake), tables=["model_registry"])
        latest = con.execute(
            "SELECT model, version, status, metric_name, metric_value, baseline_name, baseline_value "
            "FROM model_registry "
            "QUALIFY row_number() OVER (PARTITION BY model ORDER BY trained_at DESC) = 1 ORDER BY model"
        ).fetchall()
        print("\nlast run's metrics against the baselines (model_registry):")
        for model, _version, status, name, value, base, base_value in latest:
            print(f"  {model:<13}{name} {value:.4g} vs {base} {base_value:.4g}  [{status}]")
        return 0
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
