"""Dates with a month name are unambiguous and read as such, whatever the file's day/month order;
a two-digit year, an impossible day or an unknown month name is refused with its reason."""

from __future__ import annotations

from datetime import date

from retail_lake.ingest import ingest_file

from .conftest import query

ROW = "N{n},C1,Female,28,Clothing,1,10,Cash,{day},Kanyon"


def test_month_names_are_read(write_file, lake) -> None:
    days = ["5-Aug-2022", "5 August 2022", '"Aug 5, 2022"', "01-Dec-2010 08:26", "Sept. 3rd 2021",
            "05-Aug-22", "31-Feb-2022", "5-Foo-2022", "12/1/2022", "12/13/2022"]
    path = write_file("named.csv", [ROW.format(n=i + 1, day=d) for i, d in enumerate(days)])
    result = ingest_file(path, str(lake))
    assert (result.rows_accepted, result.rows_quarantined) == (7, 3)
    assert query(lake, "SELECT invoice_no, invoice_date FROM sales ORDER BY invoice_no") == [
        ("N1", date(2022, 8, 5)), ("N10", date(2022, 12, 13)), ("N2", date(2022, 8, 5)),
        ("N3", date(2022, 8, 5)), ("N4", date(2010, 12, 1)), ("N5", date(2021, 9, 3)),
        # 12/13/2022 only reads month first, so the file's numeric dates are month/day: 12/1 is 1 December.
        ("N9", date(2022, 12, 1))]
    assert query(lake, "SELECT row_number, rule FROM quarantine_sales ORDER BY 1") == [
        (6, "two_digit_year"), (7, "bad_date"), (8, "bad_date")]
