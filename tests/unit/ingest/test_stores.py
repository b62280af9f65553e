"""Stores reference uploads: validated like sales, the newest upload replaces the table."""

from __future__ import annotations

from retail_lake.ingest import ingest_file

from .conftest import at, query

HEADER = "shopping_mall,district,region"


def test_defaults_ship_for_the_ten_reference_malls(lake):
    rows = query(lake, "SELECT count(*), count(DISTINCT region) FROM stores")
    assert rows == [(10, 2)]


def test_upload_replaces_stores_and_quarantines_bad_rows(write_file, lake):
    path = write_file("stores.csv", ["kanyon,Levent,Europe", "New Mall,Kadikoy,Asia", ",Nowhere,Asia",
                                     "Zorlu Center,Besiktas,"], header=HEADER)
    result = ingest_file(path, str(lake), uploaded_at=at(1))
    assert (result.table, result.rows_in, result.rows_accepted, result.rows_quarantined) == ("stores", 4, 2, 2)
    assert query(lake, "SELECT shopping_mall, district, region FROM stores ORDER BY 1") == [
        ("Kanyon", "Levent", "Europe"), ("New Mall", "Kadikoy", "Asia")
    ]
    assert sorted(result.quarantine_reasons) == ["missing_region", "missing_shopping_mall"]


def test_older_stores_upload_never_replaces_a_newer_one(write_file, lake):
    new = write_file("stores_new.csv", ["Kanyon,Levent,New Region"], header=HEADER)
    old = write_file("stores_old.csv", ["Kanyon,Levent,Old Region"], header=HEADER)
    ingest_file(new, str(lake), uploaded_at=at(2))
    ingest_file(old, str(lake), uploaded_at=at(1))
    assert query(lake, "SELECT region FROM stores") == [("New Region",)]
