"""Turning rows into answers: JSON or CSV bodies, the 6 MB cap, ETag / If-None-Match, gzip, caching.

Bodies are built with the standard json module straight from the rows (no pydantic per request:
the response models are the documented contract, checked by the schemathesis test).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from retail_lake.api._lake import GZIP_MIN_BYTES, ApiLake, Rendered
from retail_lake.query import TableVersion

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
# Cells of text columns starting with one of these are read as formulas by spreadsheets
# (OWASP "CSV injection"); they are prefixed with a quote. Numbers are never touched.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Payload:
    """What an endpoint answers: a JSON object, and for a list the columns and rows CSV is made of."""

    body: dict[str, Any]
    columns: list[str] | None = None
    rows: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def list_payload(columns: list[str], rows: list[dict[str, Any]], total: int, limit: int, offset: int) -> Payload:
    return Payload({"items": rows, "total": total, "limit": limit, "offset": offset}, columns, rows)


# --- bodies ---------------------------------------------------------------------------------------

def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _finite(value: Any) -> Any:
    """NaN and infinities as null (JSON has none), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump_json(obj: Any) -> bytes:
    try:
        text = json.dumps(obj, default=_default, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except ValueError:  # a NaN or infinity somewhere: rare, so cleaned only then
        text = json.dumps(_finite(obj), default=_default, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def csv_cell(value: Any) -> Any:
    """A CSV cell: text escaped against formula injection, everything else as JSON would write it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dump_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(row.get(c)) for c in columns] for row in rows)
    return out.getvalue().encode("utf-8")


def render(payload: Payload, fmt: str, max_bytes: int) -> Rendered:
    """The body in ``fmt``; a list over ``max_bytes`` is cut (``truncated``, ``next_offset``)."""
    if fmt == "csv" and payload.columns is not None:
        body = dump_csv(payload.columns, payload.rows or [])
        headers = dict(payload.headers)
        if len(body) > max_bytes:
            rows = _fit(payload.rows or [], max_bytes, lambda r: len(dump_csv(payload.columns or [], [r])))
            body = dump_csv(payload.columns, rows)
            headers |= {"X-Truncated": "true", "X-Next-Offset": str(payload.body.get("offset", 0) + len(rows))}
        return Rendered(body, CSV, headers)
    body = dump_json(payload.body)
    if len(body) > max_bytes and isinstance(payload.body.get("items"), list):
        items = _fit(payload.body["items"], max_bytes - 200, lambda r: len(dump_json(r)) + 1)
        cut = dict(payload.body, items=items, truncated=True,
                   next_offset=int(payload.body.get("offset", 0)) + len(items))
        body = dump_json(cut)
    return Rendered(body, JSON, dict(payload.headers))


def _fit(rows: list[Any], max_bytes: int, size: Callable[[Any], int]) -> list[Any]:
    used = 0
    for i, row in enumerate(rows):
        used += size(row)
        if used > max_bytes:
            return rows[:i]
    return rows


# --- answers --------------------------------------------------------------------------------------

def etag_of(request: Request, versions: dict[str, TableVersion], fmt: str) -> str:
    """A weak ETag: the URL (query sorted) and the versions of the tables the answer read."""
    query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    tags = ",".join(v.tag for _, v in sorted(versions.items()))
    digest = hashlib.sha1(f"{request.url.path}?{query}|{fmt}|{tags}".encode()).hexdigest()[:27]
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def cache_headers(lake: ApiLake, etag: str) -> dict[str, str]:
    # private: answers may sit behind an authorizer, so shared caches must not keep them.
    return {"ETag": etag, "Cache-Control": f"private, max-age={lake.settings.api_cache_max_age}",
            "Vary": "Accept-Encoding"}


def answer(request: Request, lake: ApiLake, tables: list[str], build: Callable[[], Payload], *,
           fmt: str = "json") -> Response:
    """A GET answer: 304 when the client has it, else the cached or freshly built body.

    The ETag is taken from the versions before reading; if a table moved to a new version while
    the answer was built, the answer carries the new versions' ETag and is not cached under the old.
    """
    versions = lake.require(tables)
    etag = etag_of(request, versions, fmt)
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=cache_headers(lake, etag))
    rendered = lake.cache.get(etag)
    if rendered is None:
        rendered = render(build(), fmt, lake.settings.api_max_response_bytes)
        after = lake.require(tables)
        if after == versions:
            lake.cache.put(etag, rendered)
        else:
            etag = etag_of(request, after, fmt)
    return send(request, lake, rendered, cache_headers(lake, etag), etag)


def send(request: Request, lake: ApiLake, rendered: Rendered, headers: dict[str, str], etag: str = "") -> Response:
    headers = {**headers, **rendered.headers}
    body = rendered.body
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        before = rendered.size
        body = rendered.gzipped()
        lake.cache.grew(etag, rendered, before)
        headers["Content-Encoding"] = "gzip"
    return Response(content=body, media_type=rendered.media_type, headers=headers)


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer that is not cached (errors, health, POST results)."""
    return Response(content=dump_json(body), status_code=status_code, media_type=JSON,
                    headers={"Cache-Control": "no-store", **(headers or {})})
