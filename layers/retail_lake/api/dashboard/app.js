// Retail Lake dashboard: one page, three views, reading only the aggregated /api/v1 endpoints.
//
// Why it is built this way:
// - every URL is relative (api/v1/..., dashboard/assets/...), so the page works under an API Gateway
//   stage prefix such as /prod/dashboard without knowing it;
// - the view and every filter live in the URL hash, so a reload or a shared link shows the same thing;
// - each chart records how many data points it drew (window.dashboard.charts and data-points on its
//   card), from the data handed to the drawing code, so a browser test can tell a drawn chart from an
//   empty frame;
// - every chart has its rows as a table and a CSV link to the endpoint it drew (?format=csv).
import { PRESETS, isISODate, monthStartBefore, monthsCovering, presetRange } from "./dates.js";

const API = "api/v1/";
const PAGE_LIMIT = 1000; // the API's largest page
const MAX_PAGES = 5; // a chart never needs more: 5,000 aggregated rows is already unreadable
const COHORT_MONTHS = 24; // cohorts the heatmap shows when no period is chosen (a readable grid, a small answer)
const PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316", "#64748b", "#db2777", "#84cc16"];

const VIEWS = ["overview", "analytics", "simulation"];
const BREAKDOWNS = ["overall", "age_band", "gender", "store", "region"];
const PERIODS = ["monthly", "quarterly", "weekday"];
const DEFAULTS = { view: "overview", preset: "all", from: "", to: "", region: "", breakdown: "overall", period: "monthly" };

// What the browser test (and a curious user in the console) can read back.
const dashboard = (window.dashboard = { charts: {}, requests: [], state: null, anchor: null, errors: [] });

const $ = (selector, root = document) => root.querySelector(selector);
const escapeHtml = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

// --- number formats -----------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
const fmtInt = (v) => (isNumber(v) ? numberFormat.format(v) : "–");
const fmtMoney = (v) => (isNumber(v) ? moneyFormat.format(v) : "–");
const fmtCompact = (v) => (isNumber(v) ? compactFormat.format(v) : "–");
const fmtPct = (v, digits = 1) => (isNumber(v) ? `${(v * 100).toFixed(digits)}%` : "–");
const fmtIndex = (v) => (isNumber(v) ? v.toFixed(2) : "–");
const monthLabel = (iso) => String(iso ?? "").slice(0, 7);
const monthSeconds = (iso) => Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, 1) / 1000;

function fmtCell(value, column) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (/share|rate|pct|retention/.test(column)) return fmtPct(value);
    if (/index/.test(column)) return fmtIndex(value);
    return Number.isInteger(value) ? fmtInt(value) : fmtMoney(value);
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

// --- URL state ----------------------------------------------------------------------------------

/** The state in the URL hash, each value checked (a hand-edited or stale link falls back to defaults). */
function readState() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const pick = (key, allowed) => {
    const value = params.get(key);
    return value !== null && (!allowed || allowed.includes(value)) ? value : DEFAULTS[key];
  };
  const state = {
    view: pick("view", VIEWS),
    preset: pick("preset", PRESETS.map((p) => p.id)),
    from: isISODate(params.get("from")) ? params.get("from") : "",
    to: isISODate(params.get("to")) ? params.get("to") : "",
    region: pick("region"),
    breakdown: pick("breakdown", BREAKDOWNS),
    period: pick("period", PERIODS),
    sim: params.get("sim") || "",
  };
  if (state.preset === "custom" && !(state.from || state.to)) state.preset = "all";
  if (state.preset !== "custom") state.from = state.to = "";
  return state;
}

function writeState(state) {
  const params = new URLSearchParams();
  params.set("view", state.view);
  for (const key of ["preset", "from", "to", "region", "breakdown", "period", "sim"]) {
    if (state[key] && state[key] !== DEFAULTS[key]) params.set(key, state[key]);
  }
  const hash = "#" + params.toString();
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

/** The date range the state selects, {start, end} or null; presets are anchored at the data's last day. */
function selectedRange(state) {
  if (state.preset === "custom") {
    const start = state.from || "0001-01-01";
    const end = state.to || "9999-12-31";
    return start <= end ? { start, end } : { start: end, end: start };
  }
  return dashboard.anchor ? presetRange(state.preset, dashboard.anchor) : null;
}

/** Month filters of the monthly tables (seasonality, cohorts): the API's from/to (YYYY-MM). */
function monthParams(range) {
  if (!range) return {};
  const months = monthsCovering(range.start, range.end);
  return { from: monthLabel(months.from), to: monthLabel(months.to) };
}

// --- the API --------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function apiUrl(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return API + path + (text ? `?${text}` : "");
}

const responses = new Map(); // url -> Promise of the parsed body (one request per URL per page load)

async function request(url, init) {
  const started = performance.now();
  const response = await fetch(url, { headers: { Accept: "application/json" }, ...init });
  const body = await response.text();
  dashboard.requests.push({ url, method: init?.method || "GET", status: response.status, bytes: body.length,
    ms: Math.round(performance.now() - started) });
  let data = null;
  try {
    data = body ? JSON.parse(body) : null;
  } catch {
    throw new ApiError(response.status, `${url}: not JSON (${response.status})`);
  }
  if (!response.ok) {
    const detail = data && (data.detail ?? data.message);
    const text = Array.isArray(detail) ? detail.map((d) => d.msg ?? JSON.stringify(d)).join("; ") : detail;
    throw new ApiError(response.status, text || `HTTP ${response.status}`);
  }
  return data;
}

function getJSON(path, params) {
  const url = apiUrl(path, params);
  if (!responses.has(url)) {
    const pending = request(url);
    pending.catch(() => responses.delete(url)); // a failure is retried on the next render
    responses.set(url, pending);
  }
  return responses.get(url);
}

/** Every row of a (small, aggregated) list endpoint, following pages; says when it stopped early. */
async function getList(path, params = {}) {
  const items = [];
  let total = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await getJSON(path, { ...params, limit: PAGE_LIMIT, offset: items.length });
    items.push(...body.items);
    total = body.total;
    if (!body.items.length || items.length >= total) break;
  }
  return { items, total, truncated: items.length < total, csv: apiUrl(path, { ...params, limit: PAGE_LIMIT, format: "csv" }) };
}

// --- cards and charts -------------------------------------------------------------------------------

const plots = new Map(); // chart id -> uPlot instance (destroyed before a redraw)

function recordChart(id, points, extra = {}) {
  dashboard.charts[id] = { points, ...extra };
  const card = document.getElementById(`card-${id}`);
  if (card) {
    card.dataset.points = String(points);
    card.dataset.drawn = "true";
  }
}

/** Frame of a chart card: title, a note, the chart host, its table (built when opened) and CSV link. */
function cardFrame(id, { title, note = "", csv = null }) {
  const card = document.getElementById(`card-${id}`);
  card.dataset.drawn = "false";
  delete card.dataset.points;
  card.innerHTML = `
    <header><h2>${escapeHtml(title)}</h2>
      ${csv ? `<a class="csv" href="${escapeHtml(csv)}" download data-csv-for="${id}">CSV</a>` : ""}</header>
    <p class="note muted">${note}</p>
    <div class="chart" data-chart="${id}"></div>
    <details class="rows"><summary>Table</summary><div class="table-host"></div></details>`;
  return { card, host: $(".chart", card) };
}

function attachTable(card, columns, rows) {
  const details = $("details.rows", card);
  const build = () => {
    const host = $(".table-host", card);
    if (host.firstChild) return;
    const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
    const body = rows
      .map((row) => "<tr>" + columns.map((c) => `<td class="${typeof row[c] === "number" ? "num" : ""}">${escapeHtml(fmtCell(row[c], c))}</td>`).join("") + "</tr>")
      .join("");
    host.innerHTML = `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  };
  details.addEventListener("toggle", () => details.open && build());
  details.dataset.rows = String(rows.length);
}

function showError(id, title, error) {
  const card = document.getElementById(`card-${id}`);
  const notReady = error instanceof ApiError && error.status === 503;
  card.innerHTML = `<header><h2>${escapeHtml(title)}</h2></header>
    <p class="${notReady ? "muted" : "error"}">${escapeHtml(notReady ? `Not computed yet: ${error.message}` : error.message)}</p>`;
  card.dataset.drawn = "error";
  dashboard.errors.push({ id, message: error.message, status: error.status ?? null });
}

function countPoints(data) {
  let points = 0;
  for (let s = 1; s < data.length; s++) for (const v of data[s]) if (isNumber(v)) points++;
  return points;
}

/**
 * Draw a line or bar chart with uPlot and resolve with the number of points it drew.
 * spec: {kind: "line"|"bars", labels?: [..] (category axis) | x?: [unix seconds] (time axis),
 *        series: [{label, values, display?}], yFormat, yRange?, stacked?}
 */
function plot(id, host, spec) {
  plots.get(id)?.destroy();
  host.textContent = "";
  const bars = spec.kind === "bars";
  const categorical = !spec.x;
  const xs = categorical ? spec.labels.map((_, i) => i) : spec.x;
  const n = xs.length;
  const yFormat = spec.yFormat ?? fmtCompact;
  const many = categorical && n > 6;
  const xAxis = categorical
    ? { splits: () => xs, values: (u, splits) => splits.map((i) => shorten(spec.labels[i] ?? "", 16)),
        rotate: many ? -40 : 0, size: many ? 96 : 36, gap: 4, grid: { show: false } }
    : { space: 60 };
  return new Promise((resolve) => {
    const options = {
      width: Math.max(host.clientWidth || 0, 300),
      height: spec.height ?? 260,
      padding: [12, many ? 56 : 12, 0, 0], // room for the last rotated label
      legend: { show: spec.series.length > 1 || !categorical, live: true },
      cursor: { drag: { x: false, y: false }, points: { show: !bars } },
      scales: {
        x: categorical ? { time: false, range: [-0.6, n - 0.4] } : { time: true },
        y: { range: spec.yRange ?? ((u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1]) },
      },
      axes: [xAxis, { size: 64, values: (u, ticks) => ticks.map(yFormat) }],
      series: [
        { label: categorical ? spec.xLabel ?? "" : "month", value: (u, v) => (v == null ? "" : categorical ? spec.labels[v] ?? "" : new Date(v * 1000).toISOString().slice(0, 7)) },
        ...spec.series.map((s, i) => {
          const color = s.color ?? PALETTE[i % PALETTE.length];
          return {
            label: s.label,
            stroke: color,
            fill: bars ? color : `${color}22`,
            width: bars ? 0 : 2,
            points: { show: !bars && n <= 40, size: 5 },
            paths: bars ? uPlot.paths.bars({ size: [spec.stacked ? 0.7 : 0.6, 64], gap: 1 }) : undefined,
            value: (u, v, si, di) => (di == null ? "" : yFormat(s.display ? s.display[di] : v)),
          };
        }),
      ],
      hooks: {
        draw: [(u) => {
          const points = countPoints(u.data);
          recordChart(id, points, { series: spec.series.length, kind: spec.kind });
          resolve(points);
        }],
      },
    };
    plots.set(id, new uPlot(options, [xs, ...spec.series.map((s) => s.values)], host));
  });
}

function shorten(text, max) {
  text = String(text);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function emptyChart(id, host, message) {
  plots.get(id)?.destroy();
  plots.delete(id);
  host.innerHTML = `<p class="empty muted">${escapeHtml(message)}</p>`;
  recordChart(id, 0, { empty: true });
  return 0;
}

// Redraw charts to their card's width when the window changes size.
let resizeTimer = 0;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const [id, chart] of plots) {
      const host = document.querySelector(`[data-chart="${id}"]`);
      if (host && host.clientWidth) chart.setSize({ width: host.clientWidth, height: chart.height });
    }
  }, 150);
});

// --- Overview ---------------------------------------------------------------------------------------

async function loadStores() {
  // Unfiltered store list: the data's last day anchors the date presets; regions fill the filter.
  const stores = await getList("stores/performance");
  const last = stores.items.map((s) => s.last_invoice_date).filter(Boolean).sort().at(-1);
  dashboard.anchor = last ? String(last).slice(0, 10) : null;
  const regions = [...new Set(stores.items.map((s) => s.region))].sort();
  const select = $("#region");
  const current = select.value;
  select.innerHTML = `<option value="">All regions</option>` + regions.map((r) => `<option>${escapeHtml(r)}</option>`).join("");
  select.value = regions.includes(current) ? current : "";
  return stores;
}

async function renderKpis(state, range) {
  const host = $("#kpis");
  const loyalty = await getList("customers/loyalty-analysis");
  const all = loyalty.items.reduce(
    (t, r) => ({ revenue: t.revenue + r.revenue, transactions: t.transactions + r.transactions, customers: t.customers + r.customers }),
    { revenue: 0, transactions: 0, customers: 0 },
  );
  const repeat = loyalty.items.find((r) => r.customer_type === "repeat");
  let revenue = all.revenue;
  let transactions = all.transactions;
  let customers = all.customers;
  let scope = "all time";
  let customerScope = "all time";
  if (range) {
    const months = await getList("analytics/seasonality", { period: "monthly", ...monthParams(range) });
    revenue = months.items.reduce((t, r) => t + r.revenue, 0);
    transactions = months.items.reduce((t, r) => t + r.transactions, 0);
    const span = monthsCovering(range.start, range.end);
    scope = span.from === span.to ? monthLabel(span.from) : `${monthLabel(span.from)} – ${monthLabel(span.to)}`;
    if (span.from === span.to) {
      customers = months.items.length ? months.items[0].customers : 0;
      customerScope = scope;
    }
  }
  const tiles = [
    { id: "revenue", label: "Revenue", value: revenue, text: fmtCompact(revenue), title: fmtMoney(revenue), scope },
    { id: "transactions", label: "Transactions", value: transactions, text: fmtInt(transactions), scope },
    { id: "customers", label: "Customers", value: customers, text: fmtInt(customers), scope: customerScope },
    { id: "avg_transaction_value", label: "Avg transaction value", value: transactions ? revenue / transactions : null,
      text: fmtMoney(transactions ? revenue / transactions : null), scope },
    { id: "repeat_share", label: "Repeat customers", value: repeat && all.customers ? repeat.customers / all.customers : null,
      text: fmtPct(repeat && all.customers ? repeat.customers / all.customers : null),
      scope: `of customers, all time · ${fmtPct(repeat?.revenue_share)} of revenue` },
  ];
  host.innerHTML = tiles
    .map((t) => `<div class="kpi" data-kpi="${t.id}" data-value="${t.value ?? ""}" title="${escapeHtml(t.title ?? t.text)}">
        <span class="label">${t.label}</span><span class="value">${t.text}</span><span class="scope muted">${escapeHtml(t.scope)}</span></div>`)
    .join("");
  host.dataset.drawn = "true";
}

async function renderMonthlyRevenue(state, range) {
  const params = { period: "monthly", ...monthParams(range) };
  const list = await getList("analytics/seasonality", params);
  const { card, host } = cardFrame("monthly-revenue", {
    title: "Monthly revenue", csv: list.csv,
    note: `Revenue per calendar month${range ? " in the selected period" : ""}; the table shows transactions, customers and days with sales (a partly covered month has fewer).`,
  });
  const rows = [...list.items].sort((a, b) => String(a.month).localeCompare(String(b.month)));
  attachTable(card, ["month", "revenue", "transactions", "customers", "days_with_sales", "seasonality_index", "revenue_mom_growth"], rows);
  if (!rows.length) return emptyChart("monthly-revenue", host, "No sales in the selected period.");
  return plot("monthly-revenue", host, {
    kind: "line",
    x: rows.map((r) => monthSeconds(String(r.month))),
    series: [{ label: "revenue", values: rows.map((r) => r.revenue) }],
  });
}

async function renderStoreRanking(state) {
  const list = await getList("stores/performance", { region: state.region });
  const rows = list.items;
  const { card, host } = cardFrame("store-ranking", {
    title: "Store ranking", csv: list.csv,
    note: `Revenue by store, all time${state.region ? `, region ${escapeHtml(state.region)}` : ""} (tables are not split by date).`,
  });
  attachTable(card, ["rank", "store", "region", "revenue", "transactions", "customers", "avg_transaction_value", "revenue_share"], rows);
  if (!rows.length) return emptyChart("store-ranking", host, "No stores.");
  const top = rows.slice(0, 20);
  return plot("store-ranking", host, {
    kind: "bars",
    labels: top.map((r) => r.store),
    series: [{ label: "revenue", values: top.map((r) => r.revenue) }],
  });
}

async function renderRegionSplit() {
  const list = await getList("stores/regional-analysis");
  const rows = list.items;
  const { card, host } = cardFrame("region-split", {
    title: "Region split", csv: list.csv, note: "Share of revenue by region, all time.",
  });
  attachTable(card, ["rank", "region", "stores", "revenue", "revenue_share", "transactions", "customers", "top_store"], rows);
  if (!rows.length) return emptyChart("region-split", host, "No regions.");
  return plot("region-split", host, {
    kind: "bars",
    labels: rows.map((r) => r.region),
    series: [{ label: "revenue share", values: rows.map((r) => r.revenue_share) }],
    yFormat: (v) => fmtPct(v, 0),
  });
}

// --- Analytics --------------------------------------------------------------------------------------

async function renderRfmSegments() {
  const list = await getList("customers/segments");
  const rows = [...list.items].sort((a, b) => (a.segment_order ?? 0) - (b.segment_order ?? 0));
  const { card, host } = cardFrame("rfm-segments", {
    title: "RFM segments", csv: list.csv,
    note: "Customers per recency/frequency/monetary segment; the table says who is in each and what to do.",
  });
  attachTable(card, ["segment", "customers", "customer_share", "revenue", "revenue_share", "avg_recency_days", "avg_frequency", "avg_monetary", "action"], rows);
  if (!rows.length) return emptyChart("rfm-segments", host, "No customers.");
  return plot("rfm-segments", host, {
    kind: "bars",
    labels: rows.map((r) => r.segment),
    series: [{ label: "customers", values: rows.map((r) => r.customers) }],
    yFormat: fmtCompact,
  });
}

async function renderCategoryMargins() {
  const list = await getList("analytics/category-insights");
  const rows = list.items;
  const bases = new Set(rows.map((r) => r.cost_basis ?? "unknown"));
  const basisText = bases.size === 1 ? [...bases][0] : "mixed";
  const { card, host } = cardFrame("category-margins", {
    title: "Category margins", csv: list.csv,
    note: `Margin % of revenue by category. Costs: <strong class="basis basis-${escapeHtml(basisText)}" data-cost-basis="${escapeHtml(basisText)}">${escapeHtml(basisText)}</strong>` +
      (bases.has("assumed") ? " (no unit_cost in the uploads: per-category cost ratios from configuration)." : "."),
  });
  attachTable(card, ["rank", "category", "revenue", "margin", "margin_pct", "cost_basis", "top_segment"], rows);
  if (!rows.length) return emptyChart("category-margins", host, "No categories.");
  const of = (basis) => rows.map((r) => ((r.cost_basis ?? "unknown") === basis && isNumber(r.margin_pct) ? r.margin_pct : null));
  const series = [];
  if (bases.has("actual")) series.push({ label: "margin % (actual costs)", values: of("actual"), color: "#10b981" });
  if (bases.has("assumed")) series.push({ label: "margin % (assumed costs)", values: of("assumed"), color: "#f59e0b" });
  if (bases.has("unknown")) series.push({ label: "margin %", values: of("unknown"), color: "#64748b" });
  return plot("category-margins", host, {
    kind: "bars", labels: rows.map((r) => r.category), series, yFormat: (v) => fmtPct(v, 0),
  });
}

async function renderCohorts(state, range) {
  // Without a period, the latest COHORT_MONTHS cohorts: older ones add rows nobody can read in a grid.
  const recent = !range && dashboard.anchor ? { from: monthLabel(monthStartBefore(dashboard.anchor, COHORT_MONTHS - 1)) } : {};
  const list = await getList("analytics/cohort-analysis", range ? monthParams(range) : recent);
  const rows = list.items;
  const { card, host } = cardFrame("cohort-retention", {
    title: "Cohort retention", csv: list.csv,
    note: `Share of each first-purchase month's customers who bought again N months later` +
      (range ? " (cohorts in the selected period)." : recent.from ? ` (cohorts from ${recent.from}; pick a period for others).` : ".") +
      (list.truncated ? ` Showing ${fmtInt(rows.length)} of ${fmtInt(list.total)} rows.` : ""),
  });
  attachTable(card, ["cohort_month", "months_since_first", "cohort_size", "customers", "retention_rate", "revenue"], rows);
  plots.get("cohort-retention")?.destroy();
  plots.delete("cohort-retention");
  if (!rows.length) return emptyChart("cohort-retention", host, "No cohorts in the selected period.");
  const cohorts = [...new Set(rows.map((r) => String(r.cohort_month).slice(0, 10)))].sort();
  const maxMonth = Math.max(...rows.map((r) => r.months_since_first));
  const cell = new Map(rows.map((r) => [`${String(r.cohort_month).slice(0, 10)}|${r.months_since_first}`, r]));
  const size = new Map(rows.map((r) => [String(r.cohort_month).slice(0, 10), r.cohort_size]));
  let drawn = 0;
  const head = Array.from({ length: maxMonth + 1 }, (_, m) => `<th>${m}</th>`).join("");
  const body = cohorts
    .map((cohort) => {
      const cells = Array.from({ length: maxMonth + 1 }, (_, m) => {
        const r = cell.get(`${cohort}|${m}`);
        if (!r || !isNumber(r.retention_rate)) return "<td></td>";
        drawn++;
        // Month 0 is 100 % by definition: scale the colour on the later months so they stay readable.
        const alpha = m === 0 ? 0.9 : Math.min(1, 0.08 + r.retention_rate * 2.5);
        return `<td class="hm" style="background:rgba(37,99,235,${alpha.toFixed(3)});color:${alpha > 0.55 ? "#fff" : "#111"}"
          title="${escapeHtml(`${monthLabel(cohort)} +${m}: ${fmtInt(r.customers)} of ${fmtInt(r.cohort_size)} customers`)}">${(r.retention_rate * 100).toFixed(0)}</td>`;
      }).join("");
      return `<tr><th class="cohort">${monthLabel(cohort)}</th><td class="num size">${fmtInt(size.get(cohort))}</td>${cells}</tr>`;
    })
    .join("");
  host.innerHTML = `<div class="heatmap-scroll"><table class="heatmap"><thead><tr><th>cohort</th><th>size</th>${head}</tr></thead>
    <tbody>${body}</tbody></table></div><p class="muted small">Cells: retention % by months since first purchase.</p>`;
  recordChart("cohort-retention", drawn, { kind: "heatmap", cohorts: cohorts.length });
  return drawn;
}

const SEASON = {
  monthly: { key: "month", label: (r) => monthLabel(r.month), order: (r) => String(r.month) },
  quarterly: { key: "quarter_start", label: (r) => r.quarter_label, order: (r) => String(r.quarter_start) },
  weekday: { key: "day_of_week", label: (r) => String(r.day_name).slice(0, 3), order: (r) => r.day_of_week },
};

async function renderSeasonality(state, range) {
  const season = SEASON[state.period];
  const params = { period: state.period, ...(state.period === "monthly" ? monthParams(range) : {}) };
  const list = await getList("analytics/seasonality", params);
  const rows = [...list.items].sort((a, b) => (season.order(a) < season.order(b) ? -1 : season.order(a) > season.order(b) ? 1 : 0));
  const { card, host } = cardFrame("seasonality-index", {
    title: `Seasonality index (${state.period})`, csv: list.csv,
    note: state.period === "weekday"
      ? "Average daily revenue on each weekday / revenue per day with sales (1 = an average day), all time."
      : `Revenue of the ${state.period === "monthly" ? "month" : "quarter"} / mean over the periods present (1 = average).`,
  });
  const columns = state.period === "weekday"
    ? ["day_name", "revenue", "transactions", "days_with_sales", "avg_daily_revenue", "seasonality_index"]
    : [season.key, ...(state.period === "quarterly" ? ["quarter_label"] : []), "revenue", "transactions", "seasonality_index", "is_peak", "is_low"];
  attachTable(card, columns, rows);
  if (!rows.length) return emptyChart("seasonality-index", host, "No sales in the selected period.");
  return plot("seasonality-index", host, {
    kind: state.period === "monthly" ? "line" : "bars",
    ...(state.period === "monthly" ? { x: rows.map((r) => monthSeconds(String(r.month))) } : { labels: rows.map(season.label) }),
    series: [{ label: "seasonality index", values: rows.map((r) => r.seasonality_index) }],
    yFormat: fmtIndex,
  });
}

async function renderPaymentMix(state) {
  const list = await getList("analytics/payment-methods", { breakdown: state.breakdown });
  const rows = list.items;
  const { card, host } = cardFrame("payment-mix", {
    title: "Payment mix", csv: list.csv,
    note: `Share of transactions by payment method${state.breakdown === "overall" ? "" : ` per ${state.breakdown.replace("_", " ")}`}, all time.`,
  });
  attachTable(card, ["breakdown", "breakdown_value", "payment_method", "transactions", "share", "revenue", "revenue_share"], rows);
  if (!rows.length) return emptyChart("payment-mix", host, "No transactions.");
  const groups = [...new Set(rows.map((r) => r.breakdown_value))].sort();
  const methods = [...new Set(rows.map((r) => r.payment_method))].sort();
  const share = new Map(rows.map((r) => [`${r.breakdown_value}|${r.payment_method}`, r.share]));
  // Stacked bars: each series is drawn from zero to its cumulative share, the tallest first, so every
  // method shows as its own band; the legend shows the method's own share.
  const own = methods.map((m) => groups.map((g) => share.get(`${g}|${m}`) ?? 0));
  const cumulative = own.map((_, i) => groups.map((_, gi) => own.slice(i).reduce((t, s) => t + s[gi], 0)));
  return plot("payment-mix", host, {
    kind: "bars", stacked: true,
    labels: groups, xLabel: state.breakdown.replace("_", " "),
    series: methods.map((m, i) => ({ label: m, values: cumulative[i], display: own[i], color: PALETTE[i % PALETTE.length] })),
    yFormat: (v) => fmtPct(v, 0), yRange: [0, 1.0001],
  });
}

// --- Simulation -------------------------------------------------------------------------------------

async function prepareSimulation(state) {
  const segments = await getList("customers/segments");
  const select = $("#sim-segments");
  if (!select.options.length) {
    // Segments without customers are left out: a campaign on them targets nobody.
    select.innerHTML = [...segments.items]
      .filter((s) => s.customers > 0)
      .sort((a, b) => (a.segment_order ?? 0) - (b.segment_order ?? 0))
      .map((s) => `<option value="${escapeHtml(s.segment)}">${escapeHtml(s.segment)} (${fmtInt(s.customers)})</option>`)
      .join("");
    const tiers = [["high", "high (top 20 %)"], ["medium", "medium (next 30 %)"], ["low", "low (bottom 50 %)"]];
    $("#sim-tier").innerHTML = tiers.map(([value, label]) => `<option value="${value}">${label}</option>`).join("");
  }
  restoreCampaignForm(state.sim);
  const card = document.getElementById("card-campaign-result");
  if (!card.dataset.drawn) {
    card.innerHTML = `<header><h2>Projected outcome</h2></header><p class="muted">Choose a target and terms, then Simulate.</p>`;
  }
  if (state.sim && !dashboard.simulated) await simulate();
}

function campaignBody(form) {
  const data = new FormData(form);
  const number = (name) => Number(data.get(name));
  const body = {
    discount_rate: number("discount_rate"),
    response_rate: number("response_rate"),
    uplift: number("uplift"),
    cost_per_contact: number("cost_per_contact"),
    horizon_days: Math.round(number("horizon_days")),
  };
  const kind = data.get("target");
  if (kind === "segments") body.target = { segments: data.getAll("segments") };
  if (kind === "top_pct") body.target = { top_pct: number("top_pct") };
  if (kind === "spend_tier") body.target = { spend_tier: data.get("spend_tier") };
  return body;
}

function restoreCampaignForm(sim) {
  if (!sim) return;
  let saved;
  try {
    saved = JSON.parse(sim);
  } catch {
    return;
  }
  const form = $("#campaign");
  for (const [name, value] of Object.entries(saved)) {
    if (name === "target" && value && typeof value === "object") {
      const [kind, chosen] = Object.entries(value)[0] ?? [];
      const radio = form.querySelector(`input[name="target"][value="${kind}"]`);
      if (!radio) continue;
      radio.checked = true;
      if (kind === "segments") {
        for (const option of $("#sim-segments").options) option.selected = [].concat(chosen).includes(option.value);
      } else {
        form.elements[kind].value = chosen;
      }
    } else if (name !== "target" && form.elements[name] && typeof value !== "object") {
      form.elements[name].value = value;
    }
  }
}

async function simulate() {
  const form = $("#campaign");
  const body = campaignBody(form);
  const errorBox = $("#sim-error");
  errorBox.hidden = true;
  if (body.target?.segments && !body.target.segments.length) {
    errorBox.textContent = "Pick at least one segment (Ctrl/Cmd-click for several).";
    errorBox.hidden = false;
    return;
  }
  const state = readState();
  state.sim = JSON.stringify(body);
  writeState(state);
  dashboard.simulated = true;
  const card = document.getElementById("card-campaign-result");
  card.dataset.drawn = "false";
  let answer;
  try {
    answer = await request(API + "analytics/campaign-simulation", {
      method: "POST", body: JSON.stringify(body), headers: { Accept: "application/json", "Content-Type": "application/json" },
    });
  } catch (error) {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
    card.innerHTML = `<header><h2>Projected outcome</h2></header><p class="error">${escapeHtml(error.message)}</p>`;
    card.dataset.drawn = "error";
    return;
  }
  dashboard.campaign = answer;
  renderCampaign(answer);
}

const OUTCOME_FIELDS = [
  ["customers_targeted", "Customers targeted", fmtInt],
  ["expected_responders", "Expected responders", fmtInt],
  ["baseline_revenue", "Baseline revenue", fmtMoney],
  ["projected_revenue", "Projected revenue", fmtMoney],
  ["incremental_revenue", "Incremental revenue", fmtMoney],
  ["discount_cost", "Discount cost", fmtMoney],
  ["contact_cost", "Contact cost", fmtMoney],
  ["campaign_cost", "Campaign cost", fmtMoney],
  ["margin_rate", "Margin rate", (v) => fmtPct(v)],
  ["incremental_margin", "Incremental margin", fmtMoney],
  ["roi", "ROI", (v) => (isNumber(v) ? fmtPct(v) : "– (costs nothing)")],
  ["break_even_response_rate", "Break-even response rate", (v) => (isNumber(v) ? fmtPct(v) : "none (cannot break even)")],
];

function renderCampaign(answer) {
  const card = document.getElementById("card-campaign-result");
  const shown = OUTCOME_FIELDS.filter(([key]) => key in answer);
  const basis = answer.margin_basis ?? "assumed";
  card.innerHTML = `<header><h2>Projected outcome</h2></header>
    <p class="note">${escapeHtml(answer.target?.description ?? "")}, over ${fmtInt(answer.assumptions?.horizon_days)} days.</p>
    <p class="note muted">Baseline from <strong data-baseline-source>${escapeHtml(answer.baseline_source)}</strong>:
      ${escapeHtml(answer.baseline_note ?? "")}. Costs
      <strong class="basis basis-${escapeHtml(basis)}" data-margin-basis="${escapeHtml(basis)}">${escapeHtml(basis)}</strong>.</p>
    <div class="chart" data-chart="campaign-result"></div>
    <table class="outcome">${shown.map(([key, label, f]) => `<tr data-field="${key}"><th>${label}</th><td class="num">${f(answer[key])}</td></tr>`).join("")}</table>
    <details class="rows"><summary>Assumptions echoed by the API</summary>
      <ul>${(answer.assumptions?.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>
      <pre>${escapeHtml(JSON.stringify({ ...answer.assumptions, notes: undefined, tables: answer.tables }, null, 2))}</pre></details>`;
  const bars = [["baseline_revenue", "Baseline"], ["projected_revenue", "Projected"], ["discount_cost", "Discount"],
    ["contact_cost", "Contacts"], ["incremental_margin", "Incr. margin"]].filter(([k]) => isNumber(answer[k]));
  return plot("campaign-result", $(".chart", card), {
    kind: "bars", xLabel: "amount over the horizon",
    labels: bars.map(([, label]) => label),
    series: [{ label: "amount", values: bars.map(([k]) => answer[k]) }],
    height: 220,
  });
}

// --- the page ---------------------------------------------------------------------------------------

const RENDERERS = {
  overview: [
    ["kpis", renderKpis],
    ["monthly-revenue", renderMonthlyRevenue],
    ["store-ranking", renderStoreRanking],
    ["region-split", renderRegionSplit],
  ],
  analytics: [
    ["rfm-segments", renderRfmSegments],
    ["category-margins", renderCategoryMargins],
    ["cohort-retention", renderCohorts],
    ["seasonality-index", renderSeasonality],
    ["payment-mix", renderPaymentMix],
  ],
  simulation: [["campaign-form", prepareSimulation]],
};
const TITLES = {
  kpis: "Key figures", "monthly-revenue": "Monthly revenue", "store-ranking": "Store ranking", "region-split": "Region split",
  "rfm-segments": "RFM segments", "category-margins": "Category margins", "cohort-retention": "Cohort retention",
  "seasonality-index": "Seasonality index", "payment-mix": "Payment mix", "campaign-form": "Campaign simulation",
};

function syncControls(state, range) {
  $("#preset").value = state.preset;
  $("#from").value = range && state.preset !== "custom" ? range.start : state.from;
  $("#to").value = range && state.preset !== "custom" ? range.end : state.to;
  $("#region").value = state.region;
  $("#breakdown").value = state.breakdown;
  $("#period").value = state.period;
  for (const el of document.querySelectorAll("[data-views]")) el.hidden = !el.dataset.views.split(" ").includes(state.view);
  $("#filters").hidden = state.view === "simulation"; // the simulation reads the whole history
  for (const el of document.querySelectorAll("main > section")) el.hidden = el.dataset.view !== state.view;
  for (const a of document.querySelectorAll(".tabs a")) a.setAttribute("aria-current", a.dataset.view === state.view ? "page" : "false");
  const span = range && range.start > "0001-01-01" && range.end < "9999-12-31" ? monthsCovering(range.start, range.end) : null;
  $("#range-note").textContent = range
    ? `${range.start} – ${range.end}` + (span ? ` (monthly tables: ${monthLabel(span.from)} to ${monthLabel(span.to)})` : "")
    : "";
  $("#asof").textContent = dashboard.anchor ? `data up to ${dashboard.anchor}` : "";
}

let renderCount = 0;

async function render() {
  const ticket = ++renderCount;
  const state = readState();
  dashboard.state = state;
  document.body.dataset.status = "loading";
  document.body.dataset.view = state.view;
  try {
    await loadStores();
  } catch (error) {
    dashboard.errors.push({ id: "stores", message: error.message, status: error.status ?? null });
  }
  const range = selectedRange(state);
  syncControls(state, range);
  writeState(state);
  const results = await Promise.allSettled(
    RENDERERS[state.view].map(([id, draw]) =>
      draw(state, range).catch((error) => {
        if (id === "kpis") {
          $("#kpis").innerHTML = `<p class="error">${escapeHtml(error.message)}</p>`;
          dashboard.errors.push({ id, message: error.message, status: error.status ?? null });
        } else if (document.getElementById(`card-${id}`)) showError(id, TITLES[id], error);
        else dashboard.errors.push({ id, message: error.message, status: error.status ?? null });
        throw error;
      }),
    ),
  );
  if (ticket !== renderCount) return; // a newer render took over
  document.body.dataset.status = results.some((r) => r.status === "rejected") ? "error" : "ready";
}

function update(changes) {
  const state = { ...readState(), ...changes };
  writeState(state);
  render();
}

function wireControls() {
  $("#preset").innerHTML = PRESETS.map((p) => `<option value="${p.id}">${p.label}</option>`).join("");
  $("#preset").addEventListener("change", (e) => update({ preset: e.target.value, from: "", to: "" }));
  for (const id of ["from", "to"]) {
    $(`#${id}`).addEventListener("change", () => update({ preset: "custom", from: $("#from").value, to: $("#to").value }));
  }
  for (const id of ["region", "breakdown", "period"]) {
    $(`#${id}`).addEventListener("change", (e) => update({ [id]: e.target.value }));
  }
  $("#filters").addEventListener("submit", (e) => e.preventDefault());
  for (const a of document.querySelectorAll(".tabs a")) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      update({ view: a.dataset.view });
    });
  }
  $("#campaign").addEventListener("submit", (e) => {
    e.preventDefault();
    simulate();
  });
  window.addEventListener("hashchange", render);
}

function start() {
  if (!window.uPlot) {
    document.body.dataset.status = "error";
    document.body.insertAdjacentHTML("afterbegin", `<p class="error">The chart library did not load (dashboard/assets/vendor/uplot).</p>`);
    return;
  }
  wireControls();
  render();
}

if (document.readyState === "complete") start();
else window.addEventListener("load", start);
