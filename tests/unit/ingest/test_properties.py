"""Property tests: fuzzed files, and every lake_schemas rule checked on every accepted row.

The checker reads lake_schemas/sales.yaml itself (nullability, types, every comparison check), so a
rule added there is checked here without touching this file.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail_lake.config import Settings
from retail_lake.ingest import ingest_file
from retail_lake.ingest._pipeline import date_range_of
from retail_lake.ingest._validate import _bound, _times
from retail_lake.schemas import table

from .conftest import HEADER, query

INT_MAX = 2**31 - 1

_ints = st.integers(-5, 12).map(str)
_money = st.one_of(
    st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False).map(str),
    st.sampled_from(["1e15", "1e308", "inf", "-inf", "NaN", "-1.5", "1,234.50", "12,5", "1.500", "", "abc",
                     "1000000000", "1000000000.01", "TL 12.5", "0", "-0", "1e400", "2,000,000.00"]),
)
_quantity = st.one_of(_ints, st.sampled_from(["2.5", "99999999999", "1e20", "2147483647", "", "x", "3.0"]))
_day = st.one_of(
    st.dates(date(1990, 1, 1), date(2030, 12, 31)).flatmap(lambda d: st.sampled_from([
        f"{d.day}/{d.month}/{d.year}", f"{d.month}/{d.day}/{d.year}", d.isoformat(),
        f"{d.day}/{d.month}/{d.year % 100:02d}", f"{d.day}.{d.month}.{d.year} 10:30"])),
    st.sampled_from(["31/02/2022", "", "yesterday", "0/0/0", "99/99/9999", "2022-13-01"]),
)
_text = st.one_of(st.sampled_from(["Clothing", "shoes", " Books ", "=HYPERLINK(1)", "+x", "@a", "Kanyon",
                                   "Çevahir", "", "NULL", "Garden"]),
                  st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=12))
_row = st.tuples(
    st.one_of(st.integers(1, 40).map(lambda n: f"I{n}"), st.sampled_from(["", "=1+1", "NULL"])),
    st.one_of(st.integers(1, 9).map(lambda n: f"C{n}"), st.sampled_from(["", "17850.0"])),
    st.sampled_from(["Female", "m", "x", ""]),
    st.one_of(st.integers(-5, 150).map(str), st.sampled_from(["", "abc", "1e10", "28.5"])),
    _text, _quantity, _money, st.sampled_from(["Cash", "credit card", "Crypto", ""]), _day, _text,
)


def _csv(rows: list[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    out.write(HEADER + "\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def rule_violations(row: dict, first: date, last: date) -> list[str]:
    """Every lake_schemas rule an accepted sales row breaks (empty when it keeps them all)."""
    spec = table("sales")
    broken = []
    for col in spec.columns:
        value = row[col.name]
        if value is None:
            if not col.nullable:
                broken.append(f"{col.name} is NULL")
            continue
        if col.type == "int" and not -INT_MAX - 1 <= value <= INT_MAX:
            broken.append(f"{col.name} {value} does not fit int")
        if col.type == "double" and not math.isfinite(value):
            broken.append(f"{col.name} {value} is not finite")
        for check in col.checks:
            bound, times = _bound(check.when), _times(check.when)
            if bound:
                op, limit = bound
                hit = {"<": value < limit, "<=": value <= limit, ">": value > limit, ">=": value >= limit}[op]
            elif times:
                op, limit = _bound(times[1])
                product = value * row[times[0]]
                hit = {"<": product < limit, "<=": product <= limit, ">": product > limit,
                       ">=": product >= limit}[op]
            elif check.when == "outside_date_range":
                hit = not first <= value <= last
            else:
                continue  # text checks (empty, not_number, ...) are about the raw text, not the stored value
            if hit:
                broken.append(f"{col.name} {value!r} breaks {check.rule} ({check.when})")
    return broken


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=30))
def test_every_accepted_row_keeps_every_lake_schemas_rule(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "fuzz.csv"
    path.write_bytes(_csv(rows))
    lake = tmp / "lake"
    result = ingest_file(path, str(lake))
    assert result.status == "succeeded", result.message
    assert result.rows_in == len(rows) == result.rows_accepted + result.rows_quarantined
    con_rows = query(lake, "SELECT * FROM sales_versions")
    names = [c.name for c in table("sales").columns]
    window = date_range_of(Settings())
    for values in con_rows:
        row = dict(zip(names, values, strict=False))
        assert rule_violations(row, window.first, window.last) == [], row
    quarantined = query(lake, "SELECT count(*), count(*) FILTER (WHERE rule IS NULL OR reason IS NULL) "
                              "FROM quarantine_sales")
    assert quarantined == [(result.rows_quarantined, 0)]


def test_checker_catches_a_broken_row():
    """The checker itself can fail: a row that breaks rules is reported."""
    window = date_range_of(Settings())
    row = {c.name: None for c in table("sales").columns} | {
        "invoice_no": "I1", "customer_id": "C1", "category": "Books", "quantity": 0, "price": 2e9,
        "invoice_date": date(1999, 1, 1), "shopping_mall": "Kanyon", "source": "s", "upload_id": "u",
        "uploaded_at": date(2024, 1, 1), "row_number": 1, "unit_cost": 1e9}
    broken = rule_violations(row, window.first, window.last)
    assert any("non_positive_quantity" in b for b in broken)
    assert any("price_out_of_range" in b for b in broken)
    assert any("date_out_of_range" in b for b in broken)
    assert any("line_cost_out_of_range" in b for b in rule_violations({**row, "quantity": 2}, window.first,
                                                                        window.last))
    assert rule_violations({**row, "quantity": 1, "price": 1.0, "invoice_date": date(2022, 1, 1),
                            "unit_cost": 1.0}, window.first, window.last) == []
