"""bench/api: the API Lambda's cold start, warm latency through the handler, and requests/s of `serve`.

(a) cold start: a fresh process imports functions/api/app.py and answers one API Gateway event
    (HTTP API payload 2.0, GET /api/v1/stores/performance) against a FastAPI + Mangum hello-world
    answering the same event, alternating A B A B in the same run; the ratio of medians is printed
    (target <= 1.5x).
(b) warm latency, in-process through ``handler`` on a lake of 1M generated rows (``retail-lake
    generate`` + ``ingest`` + ``analytics``, cached under bench/out/api/): p50 <= 5 ms and p99 <= 20 ms
    for stores/performance, customers/insights/{id}, analytics/rfm?limit=100, analytics/cohort-analysis.
    Measured twice: "repeated" (the same URL again, as dashboards ask: the answer cache keyed by the
    table versions answers) and "uncached" (answer cache off, API_ANSWER_CACHE_BYTES=0: every request
    queries DuckDB; insights ask for a different customer each time).
(c) requests/s against ``retail-lake serve`` on 127.0.0.1 from a bounded load generator (a thread
    pool of keep-alive HTTP clients, a fixed number of requests over the four URLs): errors and p99.

    .venv/bin/python bench/api.py                 # everything (builds the 1M lake the first time)
    .venv/bin/python bench/api.py --skip-serve --cold-repeat 3
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import run_child

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "api"
EVENT = ROOT / "infra" / "events" / "apigw_http_api_proxy.json"
CLI = [sys.executable, "-m", "retail_lake.cli"]
TARGET_COLD_RATIO = 1.5
TARGET_P50_MS, TARGET_P99_MS = 5.0, 20.0
WARM_PATHS = ["/api/v1/stores/performance", "/api/v1/customers/insights/{id}", "/api/v1/analytics/rfm?limit=100",
              "/api/v1/analytics/cohort-analysis"]


# --- the lake ---------------------------------------------------------------------------------------

def prepare_lake(rows: int) -> Path:
    """A lake of ``rows`` generated lines built with the CLI as a user would (cached in bench/out/api/)."""
    from retail_lake.analytics import TABLE_NAMES

    lake = OUT / f"lake-{rows}"
    csv = OUT / f"sales-{rows}.csv"
    OUT.mkdir(parents=True, exist_ok=True)
    if not (lake / "curated" / "sales").exists():
        if not csv.exists():
            print(f"generating {rows:,} rows ...", flush=True)
            subprocess.run([*CLI, "generate", "--rows", str(rows), "--customers", str(rows // 4), "--seed", "7",
                            "--out", str(csv)], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        print("ingesting ...", flush=True)
        subprocess.run([*CLI, "ingest", str(csv), "--lake", str(lake)], check=True, cwd=ROOT,
                       stderr=subprocess.DEVNULL)
    missing = [t for t in TABLE_NAMES if not (lake / "analytics" / t / "_current.json").exists()]
    if missing:
        print(f"computing analytics ({len(missing)} tables missing) ...", flush=True)
        subprocess.run([*CLI, "analytics", "--lake", str(lake)], check=True, cwd=ROOT, stderr=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)
    return lake


def event_for(path_and_query: str) -> dict:
    """The generated HTTP API event with only its path, query and headers changed."""
    event = copy.deepcopy(json.loads(EVENT.read_text()))
    path, _, query = path_and_query.partition("?")
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = "GET"
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    event.pop("body", None)
    event["isBase64Encoded"] = False
    event["headers"] = {"accept": "application/json", "host": "api.example.com"}
    return event


# --- (a) cold start ---------------------------------------------------------------------------------

PROJECT_CHILD = """
import importlib.util, json, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("api_app", {app!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
event = json.loads({event!r})
result = module.handler(event, None)
assert result["statusCode"] == 200, result
forbidden = [m for m in ("pandas", "pyarrow", "sklearn", "xgboost", "sqlglot") if m in sys.modules]
print(json.dumps({{"seconds": time.perf_counter() - started, "status": result["statusCode"],
                  "bytes": len(result.get("body", "")), "heavy_modules": forbidden}}))
"""

HELLO_CHILD = """
import json, time
started = time.perf_counter()
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()

@app.get("/api/v1/stores/performance")
def hello():
    return {{"hello": "world"}}

handler = Mangum(app, lifespan="off")
result = handler(json.loads({event!r}), None)
assert result["statusCode"] == 200, result
print(json.dumps({{"seconds": time.perf_counter() - started, "status": result["statusCode"]}}))
"""


def cold_start(lake: Path, repeat: int) -> dict:
    event = json.dumps(event_for("/api/v1/stores/performance"))
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        project = Path(tmp) / "project.py"
        hello = Path(tmp) / "hello.py"
        project.write_text(textwrap.dedent(PROJECT_CHILD).format(app=str(ROOT / "functions" / "api" / "app.py"),
                                                                 event=event))
        hello.write_text(textwrap.dedent(HELLO_CHILD).format(event=event))
        env = {"RETAIL_LAKE": str(lake), "TMPDIR": tmp}
        runs_p, runs_h = [], []
        for i in range(repeat):
            runs_p.append(run_child([str(project)], env))
            runs_h.append(run_child([str(hello)], env))
            print(f"  run {i + 1}/{repeat}: project {runs_p[-1].seconds:.3f}s, hello-world {runs_h[-1].seconds:.3f}s",
                  flush=True)
    p = statistics.median(r.seconds for r in runs_p)
    h = statistics.median(r.seconds for r in runs_h)
    heavy = runs_p[-1].output.get("heavy_modules")
    ratio = p / h
    print(f"cold start (fresh process: python start + imports + one event), median of {repeat}:")
    rss_p = statistics.median(r.peak_rss_mb for r in runs_p)
    rss_h = statistics.median(r.peak_rss_mb for r in runs_h)
    print(f"  functions/api/app.py     {p * 1000:7.0f} ms  peak RSS {rss_p:.0f} MB")
    print(f"  FastAPI+Mangum hello     {h * 1000:7.0f} ms  peak RSS {rss_h:.0f} MB")
    print(f"  ratio {ratio:.2f}x   target <= {TARGET_COLD_RATIO}x   {'OK' if ratio <= TARGET_COLD_RATIO else 'MISSED'}"
          f"   (heavy modules imported: {heavy or 'none'})")
    return {"project_s": p, "hello_s": h, "ratio": ratio}


# --- (b) warm latency -------------------------------------------------------------------------------

WARM_CHILD = """
import importlib.util, json, random, time
spec = importlib.util.spec_from_file_location("api_app", {app!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
events = json.loads({events!r})
ids = json.loads({ids!r})
requests = {requests}
distinct = {distinct}
out = {{}}
rng = random.Random(7)
for name, template in events.items():
    def make(i):
        event = json.loads(json.dumps(template))
        if "{{id}}" in event["rawPath"]:
            cid = ids[(i * 7919) % len(ids)] if distinct else ids[0]
            event["rawPath"] = event["rawPath"].replace("{{id}}", cid)
            event["requestContext"]["http"]["path"] = event["rawPath"]
        return event
    prepared = [make(i) for i in range(requests + 20)]
    for event in prepared[:20]:  # warm-up: the first request loads the table version
        assert module.handler(event, None)["statusCode"] == 200
    times = []
    for event in prepared[20:]:
        t = time.perf_counter()
        result = module.handler(event, None)
        times.append(time.perf_counter() - t)
        assert result["statusCode"] == 200, result
    times.sort()
    out[name] = {{"p50_ms": times[len(times) // 2] * 1000, "p99_ms": times[int(len(times) * 0.99)] * 1000,
                 "mean_ms": sum(times) / len(times) * 1000, "n": len(times)}}
print(json.dumps(out))
"""


def warm_latency(lake: Path, requests: int) -> dict:
    import duckdb

    con = duckdb.connect()
    ids = [r[0] for r in con.execute(
        f"SELECT customer_id FROM read_parquet('{lake}/analytics/customer_profile/run=*/part-0.parquet') "
        "USING SAMPLE 2000 ROWS (reservoir, 7)").fetchall()]
    con.close()
    events = {p: event_for(p) for p in WARM_PATHS}
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-api-warm-") as tmp:
        for mode, env_extra, distinct in (("repeated", {}, False), ("uncached", {"API_ANSWER_CACHE_BYTES": "0"}, True)):
            script = Path(tmp) / f"warm_{mode}.py"
            script.write_text(textwrap.dedent(WARM_CHILD).format(
                app=str(ROOT / "functions" / "api" / "app.py"), events=json.dumps(events), ids=json.dumps(ids),
                requests=requests, distinct=distinct))
            run = run_child([str(script)], {"RETAIL_LAKE": str(lake), "TMPDIR": tmp, **env_extra})
            results[mode] = run.output
    print(f"warm latency in-process through handler (1M-row lake, {requests} requests per endpoint):")
    print(f"  {'endpoint':42s} {'mode':9s} {'p50 ms':>8s} {'p99 ms':>8s} {'mean ms':>8s}  verdict "
          f"(p50 <= {TARGET_P50_MS}, p99 <= {TARGET_P99_MS})")
    for path in WARM_PATHS:
        for mode in ("repeated", "uncached"):
            r = results[mode][path]
            ok = r["p50_ms"] <= TARGET_P50_MS and r["p99_ms"] <= TARGET_P99_MS
            print(f"  {path:42s} {mode:9s} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['mean_ms']:8.2f}  "
                  f"{'OK' if ok else 'MISSED'}")
    return results


# --- (c) serve --------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_load(lake: Path, requests: int, clients: int) -> dict:
    port = _free_port()
    env = {**os.environ, "RETAIL_LAKE": str(lake)}
    server = subprocess.Popen([*CLI, "serve", "--lake", str(lake), "--port", str(port), "--no-access-log",
                               "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("retail-lake serve did not start: "
                                       + (server.stderr.read().decode()[-2000:] if server.stderr else "")) from None
                time.sleep(0.2)
        ids = _customer_ids(port)
        urls = [p.replace("{id}", ids[i % len(ids)]) if "{id}" in p else p
                for i, p in enumerate(WARM_PATHS * (requests // len(WARM_PATHS)))]
        random.Random(7).shuffle(urls)
        for path in WARM_PATHS:  # warm-up: load every table once
            _get(http.client.HTTPConnection("127.0.0.1", port, timeout=30), path.replace("{id}", ids[0]))
        chunks = [urls[i::clients] for i in range(clients)]

        def client(chunk: list[str]) -> tuple[list[float], int]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            times, errors = [], 0
            for url in chunk:
                t = time.perf_counter()
                status = _get(conn, url)
                times.append(time.perf_counter() - t)
                errors += status != 200
            conn.close()
            return times, errors

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(client, chunks))
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    times = sorted(t for r in results for t in r[0])
    errors = sum(r[1] for r in results)
    out = {"requests": len(times), "seconds": seconds, "rps": len(times) / seconds, "errors": errors,
           "p50_ms": times[len(times) // 2] * 1000, "p99_ms": times[int(len(times) * 0.99)] * 1000}
    print(f"retail-lake serve on 127.0.0.1 (uvicorn, 1 worker), {clients} keep-alive clients, {out['requests']} "
          f"requests over the 4 URLs (insights: {len(ids)} different customers):")
    print(f"  {out['rps']:.0f} requests/s, errors {errors}, p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms"
          f"   {'OK' if errors == 0 else 'ERRORS'}")
    return out


def _get(conn: http.client.HTTPConnection, url: str) -> int:
    conn.request("GET", url, headers={"Accept-Encoding": "gzip"})
    response = conn.getresponse()
    response.read()
    return response.status


def _customer_ids(port: int) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/analytics/rfm?limit=1000&sort=-monetary")
    body = json.loads(conn.getresponse().read())
    conn.close()
    return [r["customer_id"] for r in body["items"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cold-repeat", type=int, default=7)
    parser.add_argument("--warm-requests", type=int, default=1000)
    parser.add_argument("--serve-requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    args = parser.parse_args()
    lake = prepare_lake(args.rows)
    print(f"lake: {args.rows:,} generated rows, analytics computed (bench/out/api/{lake.name})")
    report: dict = {}
    if not args.skip_cold:
        report["cold"] = cold_start(lake, args.cold_repeat)
    if not args.skip_warm:
        report["warm"] = warm_latency(lake, args.warm_requests)
    if not args.skip_serve:
        report["serve"] = serve_load(lake, args.serve_requests, args.clients)
    (OUT / "last_report.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
