"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright, against the real app.

A small lake is built the way a user builds one (``retail-lake generate`` -> ``ingest`` -> ``analytics``),
the real FastAPI app is served by uvicorn on 127.0.0.1, and the page is opened in every view: each chart
must have drawn data points (the page records how many it drew), the console must stay free of errors,
no request may fail, every request must go to an aggregated ``/api/v1`` endpoint and stay small, and the
filters must survive a reload. The date presets are checked in the browser at week/month/year edges
against answers written by hand. Screenshots go to a temporary folder; with
``DASHBOARD_SCREENSHOTS=docs/img`` (``make screenshots``) they are copied there for the README.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS_ENV = "DASHBOARD_SCREENSHOTS"
VIEW_CHARTS = {
    "overview": ["monthly-revenue", "store-ranking", "region-split"],
    "analytics": ["rfm-segments", "category-margins", "cohort-retention", "seasonality-index", "payment-mix"],
}
# What the page may ask for: the page, its assets and the aggregated endpoints, never row-level tables
# (customers/insights, customers/high-value or per-customer RFM rows).
AGGREGATED_ENDPOINTS = {
    "/api/v1/stores/performance", "/api/v1/stores/regional-analysis", "/api/v1/customers/segments",
    "/api/v1/customers/loyalty-analysis", "/api/v1/analytics/seasonality", "/api/v1/analytics/payment-methods",
    "/api/v1/analytics/category-insights", "/api/v1/analytics/cohort-analysis",
    "/api/v1/analytics/campaign-simulation",
}
MAX_RESPONSE_BYTES = 100_000  # an aggregated answer; raw rows of even this small lake would be far bigger
MAX_PAGE_BYTES = 150_000  # HTML + script + style the page loads (uncompressed)


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _cli(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("RETAIL_LAKE", "AWS_ENDPOINT_URL")}
    proc = subprocess.run([sys.executable, "-m", "retail_lake.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"retail-lake {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _sql(query: str, cwd: Path) -> list[dict]:
    return json.loads(_cli("sql", query, "--format", "json", "--lake", "lake", cwd=cwd))


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 generated sales rows through the real ingest and analytics (about 2 s)."""
    _chromium_or_skip()
    work = tmp_path_factory.mktemp("dashboard")
    _cli("generate", "--rows", "3000", "--seed", "7", "--out", "data/sales.csv", cwd=work)
    _cli("ingest", "data/sales.csv", "--lake", "lake", cwd=work)
    _cli("analytics", "--lake", "lake", cwd=work)
    return work


@dataclass
class Served:
    base: str  # e.g. http://127.0.0.1:PORT or http://127.0.0.1:PORT/prod
    prefix: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app, prefix: str = "") -> Iterator[Served]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Served(base=f"http://127.0.0.1:{port}{prefix}", prefix=prefix)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _app(lake: Path, base_path: str = ""):
    """The real app, as `retail-lake serve --lake LAKE [--root-path PREFIX]` builds it."""
    from retail_lake.api import create_app
    from retail_lake.config import Settings

    return create_app(dataclasses.replace(Settings.from_env(), lake=str(lake), api_base_path=base_path))


@pytest.fixture(scope="module")
def served(lake_dir: Path) -> Iterator[Served]:
    yield from _serve(_app(lake_dir / "lake"))


@pytest.fixture(scope="module")
def served_under_stage(lake_dir: Path) -> Iterator[Served]:
    """The same app under a stage prefix, as API Gateway serves it (/prod/...)."""
    yield from _serve(_app(lake_dir / "lake", "/prod"), prefix="/prod")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("screenshots")
    yield folder
    target = os.environ.get(SCREENSHOTS_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in sorted(folder.glob("dashboard-*.png")):
            shutil.copy2(png, Path(target) / png.name)


@dataclass
class Watched:
    """What a page did: console errors, failed requests, every request and response size."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)

    def clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.failed == [], self.failed
        bad = [r for r in self.responses if r["status"] >= 400]
        assert bad == [], bad


def _watch(page) -> Watched:
    watched = Watched(page)
    page.on("console", lambda m: m.type == "error" and watched.console_errors.append(m.text))
    page.on("pageerror", lambda e: watched.console_errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: watched.failed.append(f"{r.method} {r.url}: {r.failure}"))
    page.on("request", lambda r: watched.requests.append(r.url))

    def on_response(response) -> None:
        try:
            size = len(response.body())
        except Exception:  # a redirect has no body to read
            size = 0
        watched.responses.append({"url": response.url, "status": response.status, "bytes": size,
                                  "type": response.request.resource_type})

    page.on("response", on_response)
    return watched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US",
                                  timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def _wait_ready(page, view: str) -> None:
    page.wait_for_function(
        "v => document.body.dataset.view === v && document.body.dataset.status !== 'loading'", arg=view)
    status = page.evaluate("document.body.dataset.status")
    errors = page.evaluate("JSON.stringify(window.dashboard.errors)")
    assert status == "ready", f"view {view}: {status} {errors}"


def _points(page) -> dict[str, int]:
    return page.evaluate("Object.fromEntries(Object.entries(window.dashboard.charts).map(([k, v]) => [k, v.points]))")


def _open(page, base: str, fragment: str = "") -> None:
    page.goto(f"{base}/dashboard{fragment}")


# --- the views ---------------------------------------------------------------------------------------

def test_overview_kpis_and_charts_from_the_api(page, served: Served, lake_dir: Path, shots: Path):
    watched = _watch(page)
    _open(page, served.base)
    _wait_ready(page, "overview")
    points = _points(page)
    [truth] = _sql("SELECT sum(price) AS revenue, count(DISTINCT invoice_no) AS transactions, "
                   "count(DISTINCT customer_id) AS customers, count(DISTINCT shopping_mall) AS stores, "
                   "count(DISTINCT date_trunc('month', invoice_date)) AS months FROM sales", lake_dir)
    [repeat] = _sql("SELECT avg(CASE WHEN n > 1 THEN 1.0 ELSE 0 END) AS share FROM "
                    "(SELECT customer_id, count(DISTINCT invoice_no) AS n FROM sales GROUP BY 1)", lake_dir)
    assert points["monthly-revenue"] == truth["months"]
    assert points["store-ranking"] == truth["stores"]
    assert points["region-split"] >= 1
    tiles = page.evaluate("Object.fromEntries([...document.querySelectorAll('[data-kpi]')]"
                          ".map(t => [t.dataset.kpi, Number(t.dataset.value)]))")
    assert tiles["revenue"] == pytest.approx(truth["revenue"], abs=0.05)
    assert tiles["transactions"] == truth["transactions"]
    assert tiles["customers"] == truth["customers"]
    assert tiles["avg_transaction_value"] == pytest.approx(truth["revenue"] / truth["transactions"], abs=0.01)
    assert tiles["repeat_share"] == pytest.approx(repeat["share"], abs=1e-9)
    page.screenshot(path=str(shots / "dashboard-overview.png"), full_page=True)
    watched.clean()


def test_analytics_view_draws_every_chart(page, served: Served, lake_dir: Path, shots: Path):
    watched = _watch(page)
    _open(page, served.base, "#view=analytics")
    _wait_ready(page, "analytics")
    points = _points(page)
    [truth] = _sql("SELECT count(DISTINCT category) AS categories, count(DISTINCT payment_method) AS methods, "
                   "count(DISTINCT date_trunc('month', invoice_date)) AS months FROM sales", lake_dir)
    [segments] = _sql("SELECT count(*) AS n FROM rfm_segments", lake_dir)  # empty segments are bars of 0
    # Without a period the heatmap shows the latest 24 cohorts (months anchor-23 .. anchor).
    [cohort_cells] = _sql("SELECT count(*) AS n FROM cohort_retention WHERE cohort_month >= "
                          "(SELECT date_trunc('month', max(invoice_date)) - INTERVAL 23 MONTH FROM sales)", lake_dir)
    assert points["rfm-segments"] == segments["n"] > 0
    assert points["category-margins"] == truth["categories"]
    assert points["cohort-retention"] == cohort_cells["n"]
    assert points["seasonality-index"] == truth["months"]
    assert points["payment-mix"] == truth["methods"]  # breakdown overall: one bar, a band per method
    # The generated uploads carry no unit_cost: margins must say their costs are assumed.
    assert page.get_attribute("[data-cost-basis]", "data-cost-basis") == "assumed"
    page.screenshot(path=str(shots / "dashboard-analytics.png"), full_page=True)
    watched.clean()


def test_simulation_posts_the_campaign_and_shows_the_answer(page, served: Served, shots: Path):
    watched = _watch(page)
    _open(page, served.base, "#view=simulation")
    _wait_ready(page, "simulation")
    page.select_option("#sim-segments", index=[0, 1])
    page.fill("input[name=discount_rate]", "0.05")
    page.fill("input[name=uplift]", "0.4")
    page.click("#campaign button[type=submit]")
    page.wait_for_selector("#card-campaign-result[data-drawn=true]")
    answer = page.evaluate("window.dashboard.campaign")
    assert answer["customers_targeted"] > 0
    assert page.locator("#card-campaign-result tr[data-field]").count() >= 5
    assert _points(page)["campaign-result"] >= 3
    posts = [r for r in page.evaluate("window.dashboard.requests") if r["method"] == "POST"]
    assert [urlsplit(r["url"]).path for r in posts] == ["api/v1/analytics/campaign-simulation"]
    # The form is part of the state: a reload runs the same simulation again.
    saved = json.loads(parse_qs(urlsplit(page.url).fragment)["sim"][0])
    assert saved["discount_rate"] == 0.05 and saved["uplift"] == 0.4 and len(saved["target"]["segments"]) == 2
    page.screenshot(path=str(shots / "dashboard-simulation.png"), full_page=True)
    page.reload()
    page.wait_for_selector("#card-campaign-result[data-drawn=true]")
    assert page.evaluate("window.dashboard.campaign")["customers_targeted"] == answer["customers_targeted"]
    watched.clean()


# --- the pitfalls ------------------------------------------------------------------------------------

def test_filter_state_lives_in_the_url_and_survives_a_reload(page, served: Served, lake_dir: Path):
    watched = _watch(page)
    _open(page, served.base, "#view=analytics")
    _wait_ready(page, "analytics")
    page.select_option("#breakdown", "gender")
    _wait_ready(page, "analytics")
    page.select_option("#period", "quarterly")
    _wait_ready(page, "analytics")
    page.select_option("#preset", "last_12_months")
    _wait_ready(page, "analytics")
    state = parse_qs(urlsplit(page.url).fragment)
    assert state == {"view": ["analytics"], "preset": ["last_12_months"], "breakdown": ["gender"],
                     "period": ["quarterly"]}
    before = _points(page)
    page.reload()
    _wait_ready(page, "analytics")
    assert page.input_value("#breakdown") == "gender"
    assert page.input_value("#period") == "quarterly"
    assert page.input_value("#preset") == "last_12_months"
    [last] = _sql("SELECT CAST(max(invoice_date) AS VARCHAR) AS day FROM sales", lake_dir)
    assert page.input_value("#to") == last["day"]
    after = _points(page)
    assert after == before
    [genders] = _sql("SELECT count(*) AS n FROM payment_methods WHERE breakdown = 'gender'", lake_dir)
    [quarters] = _sql("SELECT count(*) AS n FROM seasonality_quarterly", lake_dir)
    assert after["payment-mix"] == genders["n"]
    assert after["seasonality-index"] == quarters["n"]
    # Last 12 months of cohorts: only cohorts starting in those months are drawn.
    first_month = page.input_value("#from")[:7] + "-01"
    [cells] = _sql(f"SELECT count(*) AS n FROM cohort_retention WHERE cohort_month >= DATE '{first_month}'", lake_dir)
    assert after["cohort-retention"] == cells["n"] > 0
    # A custom range and the Overview region filter round-trip too.
    _open(page, served.base, "#view=overview&preset=custom&from=2022-02-01&to=2022-02-28")
    _wait_ready(page, "overview")
    region = page.evaluate("[...document.querySelectorAll('#region option')].map(o => o.value).filter(Boolean)[0]")
    page.select_option("#region", region)
    _wait_ready(page, "overview")
    page.reload()
    _wait_ready(page, "overview")
    assert (page.input_value("#from"), page.input_value("#to"), page.input_value("#region")) == \
        ("2022-02-01", "2022-02-28", region)
    [feb] = _sql("SELECT sum(price) AS revenue, count(DISTINCT customer_id) AS customers FROM sales "
                 "WHERE invoice_date BETWEEN DATE '2022-02-01' AND DATE '2022-02-28'", lake_dir)
    tiles = page.evaluate("Object.fromEntries([...document.querySelectorAll('[data-kpi]')]"
                          ".map(t => [t.dataset.kpi, Number(t.dataset.value)]))")
    assert tiles["revenue"] == pytest.approx(feb["revenue"], abs=0.05)
    assert tiles["customers"] == feb["customers"]
    [stores] = _sql(f"SELECT count(*) AS n FROM store_performance WHERE region = '{region}'", lake_dir)
    assert _points(page)["monthly-revenue"] == 1 and _points(page)["store-ranking"] == stores["n"]
    watched.clean()


def test_every_request_is_an_aggregated_api_call_and_small(page, served: Served):
    watched = _watch(page)
    for view in ("overview", "analytics", "simulation"):
        _open(page, served.base, f"#view={view}")
        _wait_ready(page, view)
    page.select_option("#sim-segments", index=[0])
    page.click("#campaign button[type=submit]")
    page.wait_for_selector("#card-campaign-result[data-drawn=true]")
    paths = {urlsplit(url).path for url in watched.requests}
    api_paths = {p for p in paths if p.startswith("/api/")}
    others = paths - api_paths
    assert api_paths <= AGGREGATED_ENDPOINTS, api_paths - AGGREGATED_ENDPOINTS
    assert {p for p in others if not (p == "/dashboard" or p.startswith("/dashboard/assets/"))} == set()
    for response in watched.responses:
        assert response["bytes"] <= MAX_RESPONSE_BYTES, response
    watched.clean()


def test_every_chart_has_its_table_and_a_csv_of_the_endpoint_it_drew(page, served: Served):
    watched = _watch(page)
    for view, charts in VIEW_CHARTS.items():
        _open(page, served.base, f"#view={view}")
        _wait_ready(page, view)
        drawn = page.evaluate("window.dashboard.requests.map(r => r.url)")
        for chart in charts:
            card = page.locator(f"#card-{chart}")
            href = card.locator("a.csv").get_attribute("href")
            assert href.startswith("api/v1/") and "format=csv" in href, href
            endpoint = urlsplit(href).path
            assert any(urlsplit(u).path == endpoint for u in drawn), (chart, href)
            answer = page.request.get(f"{served.base}/{href}")
            assert answer.ok and answer.headers["content-type"].startswith("text/csv"), (chart, answer.status)
            csv_rows = answer.text().strip().splitlines()
            card.locator("details.rows summary").click()
            card.locator(".table-host tbody tr").first.wait_for()  # built on the (asynchronous) toggle event
            table_rows = card.locator(".table-host tbody tr").count()
            assert table_rows == len(csv_rows) - 1 > 0, (chart, table_rows, len(csv_rows))
    watched.clean()


def test_page_works_under_an_api_gateway_stage_prefix(page, served_under_stage: Served):
    watched = _watch(page)
    _open(page, served_under_stage.base, "#view=analytics")
    _wait_ready(page, "analytics")
    assert all(n > 0 for n in _points(page).values()), _points(page)
    outside = [u for u in watched.requests if not urlsplit(u).path.startswith("/prod/")]
    assert outside == []
    # The trailing-slash form redirects relatively and keeps the prefix.
    page.goto(f"{served_under_stage.base}/dashboard/")
    assert urlsplit(page.url).path == "/prod/dashboard"
    _wait_ready(page, "overview")
    watched.clean()


def test_page_weight_is_small(page, served: Served, shots: Path):
    watched = _watch(page)
    _open(page, served.base)
    _wait_ready(page, "overview")
    weight = {"document": 0, "script": 0, "stylesheet": 0}
    for response in watched.responses:
        if response["type"] in weight:
            weight[response["type"]] += response["bytes"]
    total = sum(weight.values())
    data = sum(r["bytes"] for r in watched.responses if r["type"] == "fetch")  # the Overview's API answers
    (shots / "page-weight.json").write_text(json.dumps({**weight, "total": total, "overview_data": data}))
    print(f"\ndashboard page weight: {total:,} bytes ({weight}); Overview data {data:,} bytes")
    assert weight["script"] > 50_000  # the charts' library is among them: the count is real
    assert total <= MAX_PAGE_BYTES, weight
    watched.clean()


# --- date presets: the pure module, at the edges, in two time zones ------------------------------------

# anchor (the data's last day) -> preset -> (start, end), worked out by hand on a calendar.
PRESET_CASES = {
    "2024-03-03": {  # a Sunday: the week started on Monday 26 February (a leap-year February)
        "last_7_days": ("2024-02-26", "2024-03-03"),
        "this_week": ("2024-02-26", "2024-03-03"),
        "last_week": ("2024-02-19", "2024-02-25"),
        "this_month": ("2024-03-01", "2024-03-03"),
        "last_month": ("2024-02-01", "2024-02-29"),
        "last_30_days": ("2024-02-03", "2024-03-03"),
    },
    "2024-03-04": {  # the Monday after: a new week of one day
        "this_week": ("2024-03-04", "2024-03-04"),
        "last_week": ("2024-02-26", "2024-03-03"),
        "last_7_days": ("2024-02-27", "2024-03-04"),
    },
    "2024-02-29": {  # leap day, a Thursday
        "this_month": ("2024-02-01", "2024-02-29"),
        "last_month": ("2024-01-01", "2024-01-31"),
        "last_7_days": ("2024-02-23", "2024-02-29"),
        "last_30_days": ("2024-01-31", "2024-02-29"),
        "last_12_months": ("2023-03-01", "2024-02-29"),
        "this_quarter": ("2024-01-01", "2024-02-29"),
        "last_year": ("2023-01-01", "2023-12-31"),
    },
    "2023-03-01": {  # the day after a short February
        "last_month": ("2023-02-01", "2023-02-28"),
        "last_7_days": ("2023-02-23", "2023-03-01"),
        "last_30_days": ("2023-01-31", "2023-03-01"),
        "this_week": ("2023-02-27", "2023-03-01"),
    },
    "2023-01-31": {  # a Tuesday, the last day of January
        "this_month": ("2023-01-01", "2023-01-31"),
        "last_month": ("2022-12-01", "2022-12-31"),
        "this_week": ("2023-01-30", "2023-01-31"),
        "last_quarter": ("2022-10-01", "2022-12-31"),
        "last_12_months": ("2022-02-01", "2023-01-31"),
    },
    "2023-02-01": {  # Jan 31 -> Feb: a new month that is mid-week
        "this_month": ("2023-02-01", "2023-02-01"),
        "last_month": ("2023-01-01", "2023-01-31"),
        "this_week": ("2023-01-30", "2023-02-01"),
        "last_week": ("2023-01-23", "2023-01-29"),
    },
    "2024-12-31": {  # year end, a Tuesday
        "this_week": ("2024-12-30", "2024-12-31"),
        "this_quarter": ("2024-10-01", "2024-12-31"),
        "last_quarter": ("2024-07-01", "2024-09-30"),
        "this_year": ("2024-01-01", "2024-12-31"),
        "last_12_months": ("2024-01-01", "2024-12-31"),
        "last_month": ("2024-11-01", "2024-11-30"),
    },
    "2025-01-01": {  # new year's day, a Wednesday: the week straddles the years
        "this_week": ("2024-12-30", "2025-01-01"),
        "last_week": ("2024-12-23", "2024-12-29"),
        "last_7_days": ("2024-12-26", "2025-01-01"),
        "this_month": ("2025-01-01", "2025-01-01"),
        "last_month": ("2024-12-01", "2024-12-31"),
        "last_quarter": ("2024-10-01", "2024-12-31"),
        "this_year": ("2025-01-01", "2025-01-01"),
        "last_year": ("2024-01-01", "2024-12-31"),
        "last_12_months": ("2024-02-01", "2025-01-01"),
    },
    "2022-03-27": {  # the Sunday Europe moves its clocks forward
        "this_week": ("2022-03-21", "2022-03-27"),
        "last_7_days": ("2022-03-21", "2022-03-27"),
    },
    "2022-11-06": {  # the Sunday the US moves its clocks back
        "this_week": ("2022-10-31", "2022-11-06"),
        "last_week": ("2022-10-24", "2022-10-30"),
        "this_month": ("2022-11-01", "2022-11-06"),
    },
}
MONTHS_CASES = [  # (start, end) -> first days of the months the monthly tables are filtered on
    (("2024-02-26", "2024-03-03"), ("2024-02-01", "2024-03-01")),
    (("2024-12-30", "2025-01-01"), ("2024-12-01", "2025-01-01")),
    (("2023-02-01", "2023-02-28"), ("2023-02-01", "2023-02-01")),
]


@pytest.mark.parametrize("timezone", ["America/New_York", "Australia/Lord_Howe"])
def test_date_presets_at_week_month_and_year_edges(browser, served: Served, timezone: str):
    context = browser.new_context(timezone_id=timezone)
    try:
        page = context.new_page()
        watched = _watch(page)
        _open(page, served.base)
        _wait_ready(page, "overview")
        got = page.evaluate(
            """async ([cases, months]) => {
                 const d = await import("./dashboard/assets/dates.js");
                 const out = {};
                 for (const [anchor, presets] of Object.entries(cases)) {
                   out[anchor] = {};
                   for (const preset of Object.keys(presets)) {
                     const r = d.presetRange(preset, anchor);
                     out[anchor][preset] = [r.start, r.end];
                   }
                 }
                 const covered = months.map(([[s, e]]) => { const m = d.monthsCovering(s, e); return [m.from, m.to]; });
                 const checks = {
                   all: d.presetRange("all", "2024-03-03"),
                   before: [["2023-03-08", 23], ["2024-02-29", 12], ["2025-01-31", 1], ["2024-12-31", 0]]
                     .map(([a, n]) => d.monthStartBefore(a, n)),
                   weekdays: ["2024-03-03", "2024-03-04", "2024-02-29", "2025-01-01"].map(d.weekday),
                   valid: ["2024-02-29", "2023-02-29", "2023-13-01", "2023-1-5"].map(d.isISODate),
                 };
                 return { out, covered, checks };
               }""",
            [PRESET_CASES, MONTHS_CASES],
        )
        expected = {a: {p: list(r) for p, r in presets.items()} for a, presets in PRESET_CASES.items()}
        assert got["out"] == expected
        assert got["covered"] == [list(m) for _, m in MONTHS_CASES]
        assert got["checks"] == {"all": None, "before": ["2021-04-01", "2023-02-01", "2024-12-01", "2024-12-01"],
                                 "weekdays": [7, 1, 4, 3], "valid": [True, False, False, False]}
        watched.clean()
    finally:
        context.close()


def test_unknown_asset_is_a_404_with_a_message(served: Served):
    import httpx

    missing = httpx.get(f"{served.base}/dashboard/assets/../../config.py")
    assert missing.status_code == 404
    answer = httpx.get(f"{served.base}/dashboard/assets/nope.js")
    assert answer.status_code == 404 and "nope.js" in answer.text
    page = httpx.get(f"{served.base}/dashboard")
    assert page.headers["content-type"].startswith("text/html")
    assert httpx.get(f"{served.base}/dashboard", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
    assert not re.search(r"""(src|href)=["']/""", page.text), "absolute asset paths break under a stage prefix"
