"""Issue 10, item 1: values are right or refused.

Integers past their type, money past its documented bounds, numbers in one format per file, dates
in one order per file (contradictions quarantined), two-digit and implausible years, legacy
encodings. Each case is a small file whose right answer is written out by hand.
"""

from __future__ import annotations

from datetime import date

import pytest

from retail_lake.config import Settings
from retail_lake.ingest import ingest_file

from .conftest import GOOD, HEADER, query

ROW = "I{n},C1,Female,28,Clothing,{qty},{price},Cash,{day},Kanyon"


def ingest_lines(write_file, lake, lines, header=HEADER, **kwargs):
    path = write_file("upload.csv", lines, header=header)
    return ingest_file(path, str(lake), **kwargs)


def rules(lake) -> list[tuple]:
    return query(lake, "SELECT row_number, rule FROM quarantine_sales ORDER BY row_number")


# --- integers and money ----------------------------------------------------------------------------

@pytest.mark.parametrize("quantity", ["99999999999", "2147483648", "1e20", "99999999999999999999999999"])
def test_quantity_past_its_type_is_quarantined_not_stored_as_null(write_file, lake, quantity):
    result = ingest_lines(write_file, lake, [GOOD[0], ROW.format(n=2, qty=quantity, price="10", day="5/8/2022")])
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    assert rules(lake) == [(2, "quantity_out_of_range")]
    assert query(lake, "SELECT count(*) FROM sales WHERE quantity IS NULL") == [(0,)]


def test_largest_int_quantity_is_kept(write_file, lake):
    result = ingest_lines(write_file, lake, [ROW.format(n=1, qty="2147483647", price="10", day="5/8/2022")])
    assert result.rows_accepted == 1
    assert query(lake, "SELECT quantity FROM sales") == [(2147483647,)]


@pytest.mark.parametrize(
    ("price", "rule"),
    [
        ("1e15", "price_out_of_range"),
        ("1e308", "price_out_of_range"),
        ("1000000000.01", "price_out_of_range"),
        ("1e400", "bad_price"),  # overflows a double: not a finite number
        ("inf", "bad_price"),
        ("-inf", "bad_price"),
        ("Infinity", "bad_price"),
        ("NaN", "missing_price"),  # 'NaN' is one of the null tokens, like 'n/a'
        ("nan(0x1)", "bad_price"),
    ],
)
def test_money_beyond_its_bounds_is_quarantined_with_a_reason(write_file, lake, price, rule):
    result = ingest_lines(write_file, lake, [GOOD[0], ROW.format(n=2, qty=1, price=price, day="5/8/2022")])
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    [(got_rule, reason)] = query(lake, "SELECT rule, reason FROM quarantine_sales")
    assert got_rule == rule
    assert reason.startswith(f"{result.source} row 2: {rule}: ")


def test_money_bound_itself_is_accepted(write_file, lake):
    header = HEADER + ",discount,unit_cost"
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=1, price="1000000000", day="5/8/2022") + ",1000000000,1000000000",
        ROW.format(n=2, qty=1, price="10", day="5/8/2022") + ",1e10,1",
        ROW.format(n=3, qty=1, price="10", day="5/8/2022") + ",1,1e10",
    ], header=header)
    assert result.rows_accepted == 1
    assert query(lake, "SELECT price, discount, unit_cost FROM sales") == [(1e9, 1e9, 1e9)]
    assert [r for _, r in rules(lake)] == ["discount_out_of_range", "unit_cost_out_of_range"]


def test_unit_price_file_bounds_the_computed_line_total(write_file, lake):
    header = "invoice_no,customer_id,quantity,unit_price,invoice_date"
    result = ingest_lines(write_file, lake, ["I1,C1,3,400000000,5/8/2022", "I2,C1,3,4,5/8/2022"], header=header)
    assert result.rows_accepted == 1
    assert rules(lake) == [(1, "price_out_of_range")]


def test_unit_price_and_line_cost_have_bounds_of_their_own(write_file, lake):
    header = HEADER + ",unit_price,unit_cost"
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=2, price="10", day="5/8/2022") + ",2e9,1",
        ROW.format(n=2, qty=2000, price="10", day="5/8/2022") + ",1,600000",  # cost of the line 1.2e9
        ROW.format(n=3, qty=2000, price="10", day="5/8/2022") + ",1,500000",
    ], header=header)
    assert result.rows_accepted == 1
    assert rules(lake) == [(1, "unit_price_out_of_range"), (2, "line_cost_out_of_range")]


def test_extreme_accepted_values_do_not_break_analytics(write_file, lake, tmp_path):
    """Every analytics table computes over the largest values the bounds let in."""
    from retail_lake.analytics import run_analytics

    header = HEADER + ",discount,unit_cost"
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty="2147483647", price="1000000000", day="5/8/2022") + ",1000000000,0.4656",
        ROW.format(n=2, qty="1", price="0", day="6/8/2022") + ",0,0",
        ROW.format(n=3, qty="1", price="1000000000", day="7/8/2022") + ",1000000000,1000000000",
    ], header=header)
    assert result.rows_accepted == 3
    runs = run_analytics(str(lake), settings=Settings(tmp_dir=tmp_path / "tmp"))
    assert [r for r in runs if not r.ok] == []
    assert query(lake, "SELECT sum(revenue) FROM store_performance") == [(2e9,)]


# --- number format, decided per file ---------------------------------------------------------------

def test_decimal_comma_file_reads_thousands_dots(write_file, lake):
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=1, price='"1.234,50"', day="5/8/2022"),
        ROW.format(n=2, qty=1, price='"12,5"', day="5/8/2022"),
        ROW.format(n=3, qty=1, price="1.500", day="5/8/2022"),
        ROW.format(n=4, qty=1, price="7", day="5/8/2022"),
        ROW.format(n=5, qty=1, price='"1 234,5 TL"', day="5/8/2022"),
    ])
    assert result.rows_accepted == 5
    assert "numbers: decimal comma, '.' thousands" in result.notes
    assert query(lake, "SELECT invoice_no, price FROM sales ORDER BY row_number") == [
        ("I1", 1234.5), ("I2", 12.5), ("I3", 1500.0), ("I4", 7.0), ("I5", 1234.5)]


def test_decimal_point_file_reads_thousands_commas(write_file, lake):
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=1, price='"1,234.50"', day="5/8/2022"),
        ROW.format(n=2, qty=1, price="12.25", day="5/8/2022"),
        ROW.format(n=3, qty=1, price="1.500", day="5/8/2022"),
        ROW.format(n=4, qty=1, price='"1,500"', day="5/8/2022"),
    ])
    assert result.rows_accepted == 4
    assert "numbers: decimal point, ',' thousands" in result.notes
    assert query(lake, "SELECT invoice_no, price FROM sales ORDER BY row_number") == [
        ("I1", 1234.5), ("I2", 12.25), ("I3", 1.5), ("I4", 1500.0)]


def test_value_in_the_other_format_is_quarantined_never_1000x_off(write_file, lake):
    """A decimal-comma file (two values only readable that way) with one '12.50': refused, not 1250."""
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=1, price='"1.234,50"', day="5/8/2022"),
        ROW.format(n=2, qty=1, price='"2,5"', day="5/8/2022"),
        ROW.format(n=3, qty=1, price="12.50", day="5/8/2022"),
        ROW.format(n=4, qty=1, price='"1,234.50"', day="5/8/2022"),
        ROW.format(n=5, qty=1, price='"0,75"', day="5/8/2022"),
    ])
    assert result.rows_accepted == 3
    assert rules(lake) == [(3, "bad_price"), (4, "bad_price")]
    [reason] = query(lake, "SELECT reason FROM quarantine_sales WHERE row_number = 3")[0]
    assert reason.endswith("price '12.50' is not a number (this file: decimal comma)")
    assert query(lake, "SELECT price FROM sales ORDER BY row_number") == [(1234.5,), (2.5,), (0.75,)]


def test_number_format_is_decided_over_every_number_column(write_file, lake):
    """Only unit_cost shows the format; price's 1.500 then reads as 1500."""
    header = HEADER + ",unit_cost"
    result = ingest_lines(write_file, lake, [
        ROW.format(n=1, qty=1, price="1.500", day="5/8/2022") + ',"10,25"',
        ROW.format(n=2, qty=2, price="3.000", day="5/8/2022") + ',"0,5"',
    ], header=header)
    assert result.rows_accepted == 2
    assert query(lake, "SELECT price, unit_cost FROM sales ORDER BY row_number") == [(1500.0, 10.25), (3000.0, 0.5)]


# --- dates, decided per file ------------------------------------------------------------------------

def test_date_order_is_printed_for_every_file(write_file, lake):
    result = ingest_lines(write_file, lake, GOOD)
    assert "dates read as day/month/year" in result.notes


def test_contradictory_dates_quarantine_the_ambiguous_ones(write_file, lake):
    """Some dates only read day/month (25/12), others only month/day (12/25): the ones that read both
    ways (5/8) are not guessed; 7/7 reads the same both ways; ISO is never ambiguous."""
    days = ["25/12/2022", "12/25/2022", "26/11/2022", "11/26/2022", "5/8/2022", "7/7/2022", "2022-08-05"]
    result = ingest_lines(write_file, lake, [ROW.format(n=i, qty=1, price=10, day=d) for i, d in enumerate(days)])
    assert rules(lake) == [(5, "ambiguous_date")]
    assert any(n.startswith("dates contradict each other (2 rows only day/month, 2 only month/day)")
               for n in result.notes)
    assert query(lake, "SELECT invoice_date FROM sales ORDER BY row_number") == [
        (date(2022, 12, 25),), (date(2022, 12, 25),), (date(2022, 11, 26),), (date(2022, 11, 26),),
        (date(2022, 7, 7),), (date(2022, 8, 5),)]
    assert query(lake, "SELECT date_order FROM ingest_log") == [("ambiguous",)]


def test_a_few_typos_do_not_make_a_file_contradictory(write_file, lake):
    """One '5/13/2022' among many day-first dates is a bad date, not a reason to doubt the others."""
    lines = [ROW.format(n=i, qty=1, price=10, day=f"{13 + i % 15}/{1 + i % 12}/2022") for i in range(40)]
    lines += [ROW.format(n=99, qty=1, price=10, day="5/13/2022"), ROW.format(n=100, qty=1, price=10, day="5/8/2022")]
    result = ingest_lines(write_file, lake, lines)
    assert rules(lake) == [(41, "bad_date")]
    assert "dates read as day/month/year" in result.notes
    assert query(lake, "SELECT invoice_date FROM sales WHERE invoice_no = 'I100'") == [(date(2022, 8, 5),)]


def test_month_first_file(write_file, lake):
    result = ingest_lines(write_file, lake, [ROW.format(n=1, qty=1, price=10, day="12/25/2022"),
                                             ROW.format(n=2, qty=1, price=10, day="5/8/2022")])
    assert result.rows_accepted == 2
    assert "dates read as month/day/year" in result.notes
    assert query(lake, "SELECT invoice_date FROM sales ORDER BY row_number") == [(date(2022, 12, 25),),
                                                                              (date(2022, 5, 8),)]


def test_two_digit_years_are_quarantined(write_file, lake):
    result = ingest_lines(write_file, lake, [GOOD[0], ROW.format(n=2, qty=1, price=10, day="5/8/22")])
    assert result.rows_quarantined == 1
    [(rule, reason)] = query(lake, "SELECT rule, reason FROM quarantine_sales")
    assert rule == "two_digit_year" and reason.endswith("invoice_date '5/8/22' has a two-digit year (write the "
                                                        "year in full)")


def test_dates_outside_the_plausible_range_are_quarantined(write_file, lake):
    today = date.today()
    lines = [GOOD[0], ROW.format(n=2, qty=1, price=10, day="31/12/1999"),
             ROW.format(n=3, qty=1, price=10, day=f"1/1/{today.year + 2}"),
             ROW.format(n=4, qty=1, price=10, day="1/1/2000"), ROW.format(n=5, qty=1, price=10, day="1/1/0001")]
    result = ingest_lines(write_file, lake, lines)
    assert result.rows_accepted == 2
    assert rules(lake) == [(2, "date_out_of_range"), (3, "date_out_of_range"), (5, "date_out_of_range")]
    [reason] = query(lake, "SELECT reason FROM quarantine_sales WHERE row_number = 2")[0]
    assert "is outside the plausible range 2000-01-01 .. " in reason


def test_plausible_range_is_configurable(write_file, lake):
    settings = Settings(ingest_min_date="2022-01-01", ingest_max_date="2022-12-31")
    result = ingest_lines(write_file, lake, GOOD, settings=settings)  # 2022-08-05, 2021-12-12, 2021-11-09
    assert result.rows_accepted == 1
    assert rules(lake) == [(2, "date_out_of_range"), (3, "date_out_of_range")]


# --- encodings ---------------------------------------------------------------------------------------

def _legacy_file(tmp_path, encoding: str, malls: list[str]):
    lines = [HEADER] + [ROW.format(n=i, qty=1, price=10, day="5/8/2022").replace("Kanyon", m)
                        for i, m in enumerate(malls)]
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "malls"),
    [
        ("cp1254", ["Çevahir", "Şişli Ağaoğlu", "İstiklal Pasajı"]),
        ("cp1252", ["Çevahir", "Café Crème", "Müller €uro"]),
        ("latin-1", ["Çevahir", "Façade", "Noël"]),
    ],
)
def test_legacy_encodings_are_detected_and_read_right(tmp_path, lake, encoding, malls):
    result = ingest_file(_legacy_file(tmp_path, encoding, malls), str(lake))
    assert (result.rows_accepted, result.rows_quarantined) == (3, 0)
    expected = "cp1252" if encoding == "latin-1" else encoding  # latin-1 text is cp1252 text
    assert f"encoding {expected} (detected)" in result.notes
    assert query(lake, "SELECT shopping_mall FROM sales ORDER BY row_number") == [(m,) for m in malls]
    assert query(lake, "SELECT encoding FROM ingest_log") == [(expected,)]


def test_encoding_can_be_given(tmp_path, lake):
    """Without Turkish-only letters cp1254 and cp1252 read the same bytes; --encoding decides."""
    path = _legacy_file(tmp_path, "cp1254", ["Çevahir", "Göztepe"])
    result = ingest_file(path, str(lake), encoding="cp1254")
    assert "encoding cp1254 (given)" in result.notes
    assert query(lake, "SELECT shopping_mall FROM sales ORDER BY row_number") == [("Çevahir",), ("Göztepe",)]


def test_bytes_not_in_the_given_encoding_quarantine_that_line_escaped(tmp_path, lake):
    path = tmp_path / "bad.csv"
    path.write_bytes((HEADER + "\n" + GOOD[0] + "\n").encode() + b"I2,C2,F,1,Books,1,1,Cash,1/1/2022,X\x81Y\n")
    result = ingest_file(path, str(lake), encoding="cp1252")  # 0x81 is undefined in Windows-1252
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    assert query(lake, "SELECT rule, raw_line FROM quarantine_sales") == [
        ("invalid_encoding", "I2,C2,F,1,Books,1,1,Cash,1/1/2022,X\\x81Y")]


def test_utf16_file_is_transcoded(tmp_path, lake):
    path = tmp_path / "utf16.csv"
    path.write_bytes(("\n".join([HEADER, *GOOD]) + "\n").encode("utf-16"))
    result = ingest_file(path, str(lake))
    assert result.rows_accepted == 3


def test_gzip_in_legacy_encoding(tmp_path, lake):
    import gzip

    plain = _legacy_file(tmp_path, "cp1254", ["Çevahir"])
    path = tmp_path / "legacy.csv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT shopping_mall FROM sales") == [("Çevahir",)]
    assert result.rows_accepted == 1


def test_generated_messy_file_is_quarantined_exactly_as_the_generator_counts(tmp_path, lake):
    """The generator's injected bad rows (bad dates incl. dd/13/yyyy, 'TL600.16'-style prices, ...)
    are exactly what ingest quarantines: the value rules neither miss one nor refuse a good row."""
    from retail_lake.generate import generate

    summary = generate(tmp_path / "messy.csv", rows=6000, customers=1500, seed=11, messy=0.08, with_costs=True)
    result = ingest_file(tmp_path / "messy.csv", str(lake))
    assert result.rows_quarantined == summary.expected_quarantined
    assert result.rows_accepted == summary.expected_accepted
    assert "dates read as day/month/year" in result.notes


def test_line_total_from_unit_price_keeps_fractions_of_a_cent(write_file, lake):
    """price = unit_price x quantity, exact to the analytics' 4 decimals: UCI Online Retail has unit
    prices of 0.001, which cents would turn into a free line."""
    header = "invoice_no,customer_id,quantity,unit_price,invoice_date"
    ingest_lines(write_file, lake, ["I1,C1,1,0.001,5/8/2022", "I2,C1,3,1.695,5/8/2022",
                                    "I3,C1,7,0.004,5/8/2022", "I4,C1,6,2.55,5/8/2022"], header=header)
    # By hand: 0.001 x 1 = 0.001; 1.695 x 3 = 5.085; 0.004 x 7 = 0.028; 2.55 x 6 = 15.3.
    assert query(lake, "SELECT invoice_no, price, unit_price FROM sales ORDER BY invoice_no") == [
        ("I1", 0.001, 0.001), ("I2", 5.085, 1.695), ("I3", 0.028, 0.004), ("I4", 15.3, 2.55)]


def test_computed_line_total_out_of_bounds_says_what_was_computed(write_file, lake):
    """A line total from unit_price x quantity is named with its factors, not as the unit price
    ("price '1000000000' is above the maximum 1,000,000,000" contradicted itself)."""
    header = "invoice_no,customer_id,quantity,unit_price,invoice_date"
    path = write_file("upload.csv", ["I1,C1,5,1000000000,5/8/2022", "I2,C1,3,-1.5,5/8/2022"], header=header)
    ingest_file(path, str(lake))
    assert query(lake, "SELECT row_number, reason FROM quarantine_sales ORDER BY row_number") == [
        (1, f"{path} row 1: price_out_of_range: price 5000000000.0 (unit_price 1000000000 x quantity 5) "
            "is above the maximum 1,000,000,000 (lake_schemas/sales.yaml)"),
        (2, f"{path} row 2: negative_price: price -4.5 (unit_price -1.5 x quantity 3) is negative")]


def test_a_reason_names_the_column_whose_text_it_shows(write_file, lake):
    """When a row's price comes from unit_price, a text the row could not read is named as
    unit_price ('price 'abc'' pointed at a column the file does not have); with both columns, each
    row names its own."""
    path = write_file("units.csv", ["I1,C1,2,abc,5/8/2022", "I2,C1,2,,5/8/2022"],
                      header="invoice_no,customer_id,quantity,unit_price,invoice_date")
    ingest_file(path, str(lake))
    assert query(lake, "SELECT row_number, reason FROM quarantine_sales ORDER BY row_number") == [
        (1, f"{path} row 1: bad_price: unit_price 'abc' is not a number (this file: decimal point)"),
        (2, f"{path} row 2: missing_price: unit_price is empty")]

    both = write_file("both.csv", ["I3,C1,2,x1,,5/8/2022", "I4,C1,2,,y2,5/8/2022", "I5,C1,2,,,5/8/2022"],
                      header="invoice_no,customer_id,quantity,price,unit_price,invoice_date")
    ingest_file(both, str(lake))
    assert query(lake, f"SELECT row_number, reason FROM quarantine_sales WHERE source = '{both}' "
                       "ORDER BY row_number") == [
        (1, f"{both} row 1: bad_price: price 'x1' is not a number (this file: decimal point)"),
        (2, f"{both} row 2: bad_price: unit_price 'y2' is not a number (this file: decimal point)"),
        (3, f"{both} row 3: missing_price: price and unit_price are empty")]
