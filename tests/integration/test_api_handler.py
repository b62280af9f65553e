"""functions/api/app.py's ``handler`` with the events `sam local generate-event` made (infra/events/
apigw_http_api_proxy.json: HTTP API payload 2.0; apigw_rest_proxy.json: REST payload 1.0), changed only
in path, query and headers. On a local lake and on an S3 lake behind moto's ThreadedMotoServer
(AWS_ENDPOINT_URL). Covers gzip and CSV bodies through both payload versions, the stage prefix
(/prod) in /docs, OpenAPI servers and links, and that nothing runs per invocation (lifespan off).
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.api.conftest import build_lake

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def local_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("api-handler"))


def load_handler(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """A fresh import of functions/api/app.py with ``env`` (as a new Lambda container would)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = ROOT / "functions" / "api" / "app.py"
    spec = importlib.util.spec_from_file_location(f"api_app_{uuid.uuid4().hex[:8]}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def http_event(load_event: Callable[[str], dict], path: str, query: str = "", headers: dict | None = None,
               stage_prefix: str = "") -> dict[str, Any]:
    event = load_event("apigw_http_api_proxy.json")
    event["rawPath"] = stage_prefix + path
    event["requestContext"]["http"]["path"] = stage_prefix + path
    if stage_prefix:
        event["requestContext"]["stage"] = stage_prefix.strip("/")
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    event["headers"] = headers or {}
    return event


def rest_event(load_event: Callable[[str], dict], path: str, query: dict | None = None,
               headers: dict | None = None) -> dict[str, Any]:
    event = load_event("apigw_rest_proxy.json")
    stage = event["requestContext"]["stage"]
    event["path"] = path
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["requestContext"]["path"] = f"/{stage}{path}"
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()} or None
    event["headers"] = headers or {}
    event["multiValueHeaders"] = {k: [v] for k, v in (headers or {}).items()}
    return event


def body_of(result: dict[str, Any]) -> bytes:
    raw = result.get("body") or ""
    data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return gzip.decompress(data) if headers.get("content-encoding") == "gzip" else data


def header(result: dict[str, Any], name: str) -> str | None:
    return {k.lower(): v for k, v in (result.get("headers") or {}).items()}.get(name)


def test_both_payload_versions_answer_the_same(monkeypatch, load_event, local_lake: Path) -> None:
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake))
    v2 = app.handler(http_event(load_event, "/api/v1/stores/performance", "limit=2"), None)
    v1 = app.handler(rest_event(load_event, "/api/v1/stores/performance", {"limit": "2"}), None)
    assert v2["statusCode"] == v1["statusCode"] == 200
    b2, b1 = json.loads(body_of(v2)), json.loads(body_of(v1))
    assert b2["items"] == b1["items"] and [r["store"] for r in b2["items"]] == ["Kanyon", "Zorlu Center"]
    assert (b2["total"], b2["limit"], b2["offset"]) == (3, 2, 0)
    assert header(v2, "etag") and "max-age" in header(v2, "cache-control")


def test_gzip_and_csv_through_both_payload_versions(monkeypatch, load_event, local_lake: Path) -> None:
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake))
    gz = {"accept-encoding": "gzip"}
    for result in (app.handler(http_event(load_event, "/api/v1/analytics/rfm", headers=gz), None),
                   app.handler(rest_event(load_event, "/api/v1/analytics/rfm", headers=gz), None)):
        assert result["statusCode"] == 200 and header(result, "content-encoding") == "gzip"
        assert result["isBase64Encoded"] is True  # binary bodies go back base64-encoded
        assert json.loads(body_of(result))["total"] == 6
    for result in (app.handler(http_event(load_event, "/api/v1/analytics/rfm", "format=csv"), None),
                   app.handler(rest_event(load_event, "/api/v1/analytics/rfm", {"format": "csv"}), None),
                   app.handler(http_event(load_event, "/api/v1/analytics/rfm", "format=csv", gz), None)):
        assert result["statusCode"] == 200 and header(result, "content-type").startswith("text/csv")
        lines = body_of(result).decode().splitlines()
        assert lines[0].startswith("customer_id,recency_days") and len(lines) == 7
        assert any(line.startswith("'@C6,") for line in lines)


def test_if_none_match_gives_304_through_the_handler(monkeypatch, load_event, local_lake: Path) -> None:
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake))
    first = app.handler(http_event(load_event, "/api/v1/customers/insights/C1"), None)
    assert first["statusCode"] == 200 and json.loads(body_of(first))["segment"] == "Loyal Customers"
    again = app.handler(http_event(load_event, "/api/v1/customers/insights/C1",
                                   headers={"if-none-match": header(first, "etag")}), None)
    assert again["statusCode"] == 304


def test_a_stage_prefix_keeps_docs_and_links_working(monkeypatch, load_event, local_lake: Path) -> None:
    """HTTP API on a named stage: the path carries /prod; Mangum strips API_BASE_PATH and the app puts
    it back as root_path, so /prod/docs loads /prod/openapi.json and OpenAPI's server is /prod."""
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake), API_BASE_PATH="/prod")
    data = app.handler(http_event(load_event, "/api/v1/stores/performance", stage_prefix="/prod"), None)
    assert data["statusCode"] == 200 and json.loads(body_of(data))["total"] == 3
    docs = app.handler(http_event(load_event, "/docs", stage_prefix="/prod"), None)
    assert docs["statusCode"] == 200 and "/prod/openapi.json" in body_of(docs).decode()
    spec = json.loads(body_of(app.handler(http_event(load_event, "/openapi.json", stage_prefix="/prod"), None)))
    assert spec["servers"] == [{"url": "/prod"}] and "/api/v1/stores/performance" in spec["paths"]
    index = json.loads(body_of(app.handler(http_event(load_event, "/", stage_prefix="/prod"), None)))
    assert index["docs"] == "/prod/docs" and index["dashboard"] == "/prod/dashboard"
    # REST API events carry the stage in requestContext.path only: the same links come out.
    rest_docs = app.handler(rest_event(load_event, "/docs"), None)
    assert rest_docs["statusCode"] == 200 and "/prod/openapi.json" in body_of(rest_docs).decode()
    # Without API_BASE_PATH the stage in the path is still recognised from the event.
    plain = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake), API_BASE_PATH="")
    assert plain.handler(http_event(load_event, "/api/v1/health", stage_prefix="/prod"), None)["statusCode"] == 200


def test_nothing_runs_per_invocation(monkeypatch, load_event, local_lake: Path) -> None:
    """The reader is built at import and reused: two invocations share one DuckDB connection."""
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake))
    assert app.handler.lifespan == "off"
    app.handler(http_event(load_event, "/api/v1/stores/performance"), None)
    con = app.app.state.lake.reader.con
    app.handler(http_event(load_event, "/api/v1/stores/regional-analysis"), None)
    assert app.app.state.lake.reader.con is con


def test_errors_through_the_handler(monkeypatch, load_event, local_lake: Path) -> None:
    app = load_handler(monkeypatch, RETAIL_LAKE=str(local_lake))
    missing = app.handler(http_event(load_event, "/api/v1/customers/insights/nobody"), None)
    assert missing["statusCode"] == 404 and "nobody" in json.loads(body_of(missing))["message"]
    bad = app.handler(http_event(load_event, "/api/v1/stores/performance", "limit=0"), None)
    assert bad["statusCode"] == 422 and "limit" in json.loads(body_of(bad))["message"]
    event = http_event(load_event, "/api/v1/analytics/campaign-simulation")
    event["requestContext"]["http"]["method"] = "POST"
    event["headers"] = {"content-type": "application/json"}
    body = json.dumps({"target": {"spend_tier": "high"}, "horizon_days": 57}).encode()
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    posted = app.handler(event, None)
    assert posted["statusCode"] == 200 and json.loads(body_of(posted))["customers_targeted"] == 2
    event["body"] = base64.b64encode(b"{" + b" " * (1024 * 1024 + 1) + b"}").decode()
    assert app.handler(event, None)["statusCode"] == 413


def test_an_s3_lake_on_moto_server(monkeypatch, load_event, local_lake: Path, moto_server_url: str) -> None:
    """The same answers from an S3 lake (LAKE_BUCKET, as template.yaml sets it) on a real endpoint."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server_url)
    bucket = f"api-lake-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    for path in local_lake.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, path.relative_to(local_lake).as_posix())
    monkeypatch.delenv("RETAIL_LAKE", raising=False)
    app = load_handler(monkeypatch, LAKE_BUCKET=bucket)
    result = app.handler(http_event(load_event, "/api/v1/stores/performance"), None)
    assert result["statusCode"] == 200, body_of(result)
    assert [r["revenue"] for r in json.loads(body_of(result))["items"]] == [915, 905, 675]
    insights = json.loads(body_of(app.handler(rest_event(load_event, "/api/v1/customers/insights/C1"), None)))
    assert (insights["frequency"], insights["favourite_store"]) == (3, "Kanyon")
    health = json.loads(body_of(app.handler(http_event(load_event, "/api/v1/health"), None)))
    assert health["lake"] == f"s3://{bucket}" and health["status"] == "ok"
    assert app.handler(http_event(load_event, "/api/v1/predictions/clv"), None)["statusCode"] == 503
