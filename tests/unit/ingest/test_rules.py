"""Every validation rule and normalisation, one small file each, with the expected outcome written out."""

from __future__ import annotations

from datetime import date

import pytest

from retail_lake.ingest import ingest_file

from .conftest import GOOD, HEADER, query


def ingest_lines(write_file, lake, lines, header=HEADER):
    path = write_file("upload.csv", lines, header=header)
    return ingest_file(path, str(lake)), path


@pytest.mark.parametrize(
    ("line", "rule", "detail"),
    [
        (",C1,Female,28,Clothing,5,1500.4,Cash,5/8/2022,Kanyon", "missing_invoice_no", "invoice_no is empty"),
        ("I1,,Female,28,Clothing,5,1500.4,Cash,5/8/2022,Kanyon", "missing_customer_id", "customer_id is empty"),
        ("I1,NULL,Female,28,Clothing,5,1500.4,Cash,5/8/2022,Kanyon", "missing_customer_id", "customer_id is empty"),
        ("I1,C1,Female,28,Clothing,,1500.4,Cash,5/8/2022,Kanyon", "missing_quantity", "quantity is empty"),
        ("I1,C1,Female,28,Clothing,0,1500.4,Cash,5/8/2022,Kanyon", "non_positive_quantity",
         "quantity 0 is not greater than 0"),
        ("I1,C1,Female,28,Clothing,-2,1500.4,Cash,5/8/2022,Kanyon", "non_positive_quantity",
         "quantity -2 is not greater than 0"),
        ("I1,C1,Female,28,Clothing,2.5,1500.4,Cash,5/8/2022,Kanyon", "bad_quantity",
         "quantity '2.5' is not a whole number"),
        ("I1,C1,Female,28,Clothing,two,1500.4,Cash,5/8/2022,Kanyon", "bad_quantity",
         "quantity 'two' is not a whole number"),
        ("I1,C1,Female,28,Clothing,5,,Cash,5/8/2022,Kanyon", "missing_price", "price is empty"),
        ("I1,C1,Female,28,Clothing,5,abc,Cash,5/8/2022,Kanyon", "bad_price",
         "price 'abc' is not a number (this file: decimal point)"),
        ("I1,C1,Female,28,Clothing,5,-1.5,Cash,5/8/2022,Kanyon", "negative_price", "price -1.5 is negative"),
        ("I1,C1,Female,28,Clothing,5,1500.4,Cash,,Kanyon", "missing_invoice_date", "invoice_date is empty"),
        ("I1,C1,Female,28,Clothing,5,1500.4,Cash,31/02/2022,Kanyon", "bad_date",
         "invoice_date '31/02/2022' is not a valid date (day/month/year)"),
        ("I1,C1,Female,28,Clothing,5,1500.4,Cash,yesterday,Kanyon", "bad_date",
         "invoice_date 'yesterday' is not a valid date (day/month/year)"),
    ],
)
def test_each_rule_quarantines_with_file_row_and_rule(write_file, lake, line, rule, detail):
    result, path = ingest_lines(write_file, lake, [GOOD[0], line])
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (2, 1, 1)
    assert result.status == "succeeded"
    [(row_number, got_rule, reason)] = query(lake, "SELECT row_number, rule, reason FROM quarantine_sales")
    assert (row_number, got_rule) == (2, rule)
    assert reason == f"{path.resolve()} row 2: {rule}: {detail}"


def test_quarantine_keeps_fields_as_received(write_file, lake):
    ingest_lines(write_file, lake, ["I9,C9, female ,abc,clothing,0,1 500,Cash,5/8/2022,Kanyon"])
    row = query(lake, "SELECT invoice_no, customer_id, gender, age, category, quantity, price, source, upload_id "
                      "FROM quarantine_sales")[0]
    assert row[:7] == ("I9", "C9", " female ", "abc", "clothing", "0", "1 500")
    assert row[7].endswith("upload.csv") and len(row[8]) == 24


def test_price_zero_is_valid_free_item(write_file, lake):
    result, _ = ingest_lines(write_file, lake, ["I1,C1,Female,28,Clothing,1,0,Cash,5/8/2022,Kanyon"])
    assert result.rows_accepted == 1
    assert query(lake, "SELECT price, unit_price FROM sales") == [(0.0, 0.0)]


def test_normalisation_of_values(write_file, lake):
    result, _ = ingest_lines(write_file, lake, [
        " I1 , C1 , F , 28 ,  food and BEVERAGE ,2, 10.46 , credit card ,05/08/2022,  kanyon ",
        "I2,C2,male,31,Technology,1,\"1,050.00\",DEBIT,2022-08-06,Mall of  Istanbul",
        "I3,C3,,,Toys,3,35.84,Cash,7/8/2022 13:45,Zorlu Center",
    ])
    assert result.rows_accepted == 3 and result.rows_flagged == 0
    rows = query(lake, "SELECT invoice_no, customer_id, gender, age, category, quantity, price, unit_price, "
                       "payment_method, invoice_date, shopping_mall FROM sales ORDER BY invoice_no")
    assert rows == [
        ("I1", "C1", "Female", 28, "Food & Beverage", 2, 10.46, 5.23, "Credit Card", date(2022, 8, 5), "Kanyon"),
        ("I2", "C2", "Male", 31, "Technology", 1, 1050.0, 1050.0, "Debit Card", date(2022, 8, 6), "Mall of Istanbul"),
        ("I3", "C3", None, None, "Toys", 3, 35.84, 11.9467, "Cash", date(2022, 8, 7), "Zorlu Center"),
    ]


def test_dimension_problems_are_kept_and_flagged(write_file, lake):
    result, _ = ingest_lines(write_file, lake, [
        "I1,C1,Other,28,Garden,1,10,Crypto,5/8/2022,",
        "I2,C2,Female,430,Books,1,15.15,Cash,5/8/2022,New Mall",
    ])
    assert (result.rows_accepted, result.rows_flagged, result.rows_quarantined) == (2, 2, 0)
    rows = query(lake, "SELECT invoice_no, gender, age, category, payment_method, shopping_mall, flags "
                       "FROM sales ORDER BY invoice_no")
    assert rows == [
        ("I1", None, 28, "Garden", "Crypto", "Unknown",
         "unknown_category;unknown_payment_method;unknown_gender;missing_store"),
        ("I2", "Female", None, "Books", "Cash", "New Mall", "bad_age"),
    ]


def test_month_first_file_is_read_month_first(write_file, lake):
    result, _ = ingest_lines(write_file, lake, [
        "I1,C1,Female,28,Books,1,15.15,Cash,12/25/2022,Kanyon",
        "I2,C1,Female,28,Books,1,15.15,Cash,1/2/2023,Kanyon",
    ])
    assert result.rows_accepted == 2
    assert "month/day/year" in result.message
    assert query(lake, "SELECT invoice_date FROM sales ORDER BY 1") == [(date(2022, 12, 25),), (date(2023, 1, 2),)]


def test_unit_price_only_file_gets_line_total(write_file, lake):
    header = "InvoiceNo,CustomerID,Quantity,UnitPrice,InvoiceDate,Country"
    result, _ = ingest_lines(write_file, lake, ["536365,17850.0,6,2.55,12/1/2010 8:26,United Kingdom"], header=header)
    assert result.rows_accepted == 1
    assert "ignored columns: Country" in result.message
    assert query(lake, "SELECT invoice_no, customer_id, quantity, price, unit_price, category, shopping_mall "
                       "FROM sales") == [("536365", "17850", 6, 15.3, 2.55, "Unknown", "Unknown")]


def test_headers_match_case_space_and_aliases(write_file, lake):
    header = " INVOICE NO ,Customer-ID,Sex,AGE,Product Category,Qty,Line Total,Payment Type,Date,Mall"
    result, _ = ingest_lines(write_file, lake, ["I1,C1,F,40,Shoes,2,1200.34,Cash,1/3/2022,Kanyon"], header=header)
    assert result.rows_accepted == 1 and result.rows_flagged == 0
    assert query(lake, "SELECT invoice_no, gender, category, quantity, price, shopping_mall FROM sales") == [
        ("I1", "Female", "Shoes", 2, 1200.34, "Kanyon")
    ]


def test_optional_discount_and_unit_cost(write_file, lake):
    header = HEADER + ",discount,unit_cost"
    result, _ = ingest_lines(write_file, lake, [
        "I1,C1,Female,28,Clothing,2,540.14,Cash,5/8/2022,Kanyon,60.02,150",
        "I2,C1,Female,28,Clothing,2,540.14,Cash,5/8/2022,Kanyon,-1,150",
        "I3,C1,Female,28,Clothing,2,540.14,Cash,5/8/2022,Kanyon,0,cheap",
    ], header=header)
    assert (result.rows_accepted, result.rows_quarantined) == (1, 2)
    assert query(lake, "SELECT discount, unit_cost FROM sales") == [(60.02, 150.0)]
    assert query(lake, "SELECT rule FROM quarantine_sales ORDER BY row_number") == [
        ("negative_discount",), ("bad_unit_cost",)
    ]


def test_two_headers_naming_one_column_take_the_first(write_file, lake):
    """`invoice_no` and `Invoice No` both name the key: the first column is read (as for two headers
    spelled the same), never silently the last one."""
    header = "invoice_no,customer_id,quantity,price,invoice_date,Invoice No"
    result, _ = ingest_lines(write_file, lake, ["I1,C1,1,10,5/8/2022,X1"], header=header)
    assert result.rows_accepted == 1
    assert "ignored columns: Invoice No" in result.message
    assert query(lake, "SELECT invoice_no FROM sales") == [("I1",)]
