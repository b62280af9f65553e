"""Store names are matched to the stores reference without accents: a file that writes the mall the
Turkish way ('Çevahir AVM', 'CEVAHİR AVM') lands under the reference spelling, so its region is known."""

from __future__ import annotations

from retail_lake.ingest import ingest_file
from retail_lake.ingest._normalise import normalise_mall

from .conftest import query

ROW = "S{n},C1,Female,28,Clothing,1,10,Cash,5/8/2022,{mall}"


def test_accented_spellings_match_the_reference() -> None:
    assert normalise_mall("Çevahir AVM") == ("Cevahir AVM", None)
    assert normalise_mall("CEVAHİR  avm") == ("Cevahir AVM", None)
    assert normalise_mall("Çevahir") == ("Çevahir", None)  # not a known mall: kept as sent


def test_an_accented_mall_gets_its_region(write_file, lake) -> None:
    path = write_file("malls.csv", [ROW.format(n=1, mall="Çevahir AVM"), ROW.format(n=2, mall="Cevahir AVM")])
    ingest_file(path, str(lake))
    assert query(lake, "SELECT DISTINCT shopping_mall FROM sales") == [("Cevahir AVM",)]
    assert query(lake, "SELECT region FROM stores WHERE shopping_mall = 'Cevahir AVM'") == [("European Side",)]
