"""Reading an upload into a DuckDB table of text columns named by the sales schema.

Every column is read as text so that validation (``_validate``) sees exactly what was sent. CSV rows
the parser cannot split (wrong column count, bad quoting, invalid UTF-8) do not stop the file: DuckDB
stores them as rejects, and they are quarantined with their raw line.
"""

from __future__ import annotations

import codecs
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.duck import one_thread, sql_literal, threads
from retail_lake.ingest._errors import IngestFailedError, RejectedFileError
from retail_lake.ingest._parts import Dialect, copy_in_parts, cut_points, raw_view, sniff_dialect
from retail_lake.ingest._prepare import (
    Limits,
    Prepared,
    check_width,
    detect_encoding,
    drop_first_line,
    excel_separator_line,
    gunzip,
    raw_lines,
    rewrite_lines,
    transcode_utf16,
    universal_newlines,
)
from retail_lake.ingest._rows import table_from_rows
from retail_lake.schemas import Layout, Table, normalise_header

if TYPE_CHECKING:
    import duckdb

_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 20480  # the rows DuckDB's sniffer reads to decide the dialect
MAX_PARTS = 4  # a large CSV is copied in at most this many parts at once (one per DuckDB thread)


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
    encoding: str = "utf-8"
    encoding_source: str = "default"  # 'default' (UTF-8 read as is) | 'detected' | 'given'
    layout: Layout | None = None  # the known public layout the headers name (lake_schemas ``layouts``)
    delimiter: str = ""  # a CSV's field delimiter, as sniffed ('' for Parquet)


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
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 (BOM) is transcoded
        raise RejectedFileError("not a CSV or Parquet file (binary content)")


def alias_index(spec: Table) -> dict[str, str]:
    """Normalised header -> canonical column, from the column names and aliases in lake_schemas."""
    index: dict[str, str] = {}
    for col in spec.input_columns:
        for name in (col.name, *col.aliases):
            index.setdefault(normalise_header(name), col.name)
    return index


def map_headers(headers: list[str], spec: Table, layout: Layout | None = None) -> tuple[dict[str, str], list[str]]:
    """Match headers case/space-insensitively with aliases; exact names win over aliases; the known
    ``layout``'s own header meanings (Online Retail II's `Price` is a unit price) win over both.
    Between equal matches (`invoice_no` and `Invoice No`) the first column wins, as for two headers
    spelled the same, and the others are reported as ignored."""
    index = alias_index(spec)
    overrides = {normalise_header(h): c for h, c in (layout.headers if layout else {}).items()}
    index |= overrides
    mapping: dict[str, str] = {}
    ignored: list[str] = []
    exact: dict[str, str] = {}
    for h in headers:
        if normalise_header(h) in spec.column_names and normalise_header(h) not in overrides:
            exact.setdefault(normalise_header(h), h)
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


def _csv_options(limits: Limits) -> str:
    """How every CSV is read, whatever its dialect: all text, a header, short rows rejected (not
    padded), bad rows kept aside instead of failing the file."""
    return (
        "header = true, all_varchar = true, skip = 0, null_padding = false, ignore_errors = true, "
        f"compression = 'none', max_line_size = {int(limits.max_line_bytes)}"
    )


def _csv_relation(path: Path, dialect: Dialect, limits: Limits) -> str:
    return (f"read_csv({sql_literal(str(path))}, {_csv_options(limits)}, store_rejects = true, "
            f"rejects_table = 'csv_reject_errors', rejects_scan = 'csv_reject_scans', {dialect.options()})")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _is_transient(exc: BaseException) -> bool:
    """DuckDB errors a retry may fix: memory, disk, interruption (not the file's content)."""
    import duckdb

    transient = tuple(
        getattr(duckdb, name) for name in ("OutOfMemoryException", "IOException", "InterruptException")
        if hasattr(duckdb, name)
    )
    return isinstance(exc, transient) and "CSV Error" not in str(exc)


class _LineTooLong(RejectedFileError):
    """DuckDB gave up on the whole file because one line is longer than max_line_size."""


class _NoDialect(RejectedFileError):
    """DuckDB found no way to split the file into lines and fields (mixed line ends do this)."""


def _unreadable(exc: BaseException, file_format: str) -> Exception:
    # DuckDB's own message for an over-long line; every sniffer failure also ends with the hint "Be
    # sure that the maximum line size is set ...", which is no evidence of a long line.
    if "maximum line size of" in str(exc).lower():
        return _LineTooLong(f"unreadable {file_format} file: a line is longer than the line limit")
    if _is_transient(exc):
        return IngestFailedError(f"reading the {file_format} file failed: {_first_line(exc)}")
    if any(m in str(exc) for m in ("not possible to automatically detect", "reached an invalid state")):
        return _NoDialect(f"unreadable {file_format} file: {_first_line(exc)}")
    return RejectedFileError(f"unreadable {file_format} file: {_first_line(exc)}")


def prepare_csv(path: Path, file_format: str, workdir: Path, limits: Limits, encoding: str | None) -> Prepared:
    """The plain UTF-8 CSV DuckDB reads first: gunzipped (within limits), UTF-16 or a given legacy
    encoding transcoded. The usual UTF-8 .csv is read where it is."""
    prepared = Prepared(path)
    if file_format == "csv.gz":
        plain = workdir / "upload.csv"
        prepared.uncompressed_bytes = gunzip(path, plain, limits)
        prepared.path = plain
    with open(prepared.path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if excel_separator_line(head):
        # Excel's `sep=;` hint line comes before the header; DuckDB's sniffer finds the delimiter itself.
        drop_first_line(prepared.path, workdir / "header-first.csv")
        prepared.path = workdir / "header-first.csv"
        with open(prepared.path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        transcode_utf16(prepared.path, workdir / "utf16.csv")
        prepared.path, prepared.encoding, prepared.encoding_source = workdir / "utf16.csv", "utf-16", "detected"
        with open(prepared.path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    check_width(head.removeprefix(b"\xef\xbb\xbf"), limits)
    if encoding and codecs.lookup(encoding).name != "utf-8":
        target = workdir / "transcoded.csv"
        prepared.replaced = rewrite_lines(prepared.path, target, codecs.lookup(encoding).name, limits)
        prepared.path, prepared.encoding, prepared.encoding_source = target, codecs.lookup(encoding).name, "given"
    elif encoding:
        prepared.encoding_source = "given"
    return prepared


def _read_csv_table(
    con: duckdb.DuckDBPyConnection, path: Path, spec: Table, limits: Limits, workdir: Path
) -> ReadResult:
    """``raw`` and ``rejects`` from one CSV file (DuckDB's reject tables are reset first)."""
    con.execute("DROP TABLE IF EXISTS csv_reject_errors")
    con.execute("DROP TABLE IF EXISTS csv_reject_scans")
    # Sniffed once; every read of the file (or of its parts) then takes the same dialect explicitly.
    try:
        dialect = sniff_dialect(con, path, f"{_csv_options(limits)}, sample_size = {_SNIFF_ROWS}")
    except Exception as exc:  # duckdb.Error subclasses; message is the useful part
        raise _unreadable(exc, "csv") from None
    cuts = cut_points(path, dialect, min(threads(con), MAX_PARTS), workdir)

    def copy_parts(select_list: str) -> bool:
        return copy_in_parts(con, path, dialect, _csv_options(limits), select_list, workdir, cuts or [])

    result = _load_table(con, _csv_relation(path, dialect, limits), "csv", spec, workdir,
                         copy_parts=copy_parts if cuts else None)
    result.delimiter = dialect.delimiter
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
    return result


def _load_table(
    con: duckdb.DuckDBPyConnection, relation: str, file_format: str, spec: Table, workdir: Path,
    copy_parts: Callable[[str], bool] | None = None,
) -> ReadResult:
    try:
        raw_names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
    except Exception as exc:  # duckdb.Error subclasses; message is the useful part
        raise _unreadable(exc, file_format) from None
    headers = [h.replace("\ufeff", "").strip() for h in raw_names]
    layout = spec.layout_of(headers)
    mapping, ignored = map_headers(headers, spec, layout)
    missing = [c.name for c in spec.input_columns if c.input == "required" and c.name not in mapping]
    if "price" in missing and "unit_price" in mapping:
        missing.remove("price")
    raw_headers = dict(zip(headers, raw_names, strict=True))
    selects = [f"CAST({_quote(raw_headers[h])} AS VARCHAR) AS {c}" for c, h in mapping.items()]
    selects += [f"CAST(NULL AS VARCHAR) AS {c.name}" for c in spec.input_columns if c.name not in mapping]
    result = ReadResult(file_format, mapping, headers, ignored, missing, layout=layout)
    if copy_parts and copy_parts(", ".join(selects)):
        return result  # a large CSV cut into parts, copied side by side (see _parts)
    # ``raw`` is a file, not a table: an uncompressed Parquet file in the work folder is read as fast
    # as a table (its dictionaries make the per-file DISTINCTs cheaper still) and takes the file's
    # text out of DuckDB's memory. Written in the source's order, so file_row_number is the row's
    # position in the file, exposed as ``rowid`` like a table's.
    # One thread: the copy keeps the file's order, so with two threads the second one's batches wait in
    # memory for the first's (peak RSS ~2.4x); the Parquet writer is the bottleneck either way, so
    # one thread takes the same time.
    local = workdir / "raw.parquet"
    with one_thread(con):
        try:
            con.execute(f"COPY (SELECT {', '.join(selects)} FROM {relation}) TO {sql_literal(str(local))} "
                        "(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 61440)")
        except Exception as exc:
            raise _unreadable(exc, file_format) from None
    raw_view(con, [local])
    return result


def load_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    file_format: str,
    spec: Table,
    *,
    workdir: Path,
    limits: Limits | None = None,
    encoding: str | None = None,
) -> ReadResult:
    """Create ``raw`` (one VARCHAR per mapped column, file order, ``rowid`` its 0-based position; a view
    over a Parquet file in ``workdir``) and table ``rejects`` (data_row,
    error_type, raw_line of every line the parser could not use).

    Insertion order is the file's order; the data row number of a parsed row is recovered later by
    adding back the rejected rows that came before it. DuckDB reads first; only when it reports a
    line it cannot take (too long, not UTF-8) does a streaming Python pass rewrite the file.
    """
    limits = limits or Limits()
    if file_format == "parquet":
        result = _load_table(con, f"read_parquet({sql_literal(str(path))})", file_format, spec, workdir)
        con.execute(
            "CREATE OR REPLACE TABLE rejects AS SELECT CAST(NULL AS BIGINT) AS data_row, "
            "CAST(NULL AS VARCHAR) AS error_type, CAST(NULL AS VARCHAR) AS raw_line WHERE false"
        )
        return _counted(con, result)

    prepared = prepare_csv(path, file_format, workdir, limits, encoding)
    try:
        result = _read_csv_table(con, prepared.path, spec, limits, workdir)
    except _LineTooLong:
        # A line longer than the limit: DuckDB gives up on the whole file, so the lines go through
        # Python once (each too-long line becomes a marker) and DuckDB reads the rest.
        target = workdir / "lines.csv"
        prepared.replaced |= rewrite_lines(prepared.path, target, "utf-8", limits)
        prepared.path = target
        result = _read_csv_table(con, prepared.path, spec, limits, workdir)
    except _NoDialect:
        # Mixed line ends (CRLF and LF lines, a bare CR) stop DuckDB on the whole file: read them all
        # as line breaks, as Python and pandas do, and read again.
        target = workdir / "newlines.csv"
        if not universal_newlines(prepared.path, target):
            raise
        prepared.path = target
        result = _read_csv_table(con, prepared.path, spec, limits, workdir)

    bad_text = con.execute("SELECT count(*) FROM rejects WHERE error_type LIKE '%INVALID ENCODING%'").fetchone()[0]
    if bad_text and prepared.encoding_source == "default":
        detected = detect_encoding(prepared.path)
        if detected != "utf-8":
            target = workdir / "transcoded.csv"
            prepared.replaced |= rewrite_lines(prepared.path, target, detected, limits)
            prepared.path, prepared.encoding, prepared.encoding_source = target, detected, "detected"
            result = _read_csv_table(con, prepared.path, spec, limits, workdir)
            bad_text = 0
    if bad_text:  # DuckDB shows undecodable bytes as '?': take the line's own bytes, escaped
        numbers = [r[0] + 1 for r in con.execute(
            "SELECT data_row FROM rejects WHERE error_type LIKE '%INVALID ENCODING%'").fetchall()]
        texts = raw_lines(prepared.path, set(numbers), limits.max_line_bytes)
        _set_reject_text(con, {n: ("INVALID ENCODING", t) for n, t in texts.items()})
    if prepared.replaced:
        _set_reject_text(con, {
            n: ("LINE SIZE OVER MAXIMUM" if r.rule == "line_too_long" else "INVALID ENCODING", r.raw_text)
            for n, r in prepared.replaced.items()
        })
    result.encoding = prepared.encoding
    result.encoding_source = prepared.encoding_source
    return _counted(con, result)


def _set_reject_text(con: duckdb.DuckDBPyConnection, lines: dict[int, tuple[str, str]]) -> None:
    """Give rejected lines (by 1-based line number) their own error type and raw text."""
    if not lines:
        return
    numbers = sorted(lines)
    table_from_rows(con, "reject_text", {"data_row": "BIGINT", "error_type": "VARCHAR", "raw_line": "VARCHAR"},
                    [(n - 1, lines[n][0], lines[n][1]) for n in numbers])
    con.execute(
        "UPDATE rejects SET error_type = t.error_type, raw_line = t.raw_line FROM reject_text t "
        "WHERE rejects.data_row = t.data_row"
    )


def _counted(con: duckdb.DuckDBPyConnection, result: ReadResult) -> ReadResult:
    result.rows_parsed = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    result.rows_unparseable = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    return result


def missing_columns_message(missing: list[str], spec: Table, headers: list[str]) -> str:
    """One line naming each missing required column and the names it could have had."""
    looked_for = "; ".join(f"{m} (or {', '.join(spec.column(m).aliases[:4])})" for m in missing)
    # one line whatever the header holds: control characters (a newline in a quoted name) escaped
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in ", ".join(headers)[:300])
    return f"missing required column(s): {looked_for}; header was: {shown}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
