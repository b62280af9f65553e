"""Whole-file cases: bad input of every kind, each asserting counts and reasons."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

from retail_lake.ingest import ingest_file

from .conftest import GOOD, HEADER, query


def log_row(lake: Path) -> tuple:
    return query(lake, "SELECT status, rows_in, rows_accepted, rows_quarantined, message FROM ingest_log")[0]


def test_empty_file_is_rejected_with_one_line_reason(write_file, lake):
    path = write_file("empty.csv", [], header=None)
    result = ingest_file(path, str(lake))
    assert result.status == "rejected" and not result.ok
    assert result.message == "empty file (0 bytes)"
    assert log_row(lake) == ("rejected", 0, 0, 0, "empty file (0 bytes)")


def test_header_only_file_is_processed_with_no_rows(write_file, lake):
    result = ingest_file(write_file("header.csv", []), str(lake))
    assert (result.status, result.rows_in, result.rows_accepted, result.rows_quarantined) == ("succeeded", 0, 0, 0)
    assert query(lake, "SELECT count(*) FROM sales") == [(0,)]


def test_missing_required_column_rejects_file_and_quarantines_every_row(write_file, lake):
    header = "invoice_no,customer_id,gender,age,category,quantity,payment_method,invoice_date,shopping_mall"
    path = write_file("noprice.csv", ["I1,C1,Female,28,Clothing,5,Cash,5/8/2022,Kanyon",
                                      "I2,C2,Female,28,Clothing,5,Cash,5/8/2022,Kanyon"], header=header)
    result = ingest_file(path, str(lake))
    assert result.status == "rejected"
    assert result.message.startswith("missing required column(s): price (or line_total, total, amount")
    assert "\n" not in result.message
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (2, 0, 2)
    rows = query(lake, "SELECT row_number, invoice_no, rule FROM quarantine_sales ORDER BY row_number")
    assert rows == [(1, "I1", "file_rejected"), (2, "I2", "file_rejected")]
    assert query(lake, "SELECT count(*) FROM sales") == [(0,)]


def test_not_csv_or_parquet_is_rejected(tmp_path, lake):
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    result = ingest_file(png, str(lake))
    assert (result.status, result.message) == ("rejected", "not a CSV or Parquet file (binary content)")
    xlsx = tmp_path / "book.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(100))
    assert "zip/xlsx archives are not supported" in ingest_file(xlsx, str(lake)).message


def test_extra_columns_are_ignored_and_reported(write_file, lake):
    path = write_file("extra.csv", [GOOD[0] + ",note,99"], header=HEADER + ",comment,store_code")
    result = ingest_file(path, str(lake))
    assert result.rows_accepted == 1
    assert "ignored columns: comment, store_code" in result.message


def test_bom_and_crlf(write_file, lake):
    result = ingest_file(write_file("bom.csv", GOOD, newline="\r\n", bom=True), str(lake))
    assert (result.rows_in, result.rows_accepted) == (3, 3)
    assert query(lake, "SELECT invoice_no, shopping_mall FROM sales ORDER BY 1") == [
        ("I100", "Kanyon"), ("I101", "Forum Istanbul"), ("I102", "Metrocity")
    ]


def test_quoted_commas_and_quotes(write_file, lake):
    result = ingest_file(write_file("quoted.csv", [
        'I1,C1,Female,28,Clothing,5,"1,500.40",Cash,5/8/2022,"Kanyon, Levent"',
        'I2,C2,Female,28,Clothing,1,300.08,Cash,5/8/2022,"The ""Big"" Mall"',
    ]), str(lake))
    assert result.rows_accepted == 2
    assert query(lake, "SELECT price, shopping_mall FROM sales ORDER BY invoice_no") == [
        (1500.4, "Kanyon, Levent"), (300.08, 'The "Big" Mall')
    ]


def test_stray_bytes_in_a_utf8_file_quarantine_only_that_row_with_its_bytes(tmp_path, lake):
    """A UTF-8 file (it has UTF-8 letters) with one line of other bytes: that line is quarantined as
    invalid_encoding, raw_line keeps its bytes as \\xNN escapes (never '?'), the rest is read."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        (HEADER + "\n" + GOOD[0].replace("Kanyon", "Cevahir").replace("Cevahir", "Çevahir") + "\n").encode()
        + b"I2,C2,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kany\xf6n\n"
        + (GOOD[1] + "\n").encode()
    )
    result = ingest_file(path, str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (3, 2, 1)
    [(row_number, rule, raw_line)] = query(lake, "SELECT row_number, rule, raw_line FROM quarantine_sales")
    assert (row_number, rule) == (2, "invalid_encoding")
    assert raw_line == "I2,C2,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kany\\xf6n"
    # rows after the bad one keep their own row numbers
    assert query(lake, "SELECT invoice_no, row_number, shopping_mall FROM sales ORDER BY row_number") == [
        ("I100", 1, "Çevahir"), ("I101", 3, "Forum Istanbul")]


def test_wrong_column_count_keeps_raw_line(write_file, lake):
    result = ingest_file(write_file("short.csv", [GOOD[0], "I2,C2,Female", GOOD[1] + ",extra,more"]), str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (3, 1, 2)
    rows = query(lake, "SELECT row_number, rule, raw_line FROM quarantine_sales ORDER BY row_number")
    assert rows == [(2, "wrong_column_count", "I2,C2,Female"),
                    (3, "wrong_column_count", GOOD[1] + ",extra,more")]


def test_gzip_csv(tmp_path, lake):
    path = tmp_path / "sales.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([HEADER, *GOOD]) + "\n").encode()))
    result = ingest_file(path, str(lake))
    assert (result.rows_in, result.rows_accepted) == (3, 3)
    assert query(lake, "SELECT file_format FROM ingest_log") == [("csv.gz",)]


def test_parquet_upload(tmp_path, lake):
    import duckdb

    path = tmp_path / "sales.parquet"
    duckdb.sql(
        "SELECT 'I1' AS invoice_no, 'C1' AS customer_id, 'Female' AS gender, 28 AS age, 'Toys' AS category, "
        "2 AS quantity, 71.68 AS price, 'Cash' AS payment_method, DATE '2022-03-04' AS invoice_date, "
        "'Kanyon' AS shopping_mall"
    ).write_parquet(str(path))
    result = ingest_file(path, str(lake))
    assert (result.rows_in, result.rows_accepted) == (1, 1)
    assert query(lake, "SELECT invoice_date, quantity, price FROM sales")[0][1:] == (2, 71.68)


def test_duplicates_within_a_file(write_file, lake):
    result = ingest_file(write_file("dups.csv", [GOOD[0], GOOD[1], GOOD[0], GOOD[0]]), str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (4, 2, 2)
    assert query(lake, "SELECT row_number, reason FROM quarantine_sales ORDER BY 1") == [
        (3, f"{result.source} row 3: duplicate_row: exact repeat of row 1"),
        (4, f"{result.source} row 4: duplicate_row: exact repeat of row 1"),
    ]


def test_every_kind_of_reason_in_one_file(write_file, lake):
    """A rule's reason, a parser reject's and an exact repeat's, each on its own row number (the
    detail texts are made for the rejected rows only, after the rows are judged)."""
    result = ingest_file(write_file("mixed.csv", [
        GOOD[0],
        "I200,C9,Male,30,Toys,1,12.5,Cash,5/8/2022",  # one field short
        "I201,C9,Male,30,Toys,1,abc,Cash,5/8/2022,Kanyon",
        GOOD[0],
        GOOD[1],
    ]), str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (5, 2, 3)
    assert query(lake, "SELECT row_number, rule, reason FROM quarantine_sales ORDER BY 1") == [
        (2, "wrong_column_count",
         f"{result.source} row 2: wrong_column_count: the line has fewer fields than the header"),
        (3, "bad_price",
         f"{result.source} row 3: bad_price: price 'abc' is not a number (this file: decimal point)"),
        (4, "duplicate_row", f"{result.source} row 4: duplicate_row: exact repeat of row 1"),
    ]
    assert query(lake, "SELECT row_number, invoice_no FROM sales ORDER BY 1") == [(1, "I100"), (5, "I101")]


def test_unit_price_column_with_gaps_is_price_per_unit_there(write_file, lake):
    header = HEADER + ",unit_price"
    result = ingest_file(write_file("unit.csv", [
        "I1,C1,Female,28,Books,3,30,Cash,5/8/2022,Kanyon,10",
        "I2,C1,Female,28,Books,3,10,Cash,5/8/2022,Kanyon,",
    ], header=header), str(lake))
    assert result.rows_accepted == 2
    assert query(lake, "SELECT invoice_no, unit_price, discount, unit_cost FROM sales ORDER BY 1") == [
        ("I1", 10.0, None, None), ("I2", 3.3333, None, None),
    ]


def test_multi_line_invoice_is_kept_whole(write_file, lake):
    result = ingest_file(write_file("lines.csv", [
        "I7,C1,Female,28,Clothing,1,300.08,Cash,5/8/2022,Kanyon",
        "I7,C1,Female,28,Shoes,1,600.17,Cash,5/8/2022,Kanyon",
    ]), str(lake))
    assert result.rows_accepted == 2
    assert query(lake, "SELECT count(*), count(DISTINCT invoice_no), sum(price) FROM sales") == [(2, 1, 900.25)]


def test_every_row_is_accounted_for(write_file, lake):
    """rows_in = rows_accepted + rows_quarantined, in the result and in ingest_log, for a messy file."""
    lines = [GOOD[0], ",C1,F,1,Books,1,1,Cash,1/1/2022,Kanyon", "I3,C3,F,1,Books,0,1,Cash,1/1/2022,Kanyon",
             "bad,line", GOOD[0], "I4,C4,F,1,Books,1,1,Cash,32/1/2022,Kanyon", GOOD[2]]
    result = ingest_file(write_file("messy.csv", lines), str(lake))
    assert result.rows_in == len(lines) == result.rows_accepted + result.rows_quarantined
    assert query(lake, "SELECT rows_in, rows_accepted + rows_quarantined FROM ingest_log") == [(7, 7)]
    assert query(lake, "SELECT (SELECT count(*) FROM sales_versions) + (SELECT count(*) FROM quarantine_sales)") == [
        (7,)
    ]


def _curated_files(lake) -> dict[str, Path]:
    return {p.parent.name: p for p in sorted((lake / "curated" / "sales").rglob("*.parquet"))}


def test_partition_files_hold_text_columns_and_only_small_dictionaries(write_file, lake):
    """Small dimensions and lineage reach the Parquet writer as ENUMs (written as text from their
    dictionary); a dimension with thousands of values is written as plain text, so a partition
    file never carries the whole file's list of names."""
    import hashlib

    import duckdb

    names = [hashlib.sha256(str(i).encode()).hexdigest()[:16] for i in range(3000)]  # poorly compressible
    many = [f"I{i},C{i},Female,28,{name},1,10,Cash,5/8/2022,Kanyon" for i, name in enumerate(names)]
    result = ingest_file(write_file("many.csv", [*many, "I9999,C1,Male,30,Books,1,12,Cash,5/9/2022,Kanyon"]),
                         str(lake))
    assert result.rows_accepted == 3001
    files = _curated_files(lake)
    assert set(files) == {"month=08", "month=09"}
    con = duckdb.connect()
    schema = {name: (physical, logical) for (name, physical, logical) in con.execute(
        "SELECT name, type, converted_type FROM parquet_schema(?) WHERE name <> 'duckdb_schema'",
        [str(files["month=09"])]).fetchall()}
    for column in ("category", "gender", "payment_method", "shopping_mall", "flags", "source", "upload_id"):
        assert schema[column] == ("BYTE_ARRAY", "UTF8"), column
    # the one-row September file: no dictionary of 3,000 category names in it
    assert files["month=09"].stat().st_size < 8_000
    assert query(lake, "SELECT category, gender, source FROM sales WHERE invoice_no = 'I9999'") == [
        ("Books", "Male", result.source)]


def test_mixed_line_ends_are_read_not_rejected(tmp_path, lake):
    """CRLF and LF lines in one file, and an old Mac CR, stop DuckDB's parser: the file was rejected
    whole as "a line is longer than the line limit". Every line end now counts, as in Python and pandas."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"invoice_no,customer_id,quantity,price,invoice_date,shopping_mall\n"
                     b"I1,C1,1,10.5,5/8/2022,Kanyon\r\n"
                     b"I2,C2,2,20,6/8/2022,Kanyon\n"
                     b"I3,C3,3,30,7/8/2022,Kanyon\r"
                     b"I4,C4,4,40,8/8/2022,\"Forum\r\nIstanbul\"\n")
    result = ingest_file(path, str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (4, 4, 0)
    assert query(lake, "SELECT row_number, invoice_no, quantity, price, invoice_date, shopping_mall "
                       "FROM sales ORDER BY row_number") == [
        (1, "I1", 1, 10.5, date(2022, 8, 5), "Kanyon"), (2, "I2", 2, 20.0, date(2022, 8, 6), "Kanyon"),
        (3, "I3", 3, 30.0, date(2022, 8, 7), "Kanyon"), (4, "I4", 4, 40.0, date(2022, 8, 8), "Forum Istanbul")]
