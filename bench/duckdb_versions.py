"""bench/duckdb_versions: which DuckDB the project pins, measured on moto's S3 server.

DuckDB 2.0 runs the analytics SQL faster, but DuckDB's extensions (httpfs among them) install from
PyPI only for 1.5.x, so on 2.0 an S3 lake is read through the mirror (objects copied into $TMPDIR
first, retail_lake/mirror.py). Three variants, each in a venv of its own with the project installed
(editable, so the working tree is what runs) and only the DuckDB version changed:

    (a) duckdb 2.0.x + mirror        S3_READS=mirror (2.0 has no httpfs package)
    (b) duckdb 1.5.5 + mirror        S3_READS=mirror
    (c) duckdb 1.5.5 + httpfs        S3_READS=httpfs (duckdb-extension-httpfs==1.5.5)

One lake of generated rows is ingested into ``s3://bench-lake`` on a ThreadedMotoServer (in this
process) through AWS_ENDPOINT_URL. Whole processes are measured, alternating a b c a b c ..., each
with an empty TMPDIR (a cold Lambda container):
    analytics      ``retail-lake analytics --lake s3://bench-lake`` (wall, peak RSS, peak TMPDIR use)
    cold start     a fresh process opens the lake with ``retail_lake.query.reader`` and answers
                   store_performance, then one customer's row of customer_rfm (process wall, and
                   the first answer's latency from the script's start)
    sql on sales   ``retail-lake sql "SELECT COUNT(*), SUM(price) FROM sales"`` (curated sales, cold)
After each variant's first analytics run the analytics tables are digested (every row, exact, and
with doubles rounded to 12 significant digits) and compared across variants.

    make bench-duckdb                                                   # 2M rows, 5 runs each
    .venv/bin/python bench/duckdb_versions.py --rows 200000 --customers 20000 --repeat 1   # quick look

The venvs, data and output go to bench/out/duckdb_versions/ (gitignored; the venvs are reused when
their pins match). The report is printed and written to bench/out/duckdb_versions/report.txt, the
figures to results.json. Needs the repo's .venv (moto) to run this script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
DEFAULT_WORK = REPO / "bench" / "out" / "duckdb_versions"
BUCKET = "bench-lake"
LAKE = f"s3://{BUCKET}"
SALES_SQL = "SELECT COUNT(*) AS lines, SUM(price) AS revenue FROM sales"


@dataclass(frozen=True)
class Variant:
    label: str
    duckdb: str
    s3_reads: str
    extra: tuple[str, ...] = ()

    @property
    def venv_name(self) -> str:
        return "duckdb-" + self.duckdb + ("-httpfs" if self.extra else "")


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float
    peak_tmp_mb: float
    output: dict = field(default_factory=dict)
    cpu_seconds: float = 0.0  # user + system of the child: less moved by other work on a shared machine


# --- child side: runs in a variant's venv ------------------------------------------------------------

def child_cold(lake: str, customer: str) -> dict:
    """Open the lake as a new API container would and answer two requests."""
    started = time.perf_counter()
    from retail_lake.query import reader

    imported = time.perf_counter()
    lake_reader = reader(lake)
    page = lake_reader.read("store_performance", order_by="rank", limit=100)
    first = time.perf_counter()
    row = lake_reader.read("customer_rfm", where="customer_id = ?", params=[customer], limit=1)
    second = time.perf_counter()
    if not page.rows or len(row.rows) != 1:
        raise SystemExit(f"unexpected answers: {len(page.rows)} stores, {len(row.rows)} rows for {customer}")
    return {"import_s": imported - started, "first_answer_s": first - started, "customer_row_s": second - first,
            "stores": len(page.rows), "top_store": page.rows[0]["store"]}


def child_digest(lake: str) -> dict:
    """A digest per analytics table: exact, and with doubles rounded (last-bit noise aside)."""
    import hashlib

    from retail_lake.analytics._tables import TABLE_NAMES
    from retail_lake.query import connect

    con = connect(lake, tables=list(TABLE_NAMES))
    out: dict[str, dict] = {}
    for table in TABLE_NAMES:
        cur = con.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cur.description]
        # Sorted by the columns that are not floating point, so rows line up across variants.
        rows = sorted(cur.fetchall(), key=lambda r: repr([v for v in r if not isinstance(v, float)]))
        exact = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        rounded_rows = [tuple(float(f"{v:.12g}") if isinstance(v, float) else v for v in r) for r in rows]
        rounded = hashlib.sha256(repr(rounded_rows).encode()).hexdigest()[:16]
        out[table] = {"exact": exact, "rounded": rounded, "rows": len(rows), "columns": columns,
                      # small tables whole, so the parent can say which columns differ and by how much
                      "values": [[v if isinstance(v, float | int) else repr(v) for v in r] for r in rows]
                      if len(rows) <= 5000 else None}
    import duckdb

    return {"tables": out, "duckdb": duckdb.__version__}


# --- parent side --------------------------------------------------------------------------------------

def _largest_differences(base: dict, others: list[dict]) -> str:
    """Which columns of a table differ between variants, and the largest relative difference."""
    if base["values"] is None or any(o["values"] is None or len(o["values"]) != len(base["values"]) for o in others):
        return "row counts differ or table too large to compare here"
    worst: dict[str, float] = {}
    for other in others:
        for row_a, row_b in zip(base["values"], other["values"], strict=True):
            for name, x, y in zip(base["columns"], row_a, row_b, strict=True):
                if x == y:
                    continue
                if isinstance(x, float) and isinstance(y, float):
                    rel = abs(x - y) / max(abs(x), abs(y), 1e-300)
                    worst[name] = max(worst.get(name, 0.0), rel)
                else:
                    worst[name] = float("inf")
    return ", ".join(f"{name} (relative {rel:.1e})" for name, rel in sorted(worst.items())) or "no difference"


def say(line: str = "") -> None:
    print(line, flush=True)


def ensure_venv(work: Path, variant: Variant) -> Path:
    """A venv with the project (editable, no deps) and the variant's DuckDB pins; reused if unchanged."""
    venv = work / "venvs" / variant.venv_name
    pins = [f"duckdb=={variant.duckdb}", *variant.extra, "boto3", "pyyaml"]
    stamp = venv / ".bench-pins"
    if stamp.exists() and stamp.read_text() == " ".join(pins):
        return venv
    say(f"building venv {venv} ({' '.join(pins)}) ...")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    subprocess.run([*pip, *pins], check=True)
    stamp.write_text(" ".join(pins))
    return venv


def _tree_bytes(root: Path) -> int:
    total = 0
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        continue
        except (FileNotFoundError, NotADirectoryError):
            continue
    return total


def run_process(cmd: list[str], env: dict[str, str], tmp_root: Path) -> Sample:
    """One whole process with an empty TMPDIR: wall time, its own peak RSS (wait4), peak TMPDIR
    bytes (polled every 0.1 s). Output goes to files, so the child never blocks on a full pipe."""
    tmp = Path(tempfile.mkdtemp(prefix="tmpdir-", dir=tmp_root))
    peak = [0]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_bytes(tmp))

    poller = threading.Thread(target=poll, daemon=True)
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, env={**env, "TMPDIR": str(tmp)})
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        poller.join()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read().decode(), err_file.read().decode()
    peak[0] = max(peak[0], _tree_bytes(tmp))
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return Sample(seconds, usage.ru_maxrss / 1024, peak[0] / 1024 / 1024, json.loads(lines[-1]) if lines else {},
                  usage.ru_utime + usage.ru_stime)


def median(samples: list[Sample], attr: str) -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def median_out(samples: list[Sample], key: str) -> float:
    return statistics.median(float(s.output[key]) for s in samples)


def prepare_lake(work: Path, venv: Path, env: dict[str, str], rows: int, customers: int) -> tuple[str, dict]:
    """Generate (cached), ingest into the bucket, run analytics once (compaction, first versions)."""
    import boto3

    bin_ = venv / "bin"
    csv = work / f"sales_{rows}_{customers}.csv"
    if not csv.exists():
        say(f"generating {rows:,} rows, {customers:,} customers ...")
        subprocess.run([str(bin_ / "retail-lake"), "generate", "--rows", str(rows), "--customers", str(customers),
                        "--out", str(csv)], check=True, env=env, stdout=subprocess.DEVNULL)
    with csv.open() as fh:
        fh.readline()
        customer = fh.readline().split(",")[1]
    s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    s3.create_bucket(Bucket=BUCKET)
    tmp_root = work / "tmp"
    say(f"ingesting into {LAKE} on moto's server ...")
    ingest = run_process([str(bin_ / "retail-lake"), "ingest", str(csv), "--lake", LAKE], env, tmp_root)
    say(f"  ingest {ingest.seconds:.1f}s")
    say("first analytics run (compaction, first table versions) ...")
    first = run_process([str(bin_ / "retail-lake"), "analytics", "--lake", LAKE], env, tmp_root)
    say(f"  analytics {first.seconds:.1f}s")
    objects = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="curated/sales/")
               for o in page.get("Contents", [])]
    lake_info = {"curated_sales_files": len(objects), "curated_sales_mb": sum(o["Size"] for o in objects) / 2**20,
                 "ingest_s": ingest.seconds}
    return customer, lake_info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs per variant (medians reported)")
    parser.add_argument("--duckdb2", default="2.0.1", help="the 2.0.x version to compare (default 2.0.1)")
    parser.add_argument("--workdir", default=str(DEFAULT_WORK))
    parser.add_argument("--child", choices=["cold", "digest"], help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--customer", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "cold":
        print(json.dumps(child_cold(args.lake, args.customer)))
        return 0
    if args.child == "digest":
        print(json.dumps(child_digest(args.lake)))
        return 0

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the terminal
    work = Path(args.workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    variants = [
        Variant(f"(a) duckdb {args.duckdb2} + mirror", args.duckdb2, "mirror"),
        Variant("(b) duckdb 1.5.5 + mirror", "1.5.5", "mirror", ("duckdb-extension-httpfs==1.5.5",)),
        Variant("(c) duckdb 1.5.5 + httpfs", "1.5.5", "httpfs", ("duckdb-extension-httpfs==1.5.5",)),
    ]
    venvs = {v.label: ensure_venv(work, v) for v in variants}

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RETAIL_LAKE", "LAKE_", "S3_READS",
                                                                          "MIRROR_MAX", "DUCKDB_"))}
    base_env.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test",
                     "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                     "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                     "PYTHONDONTWRITEBYTECODE": "1"})
    report: list[str] = []

    def out(line: str = "") -> None:
        say(line)
        report.append(line)

    try:
        setup = variants[2]
        customer, lake_info = prepare_lake(work, venvs[setup.label], {**base_env, "S3_READS": "httpfs"},
                                           args.rows, args.customers)
        tmp_root = work / "tmp"
        samples: dict[str, dict[str, list[Sample]]] = {v.label: {"analytics": [], "cold": [], "sql": []}
                                                       for v in variants}
        digests: dict[str, dict] = {}
        for i in range(args.repeat):
            for v in variants:
                env = {**base_env, "S3_READS": v.s3_reads}
                bin_ = venvs[v.label] / "bin"
                a = run_process([str(bin_ / "retail-lake"), "analytics", "--lake", LAKE], env, tmp_root)
                samples[v.label]["analytics"].append(a)
                if v.label not in digests:
                    digests[v.label] = run_process([str(bin_ / "python"), str(HERE), "--child", "digest",
                                                    "--lake", LAKE], env, tmp_root).output
                c = run_process([str(bin_ / "python"), str(HERE), "--child", "cold", "--lake", LAKE,
                                 "--customer", customer], env, tmp_root)
                samples[v.label]["cold"].append(c)
                q = run_process([str(bin_ / "retail-lake"), "sql", SALES_SQL, "--format", "json", "--lake", LAKE],
                                env, tmp_root)
                samples[v.label]["sql"].append(q)
                say(f"  run {i + 1}/{args.repeat} {v.label}: analytics {a.seconds:.2f}s (cpu {a.cpu_seconds:.1f}s) "
                    f"{a.peak_rss_mb:.0f} MB "
                    f"tmp {a.peak_tmp_mb:.1f} MB | cold start {c.seconds:.2f}s (first answer "
                    f"{c.output['first_answer_s']:.2f}s) | sql on sales {q.seconds:.2f}s tmp {q.peak_tmp_mb:.1f} MB")
    finally:
        server.stop()

    out()
    out(f"DuckDB versions on moto's S3 server: {args.rows:,} rows, {args.customers:,} customers, "
        f"curated/sales {lake_info['curated_sales_files']} files, {lake_info['curated_sales_mb']:.1f} MB; "
        f"{args.repeat} alternating run(s) per variant, medians; every process with an empty TMPDIR")
    header = (f"{'variant':<28}{'analytics s':>12}{'cpu s':>7}{'peak RSS MB':>12}{'peak tmp MB':>12}"
              f"{'cold start s':>13}{'1st answer s':>13}{'rfm row ms':>11}{'sql sales s':>12}{'sql tmp MB':>11}")
    out(header)
    figures: dict[str, dict[str, float]] = {}
    for v in variants:
        s = samples[v.label]
        f = {
            "analytics_s": median(s["analytics"], "seconds"),
            "analytics_cpu_s": median(s["analytics"], "cpu_seconds"),
            "analytics_peak_rss_mb": median(s["analytics"], "peak_rss_mb"),
            "analytics_peak_tmp_mb": median(s["analytics"], "peak_tmp_mb"),
            "cold_start_s": median(s["cold"], "seconds"),
            "first_answer_s": median_out(s["cold"], "first_answer_s"),
            "customer_row_ms": 1000 * median_out(s["cold"], "customer_row_s"),
            "sql_sales_s": median(s["sql"], "seconds"),
            "sql_sales_peak_tmp_mb": median(s["sql"], "peak_tmp_mb"),
        }
        figures[v.label] = f
        out(f"{v.label:<28}{f['analytics_s']:>12.2f}{f['analytics_cpu_s']:>7.1f}{f['analytics_peak_rss_mb']:>12.0f}"
            f"{f['analytics_peak_tmp_mb']:>12.1f}{f['cold_start_s']:>13.2f}{f['first_answer_s']:>13.2f}"
            f"{f['customer_row_ms']:>11.1f}{f['sql_sales_s']:>12.2f}{f['sql_sales_peak_tmp_mb']:>11.1f}")
    a, b, c = (figures[v.label] for v in variants)
    out()
    out(f"analytics: 1.5.5 mirror / 2.0 mirror = {b['analytics_s'] / a['analytics_s']:.2f}x, "
        f"1.5.5 httpfs / 2.0 mirror = {c['analytics_s'] / a['analytics_s']:.2f}x, "
        f"1.5.5 httpfs / 1.5.5 mirror = {c['analytics_s'] / b['analytics_s']:.2f}x")
    out(f"analytics CPU seconds: 1.5.5 mirror / 2.0 mirror = {b['analytics_cpu_s'] / a['analytics_cpu_s']:.2f}x, "
        f"1.5.5 httpfs / 2.0 mirror = {c['analytics_cpu_s'] / a['analytics_cpu_s']:.2f}x")
    out(f"cold start: (a) {a['cold_start_s']:.2f}s, (b) {b['cold_start_s']:.2f}s, (c) {c['cold_start_s']:.2f}s; "
        f"first answer (a) {a['first_answer_s']:.2f}s, (b) {b['first_answer_s']:.2f}s, (c) {c['first_answer_s']:.2f}s")
    tables = sorted(next(iter(digests.values()))["tables"])
    exact_same = [t for t in tables if len({d["tables"][t]["exact"] for d in digests.values()}) == 1]
    rounded_same = [t for t in tables if len({d["tables"][t]["rounded"] for d in digests.values()}) == 1]
    differ = [t for t in tables if t not in rounded_same]
    labels = [v.label for v in variants]
    for t in tables:
        if t in exact_same:
            continue
        spread = _largest_differences(digests[labels[0]]["tables"][t], [digests[lb]["tables"][t] for lb in labels[1:]])
        out(f"  {t}: {spread}")
    noisy = [t for t in rounded_same if t not in exact_same
             and digests[labels[1]]["tables"][t]["exact"] != digests[labels[2]]["tables"][t]["exact"]]
    out(f"results: {len(exact_same)}/{len(tables)} analytics tables identical across the variants to the bit"
        + (f"; {', '.join(t for t in rounded_same if t not in exact_same)}: DOUBLE columns equal to 12 digits"
           if len(rounded_same) > len(exact_same) else "")
        + (f" ({', '.join(noisy)} differ between (b) and (c) too: the same DuckDB, so run-to-run order of "
           "floating-point sums, not the version)" if noisy else "")
        + (f"; DIFFERENT: {', '.join(differ)}" if differ else ""))
    (work / "report.txt").write_text("\n".join(report) + "\n")
    (work / "results.json").write_text(json.dumps({"rows": args.rows, "customers": args.customers,
                                                   "repeat": args.repeat, "lake": lake_info, "figures": figures,
                                                   "digests": digests}, indent=2))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
