"""Realistic generator of the "customer shopping dataset" schema (``customer_shopping_data.csv``).

The reference file cannot be downloaded here, so demos, tests and benchmarks use this generator.
It writes the same columns and value formats, with the behaviour the analytics must find: repeat
and one-time customers, monthly/weekly seasonality, year-over-year growth, an uneven store and
category mix, age-dependent payment preferences, and customers active over a span of months so
cohorts and retention mean something.

Everything runs as one DuckDB ``COPY (SELECT ... FROM range(N))`` (core import rule: no numpy).
Randomness is a per-row hash of (row id, stream, seed), never ``random()``, so the bytes depend only
on the arguments, not on the thread count. Weighted choices are CASE chains over small cumulative
tables inlined as list literals (no joins: a hash join may reorder rows, and an ORDER BY would cost
a sort of the whole file), so the rows keep row-id order. The run is bound by the CSV writer and the
disk: a parallel id-table source was measured slower (the ordered writer buffers) and is not used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

import duckdb

HEADER: tuple[str, ...] = (
    "invoice_no",
    "customer_id",
    "gender",
    "age",
    "category",
    "quantity",
    "price",
    "payment_method",
    "invoice_date",
    "shopping_mall",
)
COST_COLUMNS: tuple[str, ...] = ("discount", "unit_cost")

FIRST_DAY = dt.date(2021, 1, 1)
LAST_DAY = dt.date(2023, 3, 8)

# Category -> (unit price, share of lines, unit cost as a share of the unit price).
# Unit prices are the reference dataset's; the cost ratios are the generator's own (with_costs).
CATEGORIES: dict[str, tuple[float, float, float]] = {
    "Clothing": (300.08, 35.0, 0.45),
    "Shoes": (600.17, 10.0, 0.50),
    "Books": (15.15, 5.0, 0.60),
    "Cosmetics": (40.66, 15.0, 0.35),
    "Food & Beverage": (5.23, 15.0, 0.65),
    "Toys": (35.84, 10.0, 0.50),
    "Technology": (1050.0, 5.0, 0.75),
    "Souvenir": (11.73, 5.0, 0.40),
}
UNIT_PRICES: dict[str, float] = {name: v[0] for name, v in CATEGORIES.items()}

# Mall -> share of visits (Mall of Istanbul and Kanyon biggest, Forum Istanbul / Viaport smallest).
MALLS: dict[str, float] = {
    "Mall of Istanbul": 20.0,
    "Kanyon": 19.5,
    "Metrocity": 15.0,
    "Metropol AVM": 10.5,
    "Istinye Park": 9.5,
    "Zorlu Center": 5.5,
    "Cevahir AVM": 5.5,
    "Emaar Square Mall": 5.0,
    "Viaport Outlet": 4.5,
    "Forum Istanbul": 4.5,
}
PAYMENT_METHODS: tuple[str, ...] = ("Cash", "Credit Card", "Debit Card")
# Payment mix by age band (18-29, 30-49, 50-69): younger customers use cards more.
_PAYMENT_BY_BAND: tuple[tuple[float, float, float], ...] = (
    (0.37, 0.41, 0.22),
    (0.44, 0.36, 0.20),
    (0.52, 0.30, 0.18),
)
FEMALE_SHARE = 0.6
AGE_MIN, AGE_MAX = 18, 69

# Seasonality: month weights (Nov/Dec peak, summer dip), day-of-week (Mon..Sun, weekend uplift),
# yearly growth, and a Black Friday spike.
_MONTH_WEIGHT = (0.92, 0.85, 0.95, 0.97, 1.0, 0.86, 0.80, 0.84, 0.96, 1.02, 1.28, 1.45)
_DOW_WEIGHT = (0.90, 0.88, 0.90, 0.95, 1.05, 1.30, 1.20)
_YEARLY_GROWTH = 0.12

# Quantity 1..5 weights per category: Technology mostly single items, food and souvenirs in multiples.
_QTY_WEIGHTS: dict[str, tuple[float, ...]] = {
    "Technology": (40, 25, 15, 10, 10),
    "Food & Beverage": (15, 20, 22, 22, 21),
    "Souvenir": (18, 20, 22, 20, 20),
    "Shoes": (30, 25, 20, 13, 12),
}
_QTY_DEFAULT = (22, 21, 20, 19, 18)

# Customer tiers: (share of the pool, share of the lines, activity window in time-quantile units).
# Loyal customers buy all the time with a skew among them; regular ones during a window of months
# (more at its start: retention decays); occasional ones in a short burst (mostly one purchase).
_LOYAL_POOL, _LOYAL_LINES = 0.04, 0.20
_REGULAR_POOL, _REGULAR_LINES, _REGULAR_WINDOW = 0.16, 0.40, 0.35
_OCCASIONAL_WINDOW = 0.06
_FAVOURITE_MALL_SHARE = 0.70
_PREFERRED_PAYMENT_SHARE = 0.55

MESSY_KINDS: tuple[str, ...] = (
    "missing_customer_id",
    "bad_date",
    "zero_quantity",
    "negative_quantity",
    "bad_price",
    "unknown_category",
    "duplicate_row",
    "untidy_names",
)
# What the ingest does with each injected kind (DECISIONS.md "Validation policy").
QUARANTINED_KINDS: frozenset[str] = frozenset(
    {"missing_customer_id", "bad_date", "zero_quantity", "negative_quantity", "bad_price", "duplicate_row"}
)
FLAGGED_KINDS: frozenset[str] = frozenset({"unknown_category"})


ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class GenerateSummary:
    """What was written; ``injected`` lets tests predict the ingest's quarantine and flag counts."""

    path: Path
    rows: int
    customers: int
    seed: int
    format: str
    with_costs: bool
    messy: float
    bytes: int
    seconds: float
    injected: dict[str, int] = field(default_factory=dict)

    @property
    def expected_quarantined(self) -> int:
        """Rows the ingest should quarantine (missing key, bad date/quantity/price, duplicate)."""
        return sum(n for kind, n in self.injected.items() if kind in QUARANTINED_KINDS)

    @property
    def expected_accepted(self) -> int:
        return self.rows - self.expected_quarantined

    @property
    def expected_flagged(self) -> int:
        """Accepted rows the ingest should flag (unknown_category)."""
        return sum(n for kind, n in self.injected.items() if kind in FLAGGED_KINDS)


def output_format(out: Path) -> str:
    """'csv', 'csv.gz' or 'parquet' from the file name; anything else is an error."""
    name = out.name.lower()
    for ext, fmt in ((".csv.gz", "csv.gz"), (".csv", "csv"), (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(ext):
            return fmt
    raise ValueError(f"unsupported output extension for {out.name!r}: use .csv, .csv.gz or .parquet")


def generate(
    out: Path,
    rows: int,
    customers: int,
    seed: int,
    *,
    with_costs: bool = False,
    messy: float = 0.0,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
) -> GenerateSummary:
    """Write ``rows`` invoice lines drawn from a pool of ``customers`` to ``out``; deterministic per seed.

    generate(out: Path, rows: int, customers: int, seed: int, *, with_costs: bool = False,
             messy: float = 0.0, progress: Callable[[int, int], None] | None = None,
             threads: int | None = None) -> GenerateSummary

    - ``out``: ``.csv``, ``.csv.gz`` or ``.parquet`` (format from the extension). Written to a temp name
      in the same folder and renamed, so a reader never sees a half-written file.
    - ``rows``: lines (one invoice each, unique ``invoice_no``); ``customers``: customer pool size (not
      every pool member necessarily buys).
    - ``with_costs``: adds ``discount`` (currency, 0 on most lines; ``price`` is after it) and
      ``unit_cost``.
    - ``messy``: fraction of rows (0..1) replaced by realistic bad rows, spread over ``MESSY_KINDS``;
      ``summary.injected`` counts each kind exactly (``expected_quarantined``/``expected_flagged``).
    - ``progress(done_rows, total_rows)``: called about twice a second while writing, and at the end.
    - ``threads``: DuckDB threads (default: DuckDB's); the output bytes do not depend on it.

    CSV: the reference header, dates as day/month/year without zero padding (``5/8/2022``), price with
    two decimals. Parquet: the same columns and text dates; age/quantity integers, money doubles
    (price is text when ``messy`` > 0, since bad prices are not numbers).
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if customers < 1:
        raise ValueError("customers must be >= 1")
    if not 0.0 <= messy <= 1.0:
        raise ValueError("messy must be a fraction between 0 and 1")
    fmt = output_format(out)
    started = time.monotonic()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")

    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = true")
        params = _Params(rows=rows, customers=customers, seed=seed, messy=messy)
        select = _select_sql(params, with_costs=with_costs, fmt=fmt)
        options = {
            "csv": "FORMAT csv, HEADER true, DELIMITER ','",
            "csv.gz": "FORMAT csv, HEADER true, DELIMITER ',', COMPRESSION gzip",
            "parquet": "FORMAT parquet, COMPRESSION zstd",
        }[fmt]
        tmp_sql = str(tmp).replace("'", "''")
        _run_with_progress(con, f"COPY ({select}) TO '{tmp_sql}' ({options})", rows, progress)
        injected = _count_injected(con, params) if messy > 0 else dict.fromkeys(MESSY_KINDS, 0)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    os.replace(tmp, out)
    if progress is not None:
        progress(rows, rows)
    return GenerateSummary(
        path=out,
        rows=rows,
        customers=customers,
        seed=seed,
        format=fmt,
        with_costs=with_costs,
        messy=messy,
        bytes=out.stat().st_size,
        seconds=round(time.monotonic() - started, 3),
        injected=injected,
    )


# --------------------------------------------------------------------------------------------------
# Parameters and lookup tables


@dataclass(frozen=True)
class _Params:
    rows: int
    customers: int
    seed: int
    messy: float

    @property
    def seed_mix(self) -> int:
        """A 62-bit constant XORed into every hash input, so each seed gives unrelated streams."""
        digest = hashlib.sha256(f"retail-lake-generate:{self.seed}".encode()).digest()
        return int.from_bytes(digest[:8], "big") & ((1 << 62) - 1)

    def tiers(self) -> tuple[int, int, int, float, float]:
        """Pool sizes (loyal, regular, occasional) and the cumulative line shares of the first two."""
        m = self.customers
        if m < 50:  # too small to split: everyone is a loyal customer
            return m, 0, 0, 1.0, 1.0
        loyal = max(1, int(m * _LOYAL_POOL))
        regular = max(1, int(m * _REGULAR_POOL))
        return loyal, regular, m - loyal - regular, _LOYAL_LINES, _LOYAL_LINES + _REGULAR_LINES


def _id_space(n: int) -> tuple[int, int]:
    """(first id, size) of the smallest >= 6-digit id range holding n ids (I100000..I999999, ...)."""
    digits = 6
    while 9 * 10 ** (digits - 1) < n:
        digits += 1
    return 10 ** (digits - 1), 9 * 10 ** (digits - 1)


def _permuted_id(x: str, size: int, stream: int, u: Callable[[str, int], str]) -> str:
    """SQL for a bijection of [0, size) so ids look random yet never collide.

    A three-round Feistel network on the mixed-radix halves (x // 900, x % 900) of x; each round adds a
    hash of the other half modulo its own radix, which is invertible, so the whole map is one-to-one.
    size = 9 * 10^k, so both halves are whole numbers.
    """
    hi_n, lo_n = size // 900, 900
    hi, lo = f"(({x}) // {lo_n})", f"(({x}) % {lo_n})"
    lo1 = f"(({lo} + floor({u(hi, stream)} * {lo_n})::BIGINT) % {lo_n})"
    hi1 = f"(({hi} + floor({u(lo1, stream + 1)} * {hi_n})::BIGINT) % {hi_n})"
    lo2 = f"(({lo1} + floor({u(hi1, stream + 2)} * {lo_n})::BIGINT) % {lo_n})"
    return f"({hi1} * {lo_n} + {lo2})"


def _cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative shares of a discrete distribution (the last one is exactly 1)."""
    total = float(sum(weights))
    cum = [w / total for w in accumulate(weights)]
    cum[-1] = 1.0
    return cum


def _choose(u: str, thresholds: Sequence[str]) -> str:
    """SQL picking index j for the first threshold above u (inverse CDF by a CASE chain)."""
    whens = " ".join(f"WHEN {u} < {t} THEN {j}" for j, t in enumerate(thresholds[:-1]))
    return f"(CASE {whens} ELSE {len(thresholds) - 1} END)"


def _num_list(values: Sequence[float]) -> str:
    return "[" + ", ".join(repr(round(v, 9)) if isinstance(v, float) else str(v) for v in values) + "]"


def _days() -> list[dt.date]:
    n = (LAST_DAY - FIRST_DAY).days + 1
    return [FIRST_DAY + dt.timedelta(days=k) for k in range(n)]


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    first_friday = nov1 + dt.timedelta(days=(4 - nov1.weekday()) % 7)
    return first_friday + dt.timedelta(weeks=3)


def _special_uplift(day: dt.date) -> float:
    """Extra sales on special days: Black Friday and the Saturday after."""
    bf = _black_friday(day.year)
    if day == bf:
        return 2.2
    if day == bf + dt.timedelta(days=1):
        return 1.5
    return 1.0


def _category_weights(female: bool, band: int, mall: str) -> list[float]:
    """Category mix of one (gender, age band, mall) segment around the overall mix."""
    mult = dict.fromkeys(CATEGORIES, 1.0)
    if female:
        mult.update({"Cosmetics": 1.2, "Technology": 0.75, "Clothing": 1.03})
    else:
        mult.update({"Cosmetics": 0.7, "Technology": 1.38, "Clothing": 0.955})
    mult["Toys"] *= (0.8, 1.2, 0.95)[band]
    mult["Technology"] *= (1.3, 1.0, 0.8)[band]
    mult["Books"] *= (1.1, 0.9, 1.05)[band]
    if mall == "Viaport Outlet":
        mult.update({"Clothing": mult["Clothing"] * 1.25, "Shoes": 1.3, "Technology": mult["Technology"] * 0.6})
    elif mall in ("Istinye Park", "Zorlu Center"):
        mult["Technology"] *= 1.5
        mult["Cosmetics"] *= 1.2
        mult["Food & Beverage"] = 0.8
    elif mall in ("Mall of Istanbul", "Forum Istanbul", "Cevahir AVM"):
        mult["Food & Beverage"] = 1.15
        mult["Toys"] *= 1.1
    elif mall == "Emaar Square Mall":
        mult["Souvenir"] = 1.8
    return [CATEGORIES[c][1] * mult[c] for c in CATEGORIES]


@dataclass(frozen=True)
class _Calendar:
    """The date draw in two small steps (DuckDB copies a list literal per vector, so lists stay small).

    Step 1: month from the months' total weights (1024 buckets). Step 2: weekday from the month's
    weekday weights, then one of that weekday's 4-5 dates in the month; a month's special day (Black
    Friday) takes its extra share first. Growth within a month is ignored.
    """

    month_of_bucket: list[int]
    weekday_cum: list[float]  # month * 7 + weekday -> cumulative share within the month
    first_day: list[int]  # month * 7 + weekday -> day index of the first such weekday
    count: list[int]  # month * 7 + weekday -> how many such weekdays the month has
    special_p: list[float]  # month -> share of the month's mass on its special day
    special_day: list[int]  # month -> day index of the special day (0 when none)

    @classmethod
    def build(cls) -> _Calendar:
        days = _days()
        months = sorted({(d.year, d.month) for d in days})
        mass = dict.fromkeys(months, 0.0)
        wd_mass = {(m, w): 0.0 for m in months for w in range(7)}
        first: dict[tuple[tuple[int, int], int], int] = {}
        count = dict.fromkeys(wd_mass, 0)
        special_p = dict.fromkeys(months, 0.0)
        special_day = dict.fromkeys(months, 0)
        for k, d in enumerate(days):
            m, w = (d.year, d.month), d.weekday()
            base = _MONTH_WEIGHT[d.month - 1] * _DOW_WEIGHT[w] * (1 + _YEARLY_GROWTH) ** (k / 365.25)
            extra = base * (_special_uplift(d) - 1.0)
            mass[m] += base + extra
            wd_mass[m, w] += base
            first.setdefault((m, w), k)
            count[m, w] += 1
            if extra > 0:
                special_p[m] += extra
                special_day[m] = k
        month_cum = _cumulative([mass[m] for m in months])
        buckets = 1024
        month_of_bucket = [min(bisect_left(month_cum, (b + 0.5) / buckets), len(months) - 1) for b in range(buckets)]
        weekday_cum: list[float] = []
        for m in months:
            weekday_cum += _cumulative([wd_mass[m, w] for w in range(7)])
        return cls(
            month_of_bucket=month_of_bucket,
            weekday_cum=weekday_cum,
            first_day=[first.get((m, w), 0) for m in months for w in range(7)],
            count=[count[m, w] for m in months for w in range(7)],
            special_p=[special_p[m] / mass[m] for m in months],
            special_day=[special_day[m] for m in months],
        )


# --------------------------------------------------------------------------------------------------
# The row query


def _select_sql(p: _Params, *, with_costs: bool, fmt: str) -> str:
    """The SELECT that produces every output row, in row-id order."""
    u = _uniform(p.seed_mix)

    loyal, regular, occasional, s_loyal, s_regular = p.tiers()
    inv_base, inv_size = _id_space(max(p.rows, 1))
    cus_base, cus_size = _id_space(p.customers)
    n_malls, n_cats = len(MALLS), len(CATEGORIES)
    cal = _Calendar.build()
    cat_cum = _num_list(
        [
            t
            for g in (0, 1)
            for band in range(3)
            for mall in MALLS
            for t in _cumulative(_category_weights(g == 0, band, mall))
        ]
    )
    segment = f"((CASE WHEN female THEN 0 ELSE 3 END + band) * {n_malls} + mall) * {n_cats}"
    cat_choice = _choose("cat_u", [f"{cat_cum}[{segment} + {j + 1}]" for j in range(n_cats)])
    pay_cum = _num_list([t for weights in _PAYMENT_BY_BAND for t in _cumulative(weights)])
    qty_cum = _num_list([t for name in CATEGORIES for t in _cumulative(_QTY_WEIGHTS.get(name, _QTY_DEFAULT))])
    rw, ow = _REGULAR_WINDOW, _OCCASIONAL_WINDOW

    cat_names = _sql_list(list(CATEGORIES))
    mall_names = _sql_list(list(MALLS))
    pay_names = _sql_list(list(PAYMENT_METHODS))
    unit_cents = "[" + ", ".join(str(round(v[0] * 100)) for v in CATEGORIES.values()) + "]"

    kind = _kind_sql(p, u)
    k = {name: i for i, name in enumerate(MESSY_KINDS)}

    gross = f"({unit_cents}[cat + 1] * qty)"
    if with_costs:
        # Discounts: more on clothing/shoes, in January/July sales and around Black Friday/December.
        disc_p = (
            "(CASE cat WHEN 0 THEN 0.30 WHEN 1 THEN 0.25 ELSE 0.12 END)"
            " * (CASE mm WHEN 11 THEN 1.8 WHEN 1 THEN 1.5 WHEN 7 THEN 1.4 WHEN 12 THEN 1.3 ELSE 1.0 END)"
        )
        pct = f"([0.05, 0.10, 0.10, 0.15, 0.20, 0.20, 0.25, 0.30][floor({u('src', 31)} * 8)::INTEGER + 1])"
        disc_cents = f"(CASE WHEN {u('src', 30)} < {disc_p} THEN round({gross} * {pct})::BIGINT ELSE 0 END)"
        cost_cents = "[" + ", ".join(str(round(v[0] * v[2] * 100)) for v in CATEGORIES.values()) + "]"
        money_extra = f", {disc_cents} AS disc_cents, {cost_cents}[cat + 1] AS cost_cents"
    else:
        money_extra = ", 0 AS disc_cents, 0 AS cost_cents"

    def money(cents: str) -> str:
        if fmt == "parquet":
            return f"({cents} / 100.0)::DOUBLE"
        return f"({cents} / 100.0)::DECIMAL(18, 2)"

    price_num = money("(gross_cents - disc_cents)")
    if p.messy > 0:
        price_txt = f"{price_num}::VARCHAR"
        price = (
            f"CASE WHEN kind = {k['bad_price']} THEN "
            f"['N/A', '#VALUE!', 'TL' || {price_txt}, {price_txt} || ' TL', '?'][floor({u('i', 92)} * 5)::INTEGER + 1]"
            f" ELSE {price_txt} END"
        )
    else:
        price = price_num

    base_cat = f"{cat_names}[cat + 1]"
    base_pay = f"{pay_names}[pay + 1]"
    category = base_cat
    payment = base_pay
    invoice_date = "(dd::VARCHAR || '/' || mm::VARCHAR || '/' || yy::VARCHAR)"
    quantity = "qty"
    customer_id = f"'C' || ({cus_base} + {_permuted_id('c', cus_size, 200, u)})::VARCHAR"
    if p.messy > 0:
        v = u("i", 93)
        category = (
            f"CASE WHEN kind = {k['unknown_category']} THEN "
            f"['Electronics', 'Jewellery', 'Sports', 'Home & Garden', 'Furniture'][floor({v} * 5)::INTEGER + 1]"
            f" WHEN kind = {k['untidy_names']} AND {v} < 0.5 THEN "
            f"(CASE WHEN {v} < 0.25 THEN lower({base_cat}) ELSE ' ' || {base_cat} || '  ' END)"
            f" ELSE {base_cat} END"
        )
        payment = (
            f"CASE WHEN kind = {k['untidy_names']} AND {v} >= 0.5 THEN "
            f"(CASE WHEN {v} < 0.7 THEN lower({base_pay}) WHEN {v} < 0.85 THEN upper({base_pay})"
            f" ELSE '  ' || {base_pay} || ' ' END)"
            f" ELSE {base_pay} END"
        )
        invoice_date = (
            f"CASE WHEN kind = {k['bad_date']} THEN "
            f"['31/2/' || yy, '30/2/' || yy, '29/2/2022', '31/4/' || yy, '31/6/' || yy, '31/11/' || yy,"
            f" '32/' || mm || '/' || yy, '0/' || mm || '/' || yy, dd || '/13/' || yy]"
            f"[floor({v} * 9)::INTEGER + 1] ELSE {invoice_date} END"
        )
        quantity = (
            f"CASE WHEN kind = {k['zero_quantity']} THEN 0"
            f" WHEN kind = {k['negative_quantity']} THEN -1 - floor({v} * 3)::INTEGER ELSE qty END"
        )
        customer_id = f"CASE WHEN kind = {k['missing_customer_id']} THEN NULL ELSE {customer_id} END"

    invoice_perm = _permuted_id("src", inv_size, 210, u)
    cost_cols = ""
    if with_costs:
        cost_cols = f", {money('disc_cents')} AS discount, {money('cost_cents')} AS unit_cost"

    return f"""
WITH s AS (
    SELECT i, kind, CASE WHEN kind = {k["duplicate_row"]} THEN i - 1 ELSE i END AS src
    FROM (SELECT i, {kind} AS kind FROM range({p.rows}) t(i))
), a AS (
    SELECT i, kind, src,
           {u("src", 1)} AS ut, {u("src", 2)} AS tier_u, {u("src", 3)} AS y
    FROM s
), b AS (
    SELECT *,
        CASE
            WHEN tier_u < {s_loyal!r} THEN floor({loyal} * (0.7 * y * y + 0.3 * y))::BIGINT
            WHEN tier_u < {s_regular!r} THEN {loyal} + least({regular} - 1,
                floor((ut - {rw!r} * pow(y, 1.6) + {rw!r}) * {regular} / {1 + rw!r}))::BIGINT
            ELSE {loyal + regular} + least({max(occasional, 1)} - 1,
                floor((ut - {ow!r} * y + {ow!r}) * {occasional} / {1 + ow!r}))::BIGINT
        END AS c,
        {_num_list(cal.month_of_bucket)}[floor(ut * {len(cal.month_of_bucket)})::INTEGER + 1] AS mon,
        {u("src", 4)} AS wd_u, {u("src", 5)} AS occ_u,
        {u("src", 10)} AS fav_u, {u("src", 11)} AS mall_u, {u("src", 12)} AS pref_u, {u("src", 13)} AS pay_u,
        {u("src", 14)} AS cat_u, {u("src", 15)} AS qty_u
    FROM a
), c1 AS (
    SELECT *,
        {u("c", 101)} < {FEMALE_SHARE!r} AS female,
        {AGE_MIN} + floor({AGE_MAX - AGE_MIN + 1}
            * (0.7 * {u("c", 102)} + 0.15 * {u("c", 103)} + 0.15 * {u("c", 104)}))::INTEGER AS age,
        CASE WHEN fav_u < {_FAVOURITE_MALL_SHARE!r} THEN {u("c", 105)} ELSE mall_u END AS mall_v,
        CASE WHEN pref_u < {_PREFERRED_PAYMENT_SHARE!r} THEN {u("c", 106)} ELSE pay_u END AS pay_v,
        {_choose("wd_u", [f"{_num_list(cal.weekday_cum)}[mon * 7 + {w + 1}]" for w in range(7)])} AS wd
    FROM b
), c2 AS (
    SELECT *,
        CASE WHEN age < 30 THEN 0 WHEN age < 50 THEN 1 ELSE 2 END AS band,
        {_choose("mall_v", [repr(t) for t in _cumulative(list(MALLS.values()))])} AS mall,
        CASE WHEN occ_u < {_num_list(cal.special_p)}[mon + 1] THEN {_num_list(cal.special_day)}[mon + 1]
             ELSE {_num_list(cal.first_day)}[mon * 7 + wd + 1]
                  + 7 * floor((occ_u - {_num_list(cal.special_p)}[mon + 1])
                              / (1 - {_num_list(cal.special_p)}[mon + 1])
                              * {_num_list(cal.count)}[mon * 7 + wd + 1])::INTEGER
        END AS d
    FROM c1
), c3 AS (
    SELECT *,
        {cat_choice} AS cat,
        {_choose("pay_v", [f"{pay_cum}[band * 3 + {j + 1}]" for j in range(3)])} AS pay,
        DATE '{FIRST_DAY.isoformat()}' + d AS day
    FROM c2
), c4 AS (
    SELECT *,
        {_choose("qty_u", [f"{qty_cum}[cat * 5 + {j + 1}]" for j in range(5)])} + 1 AS qty,
        day(day) AS dd, month(day) AS mm, year(day) AS yy
    FROM c3
), m AS (
    SELECT *, {gross} AS gross_cents{money_extra} FROM c4
)
SELECT
    'I' || ({inv_base} + {invoice_perm})::VARCHAR AS invoice_no,
    {customer_id} AS customer_id,
    CASE WHEN female THEN 'Female' ELSE 'Male' END AS gender,
    age,
    {category} AS category,
    {quantity} AS quantity,
    {price} AS price,
    {payment} AS payment_method,
    {invoice_date} AS invoice_date,
    {mall_names}[mall + 1] AS shopping_mall{cost_cols}
FROM m

"""


def _uniform(mix: int) -> Callable[[str, int], str]:
    """SQL for a uniform [0, 1) per (id, stream): DuckDB's 64-bit hash of id*4096+stream xor the seed.

    (DuckDB's multi-argument hash(a, b) is not used: its results for neighbouring streams correlate.)
    """

    def u(x: str, stream: int) -> str:
        return f"((hash(xor(({x}) * 4096 + {stream}, {mix}::BIGINT)) >> 11)::DOUBLE / 9007199254740992.0)"

    return u


def _kind_sql(p: _Params, u: Callable[[str, int], str]) -> str:
    """SQL for the injected kind of row i (index into MESSY_KINDS, -1 = clean)."""
    if p.messy <= 0:
        return "-1"

    def raw(x: str) -> str:
        n = len(MESSY_KINDS)
        return f"(CASE WHEN {u(x, 90)} < {p.messy!r} THEN floor({u(x, 91)} * {n})::INTEGER ELSE -1 END)"

    dup = MESSY_KINDS.index("duplicate_row")
    # A duplicate copies the previous row, and only a clean one, so its fate is predictable.
    return f"CASE WHEN {raw('i')} = {dup} AND (i = 0 OR {raw('i - 1')} <> -1) THEN -1 ELSE {raw('i')} END"


def _sql_list(values: Sequence[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _count_injected(con: duckdb.DuckDBPyConnection, p: _Params) -> dict[str, int]:
    """Exact count of each injected kind, from the same per-row expression the COPY used."""
    kind = _kind_sql(p, _uniform(p.seed_mix))
    sql = f"SELECT kind, count(*) FROM (SELECT {kind} AS kind FROM range({p.rows}) t(i)) GROUP BY kind"
    counts = dict(con.execute(sql).fetchall())
    return {name: int(counts.get(i, 0)) for i, name in enumerate(MESSY_KINDS)}


def _run_with_progress(con: duckdb.DuckDBPyConnection, sql: str, total: int, progress: ProgressCallback | None) -> None:
    """Run one statement; meanwhile report DuckDB's own progress estimate as rows done."""
    if progress is None:
        con.execute(sql)
        return
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.5):
            pct = con.query_progress()
            if pct is not None and pct >= 0:
                progress(min(total, int(total * pct / 100)), total)

    poller = threading.Thread(target=poll, name="generate-progress", daemon=True)
    poller.start()
    try:
        con.execute(sql)
    finally:
        done.set()
        poller.join()
