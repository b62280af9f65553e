"""What every endpoint shares: list shape, paging limits, 422 / 404 / 503 messages, ETag and 304,
Cache-Control, CSV with formula escaping, the 6 MB cut, gzip, CORS, health, predictions."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from .conftest import make_client, publish


def test_limits_are_checked_and_named(client) -> None:
    for params, name in (({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"offset": -1}, "offset"),
                         ({"sort": "nope"}, "sort"), ({"format": "xml"}, "format")):
        response = client.get("/api/v1/stores/performance", params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert f"query parameter '{name}'" in body["message"]
        assert body["detail"][0]["loc"] == ["query", name]
    assert client.get("/api/v1/stores/performance", params={"limit": 1000}).status_code == 200


def test_unknown_query_parameters_are_ignored(client) -> None:
    plain = client.get("/api/v1/stores/performance").json()
    assert client.get("/api/v1/stores/performance", params={"colour": "blue"}).json() == plain


def test_unknown_path_is_a_json_404(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and "no such path" in response.json()["message"]


def test_etag_and_304(client) -> None:
    first = client.get("/api/v1/stores/performance")
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and "max-age=" in first.headers["cache-control"]
    again = client.get("/api/v1/stores/performance", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other_page = client.get("/api/v1/stores/performance", params={"limit": 1})
    assert other_page.headers["etag"] != etag
    assert client.get("/api/v1/stores/performance", headers={"If-None-Match": 'W/"stale"'}).status_code == 200


def test_etag_changes_with_the_table_version(lake_copy: Path, tmp_path: Path) -> None:
    from retail_lake.analytics import run_analytics
    from retail_lake.config import Settings

    with make_client(lake_copy, tmp_path / "t") as c:
        before = c.get("/api/v1/stores/performance").headers["etag"]
        assert c.get("/api/v1/stores/performance", headers={"If-None-Match": before}).status_code == 304
        run_analytics(str(lake_copy), ["store_performance"], settings=Settings(lake=str(lake_copy), tmp_dir=tmp_path))
        after = c.get("/api/v1/stores/performance", headers={"If-None-Match": before})
        assert after.status_code == 200 and after.headers["etag"] != before


def test_csv_has_the_same_rows_and_escapes_formulas_in_text_cells_only(client) -> None:
    response = client.get("/api/v1/analytics/rfm", params={"format": "csv", "sort": "customer_id"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    as_json = client.get("/api/v1/analytics/rfm", params={"sort": "customer_id"}).json()["items"]
    assert len(rows) == len(as_json) == 6
    assert list(rows[0]) == list(as_json[0])
    by_id = {r["customer_id"]: r for r in rows}
    assert "'@C6" in by_id and "@C6" not in by_id  # '@C6' would run as a formula in a spreadsheet
    assert by_id["C1"]["monetary"] == "1200.0" and by_id["C1"]["recency_days"] == "1"


def test_a_negative_number_stays_a_number_in_csv() -> None:
    from retail_lake.api._render import csv_cell, dump_csv

    assert csv_cell(-5.5) == "-5.5" and csv_cell(-3) == -3
    assert csv_cell("-5") == "'-5" and csv_cell("=SUM(A1)") == "'=SUM(A1)" and csv_cell("+1") == "'+1"
    assert csv_cell("Kanyon") == "Kanyon" and csv_cell(None) == "" and csv_cell(True) == "true"
    text = dump_csv(["a", "b"], [{"a": -1.25, "b": "=1+1"}]).decode()
    assert text == "a,b\r\n-1.25,'=1+1\r\n"


def test_a_page_over_the_byte_limit_is_cut_and_says_truncated(built_lake: Path, tmp_path: Path) -> None:
    with make_client(built_lake, tmp_path / "t", api_max_response_bytes=1500) as c:
        body = c.get("/api/v1/analytics/rfm").json()
        assert body["truncated"] is True and 0 < len(body["items"]) < 6
        assert body["next_offset"] == len(body["items"]) and body["total"] == 6
        rest = c.get("/api/v1/analytics/rfm", params={"offset": body["next_offset"]}).json()
        assert len(body["items"]) + len(rest["items"]) <= 6
        small = c.get("/api/v1/stores/regional-analysis").json()
        assert "truncated" not in small


def test_gzip_when_asked(client) -> None:
    import httpx

    # TestClient decodes gzip itself; the raw bytes show the encoding.
    response = client.get("/api/v1/analytics/rfm", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
    assert isinstance(response, httpx.Response) and response.json()["total"] == 6
    plain = client.get("/api/v1/analytics/rfm", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzip.compress(plain.content)  # the same body either way


def test_cors_is_off_by_default_and_allows_only_listed_origins(client, built_lake: Path, tmp_path: Path) -> None:
    plain = client.get("/api/v1/stores/performance", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers
    with make_client(built_lake, tmp_path / "t", api_cors_origins=("https://dash.example",)) as c:
        ok = c.get("/api/v1/stores/performance", headers={"Origin": "https://dash.example"})
        assert ok.headers["access-control-allow-origin"] == "https://dash.example"
        other = c.get("/api/v1/stores/performance", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = c.options("/api/v1/analytics/campaign-simulation", headers={
            "Origin": "https://dash.example", "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 200


def test_predictions_are_503_until_trained(client) -> None:
    for path in ("clv", "forecast", "segments"):
        response = client.get(f"/api/v1/predictions/{path}")
        assert response.status_code == 503
        assert "retail-lake train" in response.json()["message"]


def test_a_table_not_in_lake_schemas_is_503_not_500(built_lake: Path, tmp_path: Path) -> None:
    from retail_lake.api._errors import NotReady
    from retail_lake.api._lake import ApiLake

    lake = ApiLake(str(built_lake))
    with pytest.raises(NotReady, match="not defined"):
        lake.require(["customer_churn_ml"])


def test_analytics_not_computed_yet_is_503(tmp_path: Path) -> None:
    empty = tmp_path / "empty-lake"
    empty.mkdir()
    with make_client(empty, tmp_path / "t") as c:
        response = c.get("/api/v1/stores/performance")
        assert response.status_code == 503
        assert response.json()["table"] == "store_performance" and "retail-lake analytics" in response.json()["message"]
        health = c.get("/api/v1/health").json()
        assert health["status"] == "degraded" and "store_performance" in health["missing"]


def test_health_lists_every_table(client) -> None:
    from retail_lake import schemas

    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["lake_readable"] and body["status"] == "ok"
    tables = {t["table"]: t for t in body["tables"]}
    assert set(tables) == {n for n, t in schemas.all_tables().items() if t.versioned}
    assert tables["store_performance"]["rows"] == 3 and tables["store_performance"]["run_id"]
    assert tables["customer_clv"]["ready"] is False and "customer_clv" in body["missing"]


def test_health_is_503_when_the_lake_is_not_there(tmp_path: Path) -> None:
    with make_client(tmp_path / "no-such-lake", tmp_path / "t") as c:
        response = c.get("/api/v1/health")
        assert response.status_code == 503 and "cannot be read" in response.json()["message"]


def test_predictions_and_insights_once_trained(lake_copy: Path, tmp_path: Path) -> None:
    publish(lake_copy, "customer_clv", [
        {"customer_id": "C1", "horizon_days": 90, "predicted_spend": 640.0, "probability_alive": 0.9,
         "model_version": "v1", "historical_spend": 1200.0, "purchases": 3, "recency_days": 1,
         "tenure_days": 55, "method": "xgboost"},
        {"customer_id": "C2", "horizon_days": 90, "predicted_spend": 90.0, "probability_alive": 0.5,
         "model_version": "v1", "historical_spend": 345.0, "purchases": 2, "recency_days": 10,
         "tenure_days": 36, "method": "xgboost"},
    ], tmp_path)
    with make_client(lake_copy, tmp_path / "t") as c:
        clv = c.get("/api/v1/predictions/clv").json()
        assert [(r["customer_id"], r["predicted_spend"]) for r in clv["items"]] == [("C1", 640.0), ("C2", 90.0)]
        insights = c.get("/api/v1/customers/insights/C1").json()
        assert (insights["predicted_clv"], insights["probability_alive"], insights["clv_horizon_days"]) == (
            640.0, 0.9, 90)
        assert insights["predictions_available"] is True
        without = c.get("/api/v1/customers/insights/C3").json()
        assert without["predicted_clv"] is None and without["predictions_available"] is True
        # The campaign's baseline comes from the predictions now: C1 and C2 are predicted, C3... are not.
        result = c.post("/api/v1/analytics/campaign-simulation",
                        json={"target": {"segments": ["Loyal Customers"]}, "horizon_days": 90}).json()
        assert result["baseline_source"] == "clv_predictions+history"
        # C1 + C2 predicted 730 over 90 days; C5 (330 over 57 days of history) -> 330 * 90 / 57.
        assert result["baseline_revenue"] == pytest.approx(730 + 330 * 90 / 57)
        history = c.post("/api/v1/analytics/campaign-simulation",
                         json={"target": {"segments": ["Loyal Customers"]}, "horizon_days": 90,
                               "baseline": "history"}).json()
        assert history["baseline_source"] == "history"
        assert history["baseline_revenue"] == pytest.approx(1875 * 90 / 57)


def test_openapi_has_a_description_and_an_example_per_endpoint(client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["description"]
    api = {(m, p): op for p, ops in spec["paths"].items() if p.startswith("/api/v1/") for m, op in ops.items()}
    assert len(api) == 20
    for (method, path), op in api.items():
        content = op["responses"]["200"]["content"]
        assert op.get("description") and op.get("summary"), (method, path)
        assert any("example" in c or "examples" in c for c in content.values()), (method, path)
