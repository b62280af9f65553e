"""Streaming passes that turn an upload into a plain UTF-8 CSV DuckDB can read, within limits.

DuckDB reads plain UTF-8 CSV fast and in parallel, so the usual upload goes to it untouched. Only
what it cannot take goes through Python first, always as a stream (bounded memory, never the whole
file in memory):

- ``.csv.gz``: decompressed to the work folder, counting bytes, so a gzip bomb is refused as soon as
  it crosses the limits (absolute size, and ratio to the compressed size past a floor);
- a legacy encoding (Windows-1252/1254, latin-1), detected from the bytes or given with
  ``--encoding``: transcoded line by line (DuckDB's encodings extension is 336 MB, too big for a
  Lambda);
- lines DuckDB would refuse (longer than the line limit, bytes that are not text in the file's
  encoding): replaced by a one-field marker line that DuckDB rejects as a short row, and their raw
  bytes kept (escaped) so the row is quarantined with its own text and rule.
"""

from __future__ import annotations

import codecs
import gzip
import re
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from retail_lake.ingest._errors import RejectedFileError

CHUNK = 1024 * 1024
# A decompressed stream is measured against the ratio only past this size: small files compress
# very well (a header and a few repeated rows) without being bombs.
RATIO_FLOOR_BYTES = 256 * 1024 * 1024
# The one-field line that stands in for a line DuckDB must not see: DuckDB rejects it as a row with
# missing columns (every sales/stores file has several), and its number stays the line's number.
MARKER = b"retail-lake:line-replaced"
LEGACY_ENCODINGS = ("cp1254", "cp1252", "latin-1")
# Bytes that are Turkish letters in Windows-1254 (Ğ İ Ş ğ ı ş) and rare Icelandic ones in 1252.
_TURKISH_BYTES = frozenset(b"\xd0\xdd\xde\xf0\xfd\xfe")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class Limits:
    """What an upload may cost before it is refused (Settings: INGEST_MAX_*)."""

    max_uncompressed_bytes: int = 4 * 1024**3
    max_compression_ratio: float = 200.0
    max_line_bytes: int = 2_000_000
    max_columns: int = 1000
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES


@dataclass
class ReplacedLine:
    """A line DuckDB will see as ``MARKER``: its 1-based line number (the header is line 1), rule and text."""

    line: int
    rule: str
    raw_text: str


@dataclass
class Prepared:
    """The file DuckDB reads, the encoding it was read in, and the lines replaced on the way."""

    path: Path
    encoding: str = "utf-8"
    encoding_source: str = "default"  # 'default' | 'detected' | 'given'
    replaced: dict[int, ReplacedLine] = field(default_factory=dict)
    uncompressed_bytes: int | None = None


_EXCEL_SEPARATOR_LINE = re.compile(rb"^(?:\xef\xbb\xbf)?sep=.\r?\n", re.IGNORECASE)


def excel_separator_line(head: bytes) -> bool:
    """True when the file starts with Excel's delimiter hint (``sep=;``), a line before the header."""
    return _EXCEL_SEPARATOR_LINE.match(head) is not None


def drop_first_line(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` without its first line (streamed)."""
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        fin.readline()
        shutil.copyfileobj(fin, fout, 1 << 20)


def escaped(data: bytes) -> str:
    """Bytes as text: UTF-8 where they are UTF-8, ``\\xNN`` escapes where not (never '?')."""
    return data.decode("utf-8", "backslashreplace")


def gunzip(src: Path, dest: Path, limits: Limits) -> int:
    """Decompress ``src`` to ``dest``; RejectedFileError as soon as a limit is crossed."""
    compressed = max(src.stat().st_size, 1)
    total = 0
    try:
        with gzip.open(src, "rb") as fh, open(dest, "wb") as out:
            while chunk := fh.read(CHUNK):
                total += len(chunk)
                if total > limits.max_uncompressed_bytes:
                    raise RejectedFileError(
                        f"gzip file refused: it decompresses to more than {limits.max_uncompressed_bytes:,} bytes "
                        f"(limit INGEST_MAX_UNCOMPRESSED_BYTES; {compressed:,} bytes compressed)"
                    )
                if total > limits.ratio_floor_bytes and total > limits.max_compression_ratio * compressed:
                    raise RejectedFileError(
                        f"gzip file refused: it decompresses more than {limits.max_compression_ratio:g}x "
                        f"({total:,} bytes from {compressed:,}; limit INGEST_MAX_COMPRESSION_RATIO): a gzip bomb?"
                    )
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        dest.unlink(missing_ok=True)
        raise RejectedFileError(f"corrupt gzip file ({exc})") from None
    except RejectedFileError:
        dest.unlink(missing_ok=True)
        raise
    return total


def header_fields(head: bytes) -> int:
    """Fields on the first line (comma, semicolon, tab or pipe: whichever splits it most)."""
    first = head.split(b"\n", 1)[0]
    return max(first.count(sep) for sep in (b",", b";", b"\t", b"|")) + 1


def check_width(head: bytes, limits: Limits) -> None:
    """Refuse a file wider than the limit before DuckDB tries to sniff thousands of columns."""
    if b"\n" not in head and len(head) >= limits.max_line_bytes:
        raise RejectedFileError(f"the header line is longer than {limits.max_line_bytes:,} bytes: not a sales file")
    width = header_fields(head)
    if width > limits.max_columns:
        raise RejectedFileError(
            f"the header has {width:,} columns; an upload may have at most {limits.max_columns:,} "
            f"(limit INGEST_MAX_COLUMNS): keep the sales columns and drop the rest"
        )


def detect_encoding(path: Path) -> str:
    """'utf-8' when the file's non-ASCII bytes are UTF-8 (or there are none), else the legacy
    encoding that reads it: cp1254 when Turkish letters show, cp1252 when every byte is defined
    there, latin-1 otherwise.

    A file with some valid UTF-8 sequences and some invalid bytes stays UTF-8: its broken lines are
    quarantined one by one (``invalid_encoding``) rather than the whole file mis-read.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    valid_multibyte = 0
    legacy_bytes: set[int] = set()
    invalid = False
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if chunk.isascii():
                continue
            valid_multibyte += len(_UTF8_MULTIBYTE.findall(chunk))
            legacy_bytes.update(b for b in chunk if b >= 0x80)
            if not invalid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    invalid = True
    if not invalid or valid_multibyte > 0:
        return "utf-8"
    if legacy_bytes & _TURKISH_BYTES:
        return "cp1254"
    try:
        bytes(sorted(legacy_bytes)).decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _read_line(fh: BinaryIO, limit: int) -> tuple[bytes, bool]:
    """(line, too_long). A too-long line is returned cut at ``limit`` and the rest is skipped, so a
    line of any length costs at most ``limit`` bytes of memory."""
    line = fh.readline(limit + 1)
    if len(line) <= limit or line.endswith(b"\n"):
        return line, False
    while True:  # skip to the end of the line
        rest = fh.readline(CHUNK)
        if not rest or rest.endswith(b"\n"):
            break
    return line[:limit], True


def rewrite_lines(src: Path, dest: Path, encoding: str, limits: Limits) -> dict[int, ReplacedLine]:
    """Copy ``src`` to ``dest`` as UTF-8, line by line: decoded from ``encoding``, with too-long
    and undecodable lines replaced by ``MARKER`` (same line number). Returns the replaced lines."""
    replaced: dict[int, ReplacedLine] = {}
    number = 0
    with open(src, "rb") as fh, open(dest, "wb") as out:
        while True:
            line, too_long = _read_line(fh, limits.max_line_bytes)
            if not line:
                break
            number += 1
            ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
            body = line[: len(line) - len(ending)] if ending else line
            if number == 1 and encoding == "utf-8":
                body = body.removeprefix(codecs.BOM_UTF8)
            if too_long:
                replaced[number] = ReplacedLine(number, "line_too_long", _decoded_or_escaped(body, encoding))
                out.write(MARKER + (ending or b"\n"))
                continue
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError:
                replaced[number] = ReplacedLine(number, "invalid_encoding", escaped(body))
                out.write(MARKER + ending)
                continue
            out.write(text.encode("utf-8") + ending if encoding != "utf-8" else line)
    if 1 in replaced:
        problem = (f"is longer than {limits.max_line_bytes:,} bytes" if replaced[1].rule == "line_too_long"
                   else f"is not {encoding} text")
        raise RejectedFileError(f"the header line {problem}: not a sales file")
    return replaced


def universal_newlines(src: Path, dest: Path) -> bool:
    """Copy ``src`` to ``dest`` with every CRLF and bare CR written as LF, as Python's csv module and
    pandas read line ends. DuckDB's parser stops on a file that mixes them (CRLF and LF lines, an old
    Mac CR), so such a file would otherwise be lost whole. False (nothing to change) without a CR."""
    found = pending_cr = False
    with open(src, "rb") as fh, open(dest, "wb") as out:
        while chunk := fh.read(CHUNK):
            if pending_cr:
                chunk = b"\r" + chunk
            pending_cr = chunk.endswith(b"\r")  # its LF may start the next chunk
            if pending_cr:
                chunk = chunk[:-1]
            if b"\r" in chunk:
                found = True
                chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            out.write(chunk)
        if pending_cr:
            out.write(b"\n")
    return found or pending_cr


def _decoded_or_escaped(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        return escaped(body)


def raw_lines(path: Path, numbers: set[int], limit: int) -> dict[int, str]:
    """The raw text (escaped, cut at ``limit`` bytes) of the given 1-based line numbers, streamed."""
    found: dict[int, str] = {}
    if not numbers:
        return found
    last = max(numbers)
    with open(path, "rb") as fh:
        number = 0
        while number < last:
            line, _ = _read_line(fh, limit)
            if not line:
                break
            number += 1
            if number in numbers:
                found[number] = escaped(line.rstrip(b"\r\n"))
    return found


def transcode_utf16(src: Path, dest: Path) -> None:
    """A UTF-16 file (with its BOM) re-encoded as UTF-8, streamed."""
    decoder = codecs.getincrementaldecoder("utf-16")(errors="backslashreplace")
    with open(src, "rb") as fh, open(dest, "wb") as out:
        while chunk := fh.read(CHUNK):
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
