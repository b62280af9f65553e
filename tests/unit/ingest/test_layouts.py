"""Known public layouts (lake_schemas/sales.yaml `layouts`): a header that means something else in a
well-known file is read by its meaning there. UCI Online Retail II's `Price` is the price of one unit,
so its line total is Price x Quantity; the reference dataset's `price` stays the line total."""

from __future__ import annotations

from datetime import date

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


def test_a_known_layout_settles_dates_that_read_both_ways(write_file, lake) -> None:
    """UCI exports write dates month/day/year. A slice of the first twelve days of a month has no
    date that reads one way only, so the layout's order decides (the 1st of December, not the 12th of
    January), and the summary says so."""
    path = write_file("online_retail_slice.csv", [
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
        "536520,21123,SET/10 IVORY POLKADOT PARTY CANDLES,1,12/1/2010 12:43,1.25,14729,United Kingdom",
        "537226,22811,SET OF 6 T-LIGHTS CACTI,6,12/6/2010 8:34,2.95,15987,United Kingdom",
    ], header=ONLINE_RETAIL)
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT invoice_no, invoice_date FROM sales ORDER BY 1") == [
        ("536365", date(2010, 12, 1)), ("536520", date(2010, 12, 1)), ("537226", date(2010, 12, 6))]
    assert "dates read as month/day/year (layout online_retail_ii: no date in the file reads one way only)" \
        in result.notes


def test_dates_that_read_one_way_only_decide_over_the_layout(write_file, lake) -> None:
    """A file in a known layout whose dates say day/month (13/1/2010 reads only that way) is read
    day/month like any file: the layout only settles what the file does not."""
    path = write_file("online_retail_day_first.csv", [
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,13/1/2010 8:26,2.55,17850,United Kingdom",
        "536366,22633,HAND WARMER UNION JACK,6,14/1/2010 8:28,1.85,17850,United Kingdom",
        "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2/1/2010 8:34,1.69,13047,United Kingdom",
    ], header=ONLINE_RETAIL)
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT invoice_no, invoice_date FROM sales ORDER BY 1") == [
        ("536365", date(2010, 1, 13)), ("536366", date(2010, 1, 14)), ("536367", date(2010, 1, 2))]
    assert "dates read as day/month/year" in result.notes


def test_without_a_layout_dates_that_read_both_ways_stay_day_first(write_file, lake) -> None:
    path = write_file("plain.csv", ["A1,C1,2,12/1/2010,50.00,Turkey"],
                      header="Invoice,Customer ID,Quantity,InvoiceDate,Price,Country")
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT invoice_date FROM sales") == [(date(2010, 1, 12),)]
    assert "dates read as day/month/year" in result.notes


def test_price_without_the_layout_signature_stays_the_line_total(write_file, lake) -> None:
    """Only StockCode, Description and Country together name the layout: `Price` beside `Country`
    alone is still the line total."""
    path = write_file("totals.csv", ["A1,C1,2,10/1/2022,50.00,Turkey"],
                      header="Invoice,Customer ID,Quantity,InvoiceDate,Price,Country")
    result = ingest_file(path, str(lake))
    assert query(lake, "SELECT quantity, price FROM sales") == [(2, 50.0)]
    assert not any("layout" in note for note in result.notes)


SUPERSTORE = ("Row ID,Order ID,Order Date,Ship Date,Ship Mode,Customer ID,Customer Name,Segment,Country,City,"
              "State,Postal Code,Region,Product ID,Category,Sub-Category,Product Name,Sales,Quantity,Discount,Profit")


def test_superstore_discount_is_a_rate_of_the_undiscounted_line(write_file, lake) -> None:
    path = write_file("superstore.csv", [
        "1,CA-2016-152156,11/8/2016,11/11/2016,Second Class,CG-12520,Claire Gute,Consumer,United States,"
        "Henderson,Kentucky,42420,South,FUR-BO-10001798,Furniture,Bookcases,Bush Bookcase,261.96,2,0,41.9136",
        "4,US-2015-108966,10/11/2015,10/18/2015,Standard Class,SO-20335,Sean O'Donnell,Consumer,United States,"
        "Fort Lauderdale,Florida,33311,South,FUR-TA-10000577,Furniture,Tables,Bretford Table,957.5775,5,0.45,-383.031",
        "5,US-2015-108966,10/11/2015,10/18/2015,Standard Class,SO-20335,Sean O'Donnell,Consumer,United States,"
        "Fort Lauderdale,Florida,33311,South,OFF-ST-10000760,Office Supplies,Storage,Eldon Cart,22.368,2,0.2,2.5164",
        "8,CA-2014-115812,6/9/2014,6/14/2014,Standard Class,BH-11710,Brosina Hoffman,Consumer,United States,"
        "Los Angeles,California,90032,West,OFF-AR-10002833,Office Supplies,Art,Newell 322,7.28,4,1.5,1.9656",
    ], header=SUPERSTORE)
    result = ingest_file(path, str(lake))
    assert (result.rows_accepted, result.rows_quarantined) == (3, 1)
    assert any("layout superstore" in note for note in result.notes)
    # By hand: 957.5775 x 0.45 / 0.55 = 783.4725; 22.368 x 0.2 / 0.8 = 5.592; no discount -> 0 (4 decimals,
    # the money scale, as prices).
    assert query(lake, "SELECT price, discount FROM sales ORDER BY price") == [
        (22.368, 5.592), (261.96, 0.0), (957.5775, 783.4725)]
    # Superstore writes dates month/day/year; none of these reads one way only: the layout decides.
    assert query(lake, "SELECT invoice_no, invoice_date FROM sales ORDER BY price") == [
        ("US-2015-108966", date(2015, 10, 11)), ("CA-2016-152156", date(2016, 11, 8)),
        ("US-2015-108966", date(2015, 10, 11))]
    assert query(lake, "SELECT row_number, rule, reason FROM quarantine_sales") == [
        (4, "discount_rate_out_of_range",
         f"{path} row 4: discount_rate_out_of_range: discount '1.5' is above the maximum 0.95 "
         "(lake_schemas/sales.yaml)")]


def test_every_layout_names_real_input_columns() -> None:
    """The layouts in lake_schemas are read into typed entries whose columns exist."""
    from retail_lake.schemas import table

    spec = table("sales")
    inputs = {c.name for c in spec.input_columns}
    assert {layout.name for layout in spec.layouts} >= {"online_retail_ii", "superstore"}
    for layout in spec.layouts:
        assert layout.signature and layout.note
        assert set(layout.headers.values()) <= inputs
        assert {check.column for check in layout.checks} <= inputs
