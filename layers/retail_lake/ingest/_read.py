"""Reading an upload into a DuckDB table of text columns named by the sales schema.

Every column is read as text so that validation (``_validate``) sees exactly what was sent. CSV rows
the parser cannot split (wrong column count, bad quoting, invalid UTF-8) do not stop the file: DuckDB
stores them as rejects, and they are quarantined with their raw line.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.duck import sql_literal
from retail_lake.ingest._errors import RejectedFileError
from retail_lake.schemas import Table, normalise_header

if TYPE_CHECKING:
    import duckdb

_SNIFF_BYTES = 64 * 1024


@dataclass
class ReadResult:
    """What was read: the raw table name, the column mapping and the parser's rejects."""

    file_format: str
    mapping: dict[str, str]  # canonical column -> header as sent
    headers: list[str]
    ignored_columns: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    rows_parsed: int = 0
    rows_unparseable: int = 0


def detect_format(path: Path, name: str) -> str:
    """'csv', 'csv.gz' or 'parquet', from the bytes (names lie); RejectedFileError otherwise."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise RejectedFileError("empty file (0 bytes)")
    if head[:4] == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                inner = gz.read(_SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise RejectedFileError(f"corrupt gzip file ({exc})") from None
        _check_text(inner, name)
        return "csv.gz"
    if head[:4] == b"PK\x03\x04":
        raise RejectedFileError("zip/xlsx archives are not supported: upload CSV, CSV.gz or Parquet")
    _check_text(head, name)
    return "csv"


def _check_text(head: bytes, name: str) -> None:
    if not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise RejectedFileError("empty file (no header)")
    if b"\x00" in head:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise RejectedFileError("UTF-16 text is not supported: save the file as UTF-8 CSV")
        raise RejectedFileError("not a CSV or Parquet file (binary content)")


def alias_index(spec: Table) -> dict[str, str]:
    """Normalised header -> canonical column, from the column names and aliases in lake_schemas."""
    index: dict[str, str] = {}
    for col in spec.input_columns:
        for name in (col.name, *col.aliases):
            index.setdefault(normalise_header(name), col.name)
    return index


def map_headers(headers: list[str], spec: Table) -> tuple[dict[str, str], list[str]]:
    """Match headers case/space-insensitively with aliases; exact names win over aliases."""
    index = alias_index(spec)
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    exact = {normalise_header(h): h for h in headers if normalise_header(h) in spec.column_names}
    for header in headers:
        canonical = index.get(normalise_header(header))
        if canonical is None:
            ignored.append(header)
            continue
        preferred = exact.get(canonical, header)
        if canonical in mapping or preferred != header:
            ignored.append(header)
            continue
        mapping[canonical] = header
    return mapping, ignored


def _csv_options(file_format: str) -> str:
    compression = "gzip" if file_format == "csv.gz" else "none"
    return (
        "header = true, all_varchar = true, skip = 0, null_padding = false, ignore_errors = true, "
        "store_rejects = true, rejects_table = 'csv_reject_errors', rejects_scan = 'csv_reject_scans', "
        f"compression = '{compression}', sample_size = 20480"
    )


def _source_relation(path: Path, file_format: str) -> str:
    if file_format == "parquet":
        return f"read_parquet({sql_literal(str(path))})"
    return f"read_csv({sql_literal(str(path))}, {_csv_options(file_format)})"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def load_raw(con: duckdb.DuckDBPyConnection, path: Path, file_format: str, spec: Table) -> ReadResult:
    """Create table ``raw`` (ordinal, one VARCHAR per mapped column) and ``rejects`` (parser rejects).

    ``ordinal`` is the position among parsed rows (insertion order is preserved); the data row
    number is recovered later by adding back the rejected rows that came before it.
    """
    relation = _source_relation(path, file_format)
    try:
        raw_names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    except Exception as exc:  # duckdb.Error subclasses; message is the useful part
        raise RejectedFileError(f"unreadable {file_format} file: {_first_line(exc)}") from None
    headers = [h.replace("\ufeff", "").strip() for h in raw_names]
    mapping, ignored = map_headers(headers, spec)
    missing = [c.name for c in spec.input_columns if c.input == "required" and c.name not in mapping]
    if "price" in missing and "unit_price" in mapping:
        missing.remove("price")
    raw_headers = dict(zip(headers, raw_names, strict=True))
    selects = [f"CAST({_quote(raw_headers[h])} AS VARCHAR) AS {c}" for c, h in mapping.items()]
    selects += [f"CAST(NULL AS VARCHAR) AS {c.name}" for c in spec.input_columns if c.name not in mapping]
    try:
        con.execute(f"CREATE OR REPLACE TABLE raw AS SELECT {', '.join(selects)} FROM {relation}")
    except Exception as exc:
        raise RejectedFileError(f"unreadable {file_format} file: {_first_line(exc)}") from None
    if file_format == "parquet":
        con.execute(
            "CREATE OR REPLACE TABLE rejects AS SELECT CAST(NULL AS BIGINT) AS data_row, "
            "CAST(NULL AS VARCHAR) AS error_type, CAST(NULL AS VARCHAR) AS raw_line WHERE false"
        )
    else:
        # One row per rejected line (a line may carry several errors); line 1 is the header.
        con.execute(
            """
            CREATE OR REPLACE TABLE rejects AS
            SELECT line - 1 AS data_row,
                   string_agg(DISTINCT error_type, ', ') AS error_type,
                   trim(any_value(csv_line), chr(10) || chr(13)) AS raw_line
            FROM csv_reject_errors GROUP BY line
            """
        )
    rows_parsed = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    rows_unparseable = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    return ReadResult(file_format, mapping, headers, ignored, missing, rows_parsed, rows_unparseable)


def missing_columns_message(missing: list[str], spec: Table, headers: list[str]) -> str:
    """One line naming each missing required column and the names it could have had."""
    looked_for = "; ".join(f"{m} (or {', '.join(spec.column(m).aliases[:4])})" for m in missing)
    return f"missing required column(s): {looked_for}; header was: {', '.join(headers)[:300]}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
