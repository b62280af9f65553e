"""The dashboard page and its assets, served by the API itself (no CDN, works offline).

Why relative paths: behind API Gateway the app lives under a stage prefix (``/prod``), so the page
at ``.../dashboard`` loads ``dashboard/assets/...`` and calls ``api/v1/...`` relative to itself and
never needs to know the prefix. ``/dashboard/`` redirects (relatively) to ``/dashboard`` so those
relative paths always resolve from the same place.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# The page may change with every release, so browsers revalidate it; assets revalidate too (ETag -> 304)
# because their names carry no content hash.
_CACHE_CONTROL = "public, max-age=300, must-revalidate"

router = APIRouter(tags=["dashboard"])


@cache
def _asset(relative: str) -> tuple[bytes, str, str] | None:
    """(body, content type, ETag) of a file under the dashboard folder, or None; read once per container."""
    path = (DASHBOARD_DIR / relative).resolve()
    if DASHBOARD_DIR not in path.parents or not path.is_file():
        return None
    content_type = _CONTENT_TYPES.get(path.suffix.lower())
    if content_type is None:
        return None
    body = path.read_bytes()
    return body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _send(request: Request, relative: str) -> Response:
    found = _asset(relative)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no dashboard asset named {relative!r}")
    body, content_type, etag = found
    headers = {"ETag": etag, "Cache-Control": _CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=content_type, headers=headers)


@router.get("/dashboard", include_in_schema=True, summary="The dashboard page (HTML)",
            response_class=Response, responses={200: {"content": {"text/html": {}}}})
def dashboard_page(request: Request) -> Response:
    """The single-page dashboard; it reads only the aggregated /api/v1 endpoints."""
    return _send(request, "index.html")


@router.get("/dashboard/", include_in_schema=False)
def dashboard_slash(request: Request) -> RedirectResponse:
    """``/dashboard/`` -> ``../dashboard`` (relative, so a stage prefix survives), query string kept."""
    query = request.url.query
    return RedirectResponse("../dashboard" + (f"?{query}" if query else ""), status_code=307)


@router.get("/dashboard/assets/{asset_path:path}", include_in_schema=False)
def dashboard_asset(asset_path: str, request: Request) -> Response:
    """Scripts, styles and the vendored chart library, from the package's dashboard folder."""
    return _send(request, asset_path)
