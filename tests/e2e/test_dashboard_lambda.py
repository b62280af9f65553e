"""The dashboard through the API Lambda itself: functions/api/app.py's handler, under the /prod stage.

The events are the ones `sam local generate-event` made (infra/events/apigw_http_api_proxy.json,
payload 2.0, and apigw_rest_proxy.json, payload 1.0), changed only in path and headers. The page's
relative URLs are resolved against the page's public URL (/prod/dashboard) exactly as a browser
does, and each must come back from the handler: every asset byte for byte, with gzip where the
client accepts it, and the API the page calls.
"""

from __future__ import annotations

import base64
import copy
import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "infra" / "events"
DASHBOARD = ROOT / "layers" / "retail_lake" / "api" / "dashboard"
PAGE = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/dashboard"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("dashboard-lambda")
    env = {k: v for k, v in os.environ.items() if k not in ("RETAIL_LAKE", "AWS_ENDPOINT_URL")}
    for args in (["generate", "--rows", "600", "--seed", "3", "--out", "sales.csv"], ["ingest", "sales.csv"],
                 ["analytics"]):
        proc = subprocess.run([sys.executable, "-m", "retail_lake.cli", *args, "--lake", "lake"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    return work / "lake"


@pytest.fixture(scope="module")
def handler(lake: Path):
    """A fresh import of functions/api/app.py, as a new container under the /prod stage would do it."""
    saved = {k: os.environ.get(k) for k in ("RETAIL_LAKE", "API_BASE_PATH")}
    os.environ.update(RETAIL_LAKE=str(lake), API_BASE_PATH="/prod")
    try:
        spec = importlib.util.spec_from_file_location(f"api_app_{uuid.uuid4().hex[:8]}", ROOT / "functions/api/app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return module.handler


def _event(version: str, path: str, query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A sam-generated event for the public path ``/prod<path>`` (payload 2.0 or 1.0)."""
    headers = headers or {}
    if version == "2.0":
        event = copy.deepcopy(json.loads((EVENTS / "apigw_http_api_proxy.json").read_text()))
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/prod{path}"
        event["requestContext"]["http"]["method"] = "GET"
        event["requestContext"]["stage"] = "prod"
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else None
        event["headers"] = headers
        event.pop("cookies", None)
        return event
    event = copy.deepcopy(json.loads((EVENTS / "apigw_rest_proxy.json").read_text()))
    event["httpMethod"] = "GET"
    event["requestContext"]["httpMethod"] = "GET"
    event["path"] = path
    event["requestContext"]["stage"] = "prod"
    event["requestContext"]["path"] = f"/prod{path}"
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    pairs = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    event["queryStringParameters"] = pairs or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in pairs.items()} or None
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event


def _call(handler, version: str, url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    assert parts.path.startswith("/prod/"), f"{url} left the stage"
    result = handler(_event(version, parts.path[len("/prod"):], parts.query, headers), None)
    head = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    if head.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return result["statusCode"], head, body


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_page_and_every_asset_through_the_handler_under_the_stage(handler, version: str):
    status, head, page = _call(handler, version, PAGE)
    assert status == 200 and head["content-type"].startswith("text/html")
    html = page.decode()
    assert html == (DASHBOARD / "index.html").read_text()
    refs = re.findall(r"""(?:src|href)="([^"#][^"]*)\"""", html)
    assets = [r for r in refs if r.startswith("dashboard/assets/")]
    assert len(assets) == 4  # uPlot's script and style, the page's script and style
    modules = re.findall(r'from "\./([\w.]+)"', (DASHBOARD / "app.js").read_text())
    assert modules == ["dates.js"]
    urls = [urljoin(PAGE, a) for a in assets] + [urljoin(urljoin(PAGE, "dashboard/assets/app.js"), "./dates.js")]
    for url in urls:
        status, head, body = _call(handler, version, url, {"accept-encoding": "gzip"})
        local = DASHBOARD / urlsplit(url).path.removeprefix("/prod/dashboard/assets/")
        assert status == 200 and body == local.read_bytes(), url
        assert head["etag"] and "max-age" in head["cache-control"]
        if len(body) > 1024:
            assert head.get("content-encoding") == "gzip", url  # the vendored library travels compressed
    # The API calls the page makes resolve under the stage too.
    status, _, body = _call(handler, version, urljoin(PAGE, "api/v1/customers/loyalty-analysis?limit=1000&offset=0"))
    assert status == 200 and {r["customer_type"] for r in json.loads(body)["items"]} == {"repeat", "one_time"}


def test_trailing_slash_redirects_relatively_and_unknown_assets_are_404(handler):
    status, head, _ = _call(handler, "2.0", PAGE + "/")
    assert status == 307 and head["location"] == "../dashboard"
    assert urljoin(PAGE + "/", head["location"]) == PAGE
    status, _, body = _call(handler, "2.0", PAGE + "/assets/missing.js")
    assert status == 404 and "missing.js" in json.loads(body)["message"]
    status, _, _ = _call(handler, "2.0", PAGE + "/assets/..%2F..%2Fapp.py")
    assert status == 404
