"""Known public layouts (lake_schemas/sales.yaml `layouts`): a header that means something else in a
well-known file is read by its meaning there. UCI Online Retail II's `Price` is the price of one unit,
so its line total is Price x Quantity; the reference dataset's `price` stays the line total."""

from __future__ import annotations

from retail_lake.ingest import ingest_file

from .conftest import query

ONLINE_RETAIL_II = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
ONLINE_RETAIL = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


def test_online_retail_ii_price_is_a_unit_price(write_file, lake) -> None:
    path = write_file("online_retail_ii.csv", [
        "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom",
        "489435,22350,CAT BOWL ,3,2009-12-01 07:46:00,2.55,13085.0,United Kingdom",
    ], header=ONLINE_RETAIL_II)
    result = ingest_file(path, str(lake))
    assert (result.rows_accepted, result.rows_quarantined) == (2, 0)
    # By hand: 12 x 6.95 = 83.40 and 3 x 2.55 = 7.65.
    assert query(lake, "SELECT invoice_no, quantity, unit_price, price FROM sales ORDER BY 1") == [
        ("489434", 12, 6.95, 83.4), ("489435", 3, 2.55, 7.65)]
    assert any("layout online_retail_ii" in note for note in result.notes)


def test_online_retail_unit_price_needs_no_layout(write_file, lake) -> None:
    path = write_file("online_retail.csv", [
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
    ], header=ONLINE_RETAIL)
    ingest_file(path, str(lake))
    assert query(lake, "SELECT quantity, unit_price, price FROM sales") == [(6, 2.55, 15.3)]


def test_price_without_the_layout_signature_stays_the_line_total(write_file, lake) -> None:
    """Only StockCode, Description and Country together name the layout: `Price` beside `Country`
    alone is still the line total."""
    path = write_file("totals.csv", ["A1,C1,2,10/1/2022,50.00,Turkey"],
                      header="Invoice,Customer ID,Quantity,InvoiceDate,Price,Country")
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT quantity, price FROM sales") == [(2, 50.0)]
    assert not any("layout" in note for note in result.notes)
