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
