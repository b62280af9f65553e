"""Helpers to write small upload files whose right answers are obvious, and to read the lake back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from retail_lake.query import connect

HEADER = "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall"
GOOD = [
    "I100,C1,Female,28,Clothing,5,1500.4,Credit Card,5/8/2022,Kanyon",
    "I101,C2,Male,21,Shoes,3,1800.51,Debit Card,12/12/2021,Forum Istanbul",
    "I102,C1,Female,28,Books,1,15.15,Cash,9/11/2021,Metrocity",
]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """write_file(name, lines, header=HEADER, newline='\\n', bom=False) -> path of a UTF-8 CSV."""

    def _write(name: str, lines: Sequence[str], header: str | None = HEADER, newline: str = "\n",
               bom: bool = False) -> Path:
        text = newline.join(([header] if header is not None else []) + list(lines))
        if lines or header is not None:
            text += newline
        path = tmp_path / "drop" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        return path

    return _write


def query(lake: Path, sql: str) -> list[tuple]:
    return connect(str(lake)).execute(sql).fetchall()


def at(day: int, hour: int = 12) -> datetime:
    """An upload time on 2024-01-<day>."""
    return datetime(2024, 1, day, hour, tzinfo=UTC)
