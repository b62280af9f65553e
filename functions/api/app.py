"""API Lambda: API Gateway (HTTP API payload 2.0 or REST payload 1.0) -> Mangum -> the FastAPI app.

Everything is built once per container, at import: the settings (the lake from $RETAIL_LAKE or
LAKE_BUCKET), the app and its lake reader (one in-memory DuckDB that keeps the table versions it
serves). ``lifespan="off"``: Mangum would otherwise run the app's startup and shutdown around every
invocation. ``api_gateway_base_path`` is the stage prefix to strip (API_BASE_PATH, e.g. ``/prod``);
the app puts it back as ``root_path`` so /docs and links keep it.
"""

from __future__ import annotations

from mangum import Mangum

from retail_lake.api.app import create_app
from retail_lake.config import Settings

settings = Settings.from_env()
app = create_app(settings)
handler = Mangum(app, api_gateway_base_path=settings.api_base_path or "/", lifespan="off")
