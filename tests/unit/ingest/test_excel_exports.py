"""Excel's CSV exports: a `sep=;` hint line before the header, CRLF, decimal commas, trailing empty
columns. The hint is dropped, the rows are read, and row numbers still count data rows."""

from __future__ import annotations

from retail_lake.ingest import ingest_file

from .conftest import HEADER, query


def test_separator_hint_line_is_dropped(tmp_path, lake) -> None:
    header = HEADER.replace(",", ";")
    lines = ["sep=;", header + ";;",
             "A1;C1;Female;28;Clothing;5;1.500,40;Credit Card;5/8/2022;Kanyon;;",
             "A2;;Male;30;Toys;1;35,84;Cash;13/8/2022;Kanyon;;"]
    path = tmp_path / "export.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    result = ingest_file(path, str(lake))
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (2, 1, 1)
    assert query(lake, "SELECT invoice_no, price FROM sales") == [("A1", 1500.4)]
    assert query(lake, "SELECT row_number, rule FROM quarantine_sales") == [(2, "missing_customer_id")]


def _prices_read(tmp_path, lake, name: str, prices: list[str], delimiter: str) -> tuple[list, list[str]]:
    """Ingest two rows with these prices, fields separated by ``delimiter``: (invoice, price) rows, notes."""
    rows = [f"A1,C1,Female,28,Clothing,1,{prices[0]},Cash,5/8/2022,Kanyon",
            f"A2,C2,Male,30,Toys,2,{prices[1]},Cash,13/8/2022,Kanyon"]
    path = tmp_path / name
    path.write_text("".join(line.replace(",", delimiter) + "\n" for line in [HEADER, *rows]), encoding="utf-8")
    result = ingest_file(path, str(lake))
    return query(lake, "SELECT invoice_no, price FROM sales ORDER BY 1"), result.notes


def test_a_semicolon_file_without_evidence_reads_decimal_commas(tmp_path, lake) -> None:
    """Prices that read both ways (1.500, 2.250: thousands in 1.500 TL, or three decimals) and
    nothing that reads one way only: ';' between the fields is the locale's list separator, the one
    written beside decimal commas, so 1.500 is 1500 (not a thousandth of it), and the summary says
    why. With a comma between the fields the same values stay decimal points."""
    prices, notes = _prices_read(tmp_path, lake, "semicolon.csv", ["1.500", "2.250"], ";")
    assert prices == [("A1", 1500.0), ("A2", 2250.0)]
    assert ("numbers: decimal comma, '.' thousands (no number in the file reads one way only, and ';' "
            "separates its fields)") in notes
    prices, notes = _prices_read(tmp_path, tmp_path / "lake2", "comma.csv", ["1.500", "2.250"], ",")
    assert prices == [("A1", 1.5), ("A2", 2.25)]
    assert "numbers: decimal point, ',' thousands" in notes


def test_a_semicolon_file_with_decimal_points_keeps_them(tmp_path, lake) -> None:
    """The delimiter only settles a file whose numbers do not: 12.75 reads one way only."""
    prices, notes = _prices_read(tmp_path, lake, "semicolon_points.csv", ["1.500", "12.75"], ";")
    assert prices == [("A1", 1.5), ("A2", 12.75)]
    assert "numbers: decimal point, ',' thousands" in notes
