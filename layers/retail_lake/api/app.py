"""``create_app(settings)``: the FastAPI app of Retail Lake (every KPI under /api/v1, OpenAPI at /docs).

Call it once per process and keep the app: the lake reader (one in-memory DuckDB, the versions it
serves, the answer cache) is created here, so a Lambda container builds it at import time and every
invocation reuses it (Mangum runs with ``lifespan="off"``: nothing happens per invocation).

    uvicorn --factory retail_lake.api.app:create_app      # or: retail-lake serve
"""

from __future__ import annotations

import importlib
import logging
import threading

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from retail_lake.api._errors import ApiError, NotReady, validation_message
from retail_lake.api._lake import ApiLake, api_lake
from retail_lake.api._middleware import BodyLimit, StagePrefix
from retail_lake.api._render import json_response
from retail_lake.api.routes import dashboard
from retail_lake.config import Settings
from retail_lake.query import TableNotReady, UnknownColumn
from retail_lake.storage import StorageError

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
logger = logging.getLogger("retail_lake.api")

DESCRIPTION = """
The KPIs of the Retail Lake: store and region performance, RFM segments and customer value,
profitability, seasonality, payment mix, category insights, cohorts, a campaign simulator and the
trained models' predictions. Every answer is read from the lake's current table versions
(analytics tables are recomputed nightly, predictions weekly).

* **Lists** answer `{"items": [...], "total": N, "limit": L, "offset": O}`; items carry the table's
  columns (named as in `lake_schemas/`). `limit` defaults to 100 (at most 1000), `offset` to 0,
  `sort=col` / `sort=-col` orders by a column. Unknown query parameters are ignored.
* **CSV**: every list also answers `?format=csv` (`text/csv`, the same rows; text cells starting
  with `=`, `+`, `-` or `@` are prefixed with `'` against formula injection).
* **Caching**: every GET has an `ETag` made from the table versions it read and a `Cache-Control`
  header; send `If-None-Match` to get `304 Not Modified` until a table changes. Bodies over 1 KB are
  gzip-compressed for clients that accept it.
* **Errors** are JSON with a one-line `message`: 404 unknown id, 413 body over 1 MB, 422 invalid
  parameter (named, with the reason), 503 table not computed yet (run `retail-lake analytics`, or
  `retail-lake train` for predictions).
* An answer never exceeds the 6 MB Lambda limit: a page that would is cut and says `truncated`
  with the `next_offset` to continue from.
"""

TAGS = [
    {"name": "stores", "description": "Store (shopping mall) and region performance."},
    {"name": "customers", "description": "RFM segments, high-value customers, one customer's insights, loyalty "
     "and retention."},
    {"name": "analytics", "description": "RFM, profitability, seasonality, payment methods, categories, cohorts and "
     "the campaign simulator."},
    {"name": "predictions", "description": "What the weekly training job publishes (503 until it has run)."},
    {"name": "health", "description": "Is the lake readable, and what does every table hold."},
    {"name": "dashboard", "description": "The dashboard page (HTML), served by the API itself."},
]

# DuckDB errors that mean "cannot read right now" (a file or the network), not a bug in a query.
_DUCKDB_UNAVAILABLE = ("IOException", "HTTPException", "OutOfMemoryException", "InterruptException",
                       "ConnectionException")


def create_app(settings: Settings | None = None, *, lake: ApiLake | None = None,
               eager_routes: bool = False) -> FastAPI:
    """The API for ``settings.lake`` (default: Settings.from_env(), i.e. $RETAIL_LAKE or LAKE_BUCKET).

    ``eager_routes`` builds every route now instead of on first use (see LazyRoutes).
    """
    settings = settings or Settings.from_env()
    app = FastAPI(title="Retail Lake API", version="1.0", description=DESCRIPTION, openapi_tags=TAGS,
                  docs_url="/docs", redoc_url="/redoc", openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.lake = lake or api_lake(settings)

    routes = LazyRoutes(app)
    if eager_routes:
        routes.ensure_all()
    app.include_router(dashboard.router)
    app.add_api_route("/", _index, include_in_schema=False)
    build_openapi = app.openapi

    def openapi() -> dict:
        routes.ensure_all()  # the document lists every route, loaded or not
        return build_openapi()

    app.openapi = openapi  # type: ignore[method-assign]

    _add_error_handlers(app)
    # add_middleware: the last added runs first (outermost).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.api_cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.api_cors_origins),
                           allow_methods=["GET", "POST", "OPTIONS"], allow_headers=["*"],
                           expose_headers=["ETag", "X-Truncated", "X-Next-Offset"], max_age=600)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(LoadRoutes, routes=routes)
    app.add_middleware(StagePrefix, root_path=settings.api_base_path)
    return app


# Resource -> the module of its router (/api/v1/<resource>/...).
ROUTE_MODULES = {
    "stores": "retail_lake.api.routes.stores",
    "customers": "retail_lake.api.routes.customers",
    "analytics": "retail_lake.api.routes.analytics",
    "predictions": "retail_lake.api.routes.predictions",
    "health": "retail_lake.api.routes.health",
}
_WHOLE_API_PATHS = ("/openapi.json", "/docs", "/redoc")


class LazyRoutes:
    """Each resource's routes are built when a request first reaches it (or the OpenAPI document is).

    Why: FastAPI builds a pydantic adapter for every parameter and response model of a route when it
    is added (~300 ms for the whole API here); a Lambda container answering stores/performance builds
    only the stores routes during its cold start. Thread-safe; a route module is imported once.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.loaded: set[str] = set()
        self._lock = threading.Lock()

    def ensure(self, resource: str) -> None:
        if resource in self.loaded:
            return
        with self._lock:
            if resource not in self.loaded:
                module = importlib.import_module(ROUTE_MODULES[resource])
                self.app.include_router(module.router, prefix=API_PREFIX)
                self.loaded.add(resource)

    def ensure_all(self) -> None:
        for resource in ROUTE_MODULES:
            self.ensure(resource)

    def ensure_for(self, route_path: str) -> None:
        if route_path.startswith(API_PREFIX + "/"):
            resource = route_path[len(API_PREFIX) + 1:].split("/", 1)[0]
            if resource in ROUTE_MODULES:
                self.ensure(resource)
        elif route_path.startswith(_WHOLE_API_PATHS):
            self.ensure_all()


class LoadRoutes:
    """ASGI middleware in front of routing: loads the routes of the resource a request asks for."""

    def __init__(self, app: ASGIApp, routes: LazyRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            self.routes.ensure_for(path[len(root):] if root and path.startswith(root) else path)
        await self.app(scope, receive, send)


async def _index(request: Request) -> Response:
    """Links to what the API serves, with the stage prefix of this request (``/prod/docs``)."""
    root = request.scope.get("root_path", "").rstrip("/")
    return json_response({"name": "Retail Lake API", "docs": f"{root}/docs", "openapi": f"{root}/openapi.json",
                          "api": f"{root}{API_PREFIX}", "health": f"{root}{API_PREFIX}/health",
                          "dashboard": f"{root}/dashboard"})


def _add_error_handlers(app: FastAPI) -> None:
    """Every failure as JSON with a one-line ``message``; no traceback ever reaches a client."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        headers = {"Retry-After": "300"} if isinstance(exc, NotReady) else None
        return json_response(exc.body(), exc.status_code, headers)

    async def not_ready(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TableNotReady)
        return await api_error(request, NotReady(exc.table))

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type", "input")} for e in exc.errors()]
        return json_response({"detail": errors, "message": validation_message(errors)}, 422)

    async def unknown_column(request: Request, exc: Exception) -> Response:
        message = f"query parameter 'sort': {exc}"
        return json_response({"detail": [{"loc": ["query", "sort"], "msg": str(exc), "type": "value_error"}],
                              "message": message}, 422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such path: {request.url.path} (see {request.scope.get('root_path', '')}/docs)"
        if exc.status_code == 400 and detail == "There was an error parsing the body":  # undecodable bytes
            message = "request body: not valid JSON (UTF-8 expected)"
            return json_response({"detail": [{"loc": ["body"], "msg": message, "type": "json_invalid"}],
                                  "message": message}, 422)
        message = detail if isinstance(detail, str) else str(detail)
        return json_response({"detail": detail, "message": message}, exc.status_code, dict(exc.headers or {}))

    async def unavailable(request: Request, exc: Exception) -> Response:
        logger.warning("lake unavailable: %s: %s", type(exc).__name__, exc)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"the lake cannot be read right now ({type(exc).__name__}: {first})"
        return json_response({"detail": message, "message": message}, 503, {"Retry-After": "30"})

    async def duckdb_error(request: Request, exc: Exception) -> Response:
        if type(exc).__name__ in _DUCKDB_UNAVAILABLE:
            return await unavailable(request, exc)
        logger.exception("query failed")
        message = f"internal error while answering ({type(exc).__name__})"
        return json_response({"detail": message, "message": message}, 500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(TableNotReady, not_ready)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(UnknownColumn, unknown_column)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(StorageError, unavailable)
    app.add_exception_handler(OSError, unavailable)
    app.add_exception_handler(duckdb.Error, duckdb_error)
