"""The generator writes the reference schema, deterministically, with the behaviour analytics need."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
from pathlib import Path

import duckdb
import pytest

from retail_lake.generate import (
    CATEGORIES,
    HEADER,
    MALLS,
    MESSY_KINDS,
    PAYMENT_METHODS,
    UNIT_PRICES,
    generate,
    output_format,
)

ROWS = 20_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "sales.csv"
    generate(out, ROWS, 6_000, seed=7)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_header_and_value_formats(sample: Path) -> None:
    lines = sample.read_text().splitlines()
    assert lines[0] == ",".join(HEADER)
    assert len(lines) == ROWS + 1
    assert '"' not in sample.read_text()  # nothing needed quoting
    rows = _rows(sample)
    assert len({r["invoice_no"] for r in rows}) == ROWS
    for r in rows[:500]:
        assert r["invoice_no"][0] == "I" and len(r["invoice_no"]) == 7 and r["invoice_no"][1:].isdigit()
        assert r["customer_id"][0] == "C" and len(r["customer_id"]) == 7 and r["customer_id"][1:].isdigit()
        d, m, y = r["invoice_date"].split("/")
        assert not d.startswith("0") and not m.startswith("0") and len(y) == 4
        assert len(r["price"].split(".")[1]) <= 2
        assert 18 <= int(r["age"]) <= 69
        assert r["gender"] in ("Female", "Male")
    con = duckdb.connect()
    lo, hi = con.execute(
        "SELECT min(strptime(invoice_date, '%d/%m/%Y')), max(strptime(invoice_date, '%d/%m/%Y'))"
        " FROM read_csv(?, all_varchar = true)",
        [str(sample)],
    ).fetchone()
    assert str(lo.date()) >= "2021-01-01" and str(hi.date()) <= "2023-03-08"


def test_price_is_unit_price_times_quantity(sample: Path) -> None:
    prices: dict[str, set[str]] = {}
    for r in _rows(sample):
        q = int(r["quantity"])
        assert 1 <= q <= 5
        assert float(r["price"]) == pytest.approx(round(UNIT_PRICES[r["category"]] * q, 2))
        prices.setdefault(r["category"], set()).add(r["price"])
    assert {c: len(v) for c, v in prices.items()} == dict.fromkeys(CATEGORIES, 5)


def test_every_dimension_present_with_a_realistic_mix(sample: Path) -> None:
    rows = _rows(sample)
    share = lambda col, v: sum(r[col] == v for r in rows) / len(rows)  # noqa: E731
    assert {r["shopping_mall"] for r in rows} == set(MALLS)
    assert {r["category"] for r in rows} == set(CATEGORIES)
    assert {r["payment_method"] for r in rows} == set(PAYMENT_METHODS)
    assert 0.30 < share("category", "Clothing") < 0.40
    assert 0.40 < share("payment_method", "Cash") < 0.50
    assert 0.55 < share("gender", "Female") < 0.65
    assert share("shopping_mall", "Mall of Istanbul") > 3 * share("shopping_mall", "Forum Istanbul")
    assert share("shopping_mall", "Kanyon") > 3 * share("shopping_mall", "Viaport Outlet")


def test_repeat_and_one_time_customers_with_stable_attributes(sample: Path) -> None:
    con = duckdb.connect()
    one, repeat, frequent, unstable = con.execute(
        """
        WITH c AS (
            SELECT customer_id, count(*) AS n, count(DISTINCT gender) AS g, count(DISTINCT age) AS a
            FROM read_csv(?, all_varchar = true) GROUP BY 1
        )
        SELECT count(*) FILTER (n = 1), count(*) FILTER (n > 1), count(*) FILTER (n >= 10),
               count(*) FILTER (g > 1 OR a > 1)
        FROM c
        """,
        [str(sample)],
    ).fetchone()
    assert one > 1000 and repeat > 1000 and frequent > 20
    assert unstable == 0


def test_seasonality_and_growth(sample: Path) -> None:
    con = duckdb.connect()
    holiday, summer, y2021, y2022, weekend, weekday = con.execute(
        """
        WITH d AS (SELECT strptime(invoice_date, '%d/%m/%Y') AS d FROM read_csv(?, all_varchar = true))
        SELECT count(*) FILTER (month(d) IN (11, 12)) / 2, count(*) FILTER (month(d) IN (6, 7, 8)) / 3,
               count(*) FILTER (year(d) = 2021), count(*) FILTER (year(d) = 2022),
               count(*) FILTER (dayofweek(d) IN (0, 6)) / 2, count(*) FILTER (dayofweek(d) IN (1, 2, 3)) / 3
        FROM d
        """,
        [str(sample)],
    ).fetchone()
    assert holiday > 1.3 * summer
    assert y2022 > 1.05 * y2021
    assert weekend > 1.2 * weekday


def test_deterministic_across_runs_and_threads(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate(a, 5_000, 1_000, seed=3, threads=1)
    generate(b, 5_000, 1_000, seed=3, threads=2)
    generate(c, 5_000, 1_000, seed=4, threads=2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_gzip_and_parquet_outputs(tmp_path: Path) -> None:
    gz, pq = tmp_path / "s.csv.gz", tmp_path / "s.parquet"
    plain = tmp_path / "s.csv"
    generate(plain, 2_000, 500, seed=1)
    summary = generate(gz, 2_000, 500, seed=1)
    assert summary.format == "csv.gz" and summary.rows == 2_000
    assert gzip.decompress(gz.read_bytes()) == plain.read_bytes()
    generate(pq, 2_000, 500, seed=1, with_costs=True)
    con = duckdb.connect()
    cols = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(pq)]).fetchall()]
    assert cols == [*HEADER, "discount", "unit_cost"]
    n, bad = con.execute(
        "SELECT count(*), count(*) FILTER (abs(price + discount - round(quantity * CASE category"
        + "".join(f" WHEN '{c}' THEN {p}" for c, p in UNIT_PRICES.items())
        + " END, 2)) > 0.005 OR unit_cost <= 0) FROM read_parquet(?)",
        [str(pq)],
    ).fetchone()
    assert n == 2_000 and bad == 0
    with pytest.raises(ValueError):
        output_format(tmp_path / "s.json")


def test_messy_rows_are_counted_exactly(tmp_path: Path) -> None:
    out = tmp_path / "messy.csv"
    summary = generate(out, 10_000, 2_000, seed=5, messy=0.08)
    inj = summary.injected
    assert set(inj) == set(MESSY_KINDS) and all(n > 30 for n in inj.values())
    assert summary.expected_quarantined + summary.expected_accepted == 10_000
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 10_000
    seen = {
        "missing_customer_id": sum(r["customer_id"] == "" for r in rows),
        "zero_quantity": sum(r["quantity"] == "0" for r in rows),
        "negative_quantity": sum(r["quantity"].startswith("-") for r in rows),
        "unknown_category": sum(r["category"].strip().title() not in {c.title() for c in CATEGORIES} for r in rows),
        "bad_price": sum(not r["price"].replace(".", "", 1).isdigit() for r in rows),
        "duplicate_row": sum(a == b for a, b in itertools.pairwise(rows)),
        "untidy_names": sum(
            (r["category"] not in CATEGORIES and r["category"].strip().title() in {c.title() for c in CATEGORIES})
            or r["payment_method"] not in PAYMENT_METHODS
            for r in rows
        ),
    }
    assert seen == {k: inj[k] for k in seen}
    con = duckdb.connect()
    bad_dates = con.execute(
        "SELECT count(*) FILTER (try_strptime(invoice_date, '%d/%m/%Y') IS NULL) FROM read_csv(?, all_varchar=true)",
        [str(out)],
    ).fetchone()[0]
    assert bad_dates == inj["bad_date"]


def test_progress_is_reported(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate(tmp_path / "p.csv", 1_000, 100, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (1_000, 1_000)


def test_tiny_pools_and_empty_files(tmp_path: Path) -> None:
    s = generate(tmp_path / "one.csv", 50, 1, seed=1)
    assert {r["customer_id"] for r in _rows(s.path)} and len({r["customer_id"] for r in _rows(s.path)}) == 1
    e = generate(tmp_path / "empty.csv", 0, 10, seed=1)
    assert e.path.read_text().splitlines() == [",".join(HEADER)]
