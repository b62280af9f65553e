"""A large CSV copied to ``raw`` in parts side by side, one part per DuckDB thread.

DuckDB's CSV reader gives no row number, so ``raw`` gets the file's order from an ordered copy
into Parquet, whose ``file_row_number`` is the row's position. An ordered copy with two threads
holds the second thread's batches in memory until the first's are written (peak RSS ~2.4x), so it
runs on one thread, and the CSV parse is its bottleneck (1M rows: ~0.7 s of a ~1.9 s ingest).

Here the file is cut at line boundaries into one part per thread (each a plain CSV with the
header in front), and each part is copied by its own one-thread COPY at the same time, into its
own Parquet file. ``raw`` is the parts' union with each part's row numbers shifted by the rows
before it, and the parser's rejects get their line numbers shifted likewise, so every number
equals what one whole-file read gives. The lines DuckDB counts in a part (blank lines included)
are learnt from DuckDB itself: every part but the last ends with a sentinel line of one field,
which DuckDB rejects as a row with missing columns, and the sentinel's line number is the part's
line count plus one.

A cut is only made where a line break is certainly the end of a row: when the file is read
without a quote character (the sniffer found none in its sample, so quotes are read as text), or
when the quote character occurs nowhere in the file. A quoted field may span lines, and whether a
quote opens one depends on where it stands in the row (DuckDB reads `ab"c` as text), which a byte
scan cannot tell; such files are read whole, as before.
"""

from __future__ import annotations

import mmap
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake.duck import one_thread, sql_literal

if TYPE_CHECKING:
    import duckdb

# Below this size one thread copies the file in well under a second: the parts are not worth it.
PARTS_MIN_BYTES = 16 * 1024 * 1024
# One line of one field, after the last line of every part but the last: DuckDB rejects it
# (every sales and stores file has several columns) and its line number counts the part's lines.
SENTINEL = "retail-lake-part-end"
# The parts are a second copy of the file while ``raw`` (about the file's size again) is written:
# the work folder must have room for both, with a margin, or the file is read whole.
DISK_FACTOR = 3
_EMPTY = "(empty)"  # how sniff_csv shows a quote, escape or comment character that is not set


@dataclass(frozen=True)
class Dialect:
    """How DuckDB's sniffer says the file is written, passed on explicitly to every read of it, so
    the whole file and its parts are read the same way (and no read sniffs again)."""

    delimiter: str
    quote: str
    escape: str
    new_line: str
    comment: str
    columns: tuple[str, ...]

    def options(self) -> str:
        columns = ", ".join(f"{sql_literal(name)}: 'VARCHAR'" for name in self.columns)
        return (
            f"auto_detect = false, delim = {sql_literal(self.delimiter)}, quote = {sql_literal(self.quote)}, "
            f"escape = {sql_literal(self.escape)}, new_line = {sql_literal(self.new_line)}, "
            f"comment = {sql_literal(self.comment)}, columns = {{{columns}}}"
        )


def sniff_dialect(con: duckdb.DuckDBPyConnection, path: Path, sniff_options: str) -> Dialect:
    """The sniffer's reading of ``path`` (DuckDB errors propagate: the caller names them)."""
    delimiter, quote, escape, new_line, comment, columns = (
        "" if value == _EMPTY else value for value in con.execute(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, Columns "
            f"FROM sniff_csv({sql_literal(str(path))}, {sniff_options})"
        ).fetchone()
    )
    return Dialect(delimiter, quote, escape, new_line, comment, tuple(c["name"] for c in columns))


def cut_points(path: Path, dialect: Dialect, parts: int, workdir: Path | None = None) -> list[int] | None:
    """Byte offsets where parts 1.. start (each just after a line break), or None when the file
    cannot be cut safely (see the module docstring), is too small to cut, or ``workdir`` has no room
    for the parts beside ``raw`` (a 2 GB upload in a Lambda's 6 GB /tmp is read whole)."""
    size = path.stat().st_size
    if parts < 2 or size < PARTS_MIN_BYTES or len(dialect.columns) < 2 or dialect.comment:
        return None
    if workdir is not None and shutil.disk_usage(workdir).free < DISK_FACTOR * size:
        return None
    if dialect.new_line not in ("\\n", "\\r\\n") or dialect.delimiter in SENTINEL:
        return None
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if dialect.quote and data.find(dialect.quote.encode()) >= 0:
            return None
        if dialect.escape and dialect.escape != dialect.quote and data.find(dialect.escape.encode()) >= 0:
            return None
        header_end = data.find(b"\n")
        if header_end < 0:
            return None
        cuts: list[int] = []
        for i in range(1, parts):
            line_end = data.find(b"\n", max(size * i // parts, (cuts[-1] if cuts else header_end + 1)))
            if line_end < 0 or line_end + 1 >= size:
                break
            cuts.append(line_end + 1)
    return cuts or None


def _write_part(source: Path, target: Path, header_end: int, start: int, end: int, sentinel: bytes | None) -> None:
    """The header line, bytes start..end of the file, then the sentinel line (kernel-side copies)."""
    with open(source, "rb") as src, open(target, "wb") as out:
        for first, last in ((0, header_end), (start, end)) if start > 0 else ((0, end),):
            offset, left = first, last - first
            while left > 0:
                copied = os.copy_file_range(src.fileno(), out.fileno(), left, offset)
                if copied == 0:
                    raise OSError(f"{source}: file shorter than expected")
                offset += copied
                left -= copied
        if sentinel:
            out.write(sentinel)


def copy_in_parts(
    con: duckdb.DuckDBPyConnection, path: Path, dialect: Dialect, read_options: str, select_list: str,
    workdir: Path, cuts: list[int],
) -> bool:
    """Copy ``select_list`` of every part to its own raw-N.parquet at once, then create view ``raw``
    (rowid: the row's position in the whole file) and table ``csv_reject_errors`` (line: the line
    number in the whole file). False, with nothing created, when a part could not be read: the
    caller reads the whole file, and so reports the error as a whole-file read does."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header_end = len(fh.readline())
    ending = b"\r\n" if dialect.new_line == "\\r\\n" else b"\n"
    bounds = list(zip([0, *cuts], [*cuts, size], strict=True))
    part_files = [workdir / f"part-{i}.csv" for i in range(len(bounds))]
    raw_files = [workdir / f"raw-{i}.parquet" for i in range(len(bounds))]
    errors: list[BaseException] = []

    def copy_part(i: int) -> None:
        try:
            start, end = bounds[i]
            last = i == len(bounds) - 1
            _write_part(path, part_files[i], header_end, start, end, None if last else SENTINEL.encode() + ending)
            relation = (f"read_csv({sql_literal(str(part_files[i]))}, {read_options}, store_rejects = true, "
                        f"rejects_table = 'csv_reject_errors_{i}', rejects_scan = 'csv_reject_scans_{i}', "
                        f"{dialect.options()})")
            with con.cursor() as cur:
                cur.execute(f"COPY (SELECT {select_list} FROM {relation}) TO {sql_literal(str(raw_files[i]))} "
                            "(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 61440)")
                # The reject tables are temporary, so the cursor's own: kept as a table of the database.
                cur.execute(f"CREATE OR REPLACE TABLE part_rejects_{i} AS "
                            f"SELECT line, error_type, csv_line FROM csv_reject_errors_{i}")
        except BaseException as exc:  # reported to the caller, which reads the whole file instead
            errors.append(exc)
        finally:
            part_files[i].unlink(missing_ok=True)

    with one_thread(con):  # each COPY on its own Python thread, one DuckDB thread each
        workers = [threading.Thread(target=copy_part, args=(i,)) for i in range(len(bounds))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    line_offsets = _line_offsets(con, len(bounds)) if not errors else None
    if line_offsets is None:
        for i in range(len(bounds)):
            con.execute(f"DROP TABLE IF EXISTS part_rejects_{i}")
            raw_files[i].unlink(missing_ok=True)
        return False

    raw_view(con, raw_files)
    con.execute(
        "CREATE OR REPLACE TABLE csv_reject_errors AS "
        + " UNION ALL ".join(
            f"SELECT line + {line_offsets[i]} AS line, error_type, csv_line FROM part_rejects_{i}"
            + ("" if i == len(bounds) - 1 else f" WHERE line < {line_offsets[i + 1] - line_offsets[i] + 2}")
            for i in range(len(bounds))
        )
    )
    for i in range(len(bounds)):
        con.execute(f"DROP TABLE part_rejects_{i}")
    return True


def raw_view(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """View ``raw`` over the Parquet copies of consecutive parts of a file (or of the whole file),
    each written in its part's order: ``rowid`` is the row's 0-based position in the whole file, its
    part's ``file_row_number`` plus the rows of the parts before it."""
    selects, offset = [], 0
    for i, path in enumerate(files):
        selects.append(f"SELECT file_row_number + {offset} AS rowid, * EXCLUDE (file_row_number) "
                       f"FROM read_parquet({sql_literal(str(path))}, file_row_number = true)")
        if i < len(files) - 1:
            offset += con.execute(f"SELECT count(*) FROM read_parquet({sql_literal(str(path))})").fetchone()[0]
    con.execute("CREATE OR REPLACE VIEW raw AS " + " UNION ALL ".join(selects))


def _line_offsets(con: duckdb.DuckDBPyConnection, parts: int) -> list[int] | None:
    """What to add to a line number of each part to make it the whole file's: the lines of the parts
    before it, learnt from where DuckDB put their sentinels (None when a sentinel was not rejected as
    its own line, which would mean the cut was not where a row ends)."""
    offsets = [0]
    for i in range(parts - 1):
        last_line, sentinel_line = con.execute(
            f"SELECT max(line), max(line) FILTER (WHERE trim(csv_line, chr(10) || chr(13)) = {sql_literal(SENTINEL)}) "
            f"FROM part_rejects_{i}"
        ).fetchone()
        if sentinel_line is None or sentinel_line != last_line:
            return None
        # The part's line 2 (its first data line) is the whole file's line offsets[i] + 2; the
        # sentinel stands where the next part's first data line is in the whole file.
        offsets.append(offsets[-1] + sentinel_line - 2)
    return offsets
