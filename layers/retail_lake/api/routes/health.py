"""/api/v1/health: the lake is readable, and each table's run id, rows and computed_at.

200 whenever the lake can be read, even with tables missing (it lists them); 503 when it cannot.
Reads only the tables' pointers (``_current.json``), never the tables themselves, so it stays cheap
on a cold container.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter

from retail_lake import schemas
from retail_lake.api._render import json_response
from retail_lake.api.deps import LakeDep
from retail_lake.api.schemas import ErrorBody, Health
from retail_lake.layout import ANALYTICS_PREFIX
from retail_lake.storage import StorageError
from retail_lake.versions import read_pointer

router = APIRouter(tags=["health"])
API_VERSION = "1"


_EXAMPLE = {"status": "degraded", "lake": "s3://retail-lake-prod-lake-123456789012-eu-west-1", "lake_readable": True,
            "tables": [{"table": "store_performance", "layer": "analytics", "ready": True,
                        "run_id": "20230309T020000000000Z-1a2b", "rows": 10,
                        "computed_at": "2023-03-09T02:00:41.201945+00:00"},
                       {"table": "customer_clv", "layer": "predictions", "ready": False, "run_id": None,
                        "rows": None, "computed_at": None}],
            "missing": ["customer_clv"], "version": API_VERSION}


@router.get("/health", response_model=Health,
            responses={200: {"content": {"application/json": {"example": _EXAMPLE}}},
                       503: {"model": ErrorBody, "description": "The lake cannot be read."}},
            summary="Lake reachable; every table's run id, rows and computed_at")
async def health(lake: LakeDep) -> object:
    """Whether the lake can be read and, for every analytics and prediction table, the version being
    published now (run id, rows, when it was computed). Tables not computed yet are listed under
    `missing` (status 'degraded'); the answer is still 200. 503 only when the lake itself cannot be
    read."""
    storage = lake.reader.storage
    names = [t.name for t in schemas.all_tables().values() if t.versioned]
    try:
        root = storage.local_path("")
        if root is not None and not root.is_dir():
            raise FileNotFoundError(f"no lake folder at {root}")
        if root is None:
            storage.list(ANALYTICS_PREFIX + "_")  # a small listing: is the bucket there and readable?
        with ThreadPoolExecutor(max_workers=8) as pool:  # S3: one GET per pointer, side by side
            pointers = dict(zip(names, pool.map(lambda n: read_pointer(storage, n), names), strict=True))
    except (StorageError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        message = f"the lake {lake.uri} cannot be read: {type(exc).__name__}: {first}"
        return json_response({"detail": message, "message": message}, 503)
    tables = []
    for name in names:
        pointer = pointers[name] or {}
        tables.append({"table": name, "layer": schemas.table(name).layer, "ready": bool(pointer),
                       "run_id": pointer.get("run_id"), "rows": pointer.get("rows"),
                       "computed_at": pointer.get("written_at")})
    missing = [t["table"] for t in tables if not t["ready"]]
    analytics_missing = [n for n in missing if schemas.table(n).layer == "analytics"]
    body = {"status": "degraded" if analytics_missing else "ok", "lake": lake.uri, "lake_readable": True,
            "tables": tables, "missing": missing, "version": API_VERSION}
    return json_response(body)
