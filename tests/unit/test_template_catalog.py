"""template.yaml, infra/athena and infra/events agree with lake_schemas/ and with each other.

The Glue tables, the sales view's Presto text and the Athena DDL are all derived from the YAML files
(retail_lake.catalog); these tests fail when someone edits a schema without regenerating, or edits a
generated block by hand. Regenerate with:
    python -m retail_lake.catalog sync-template template.yaml
    python -m retail_lake.catalog write-ddl infra/athena
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from retail_lake import catalog, schemas

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
# What the template's references resolve to in these tests (dev stage, SAM's placeholder account).
REFS = {
    "Stage": "dev",
    "GlueDatabase": "retail_lake_dev",
    "LakeBucket": catalog.LAKE_BUCKET_PLACEHOLDER,
    "ProjectionYearRange": catalog.DEFAULT_YEAR_RANGE,
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
}


@cache
def template() -> dict[str, Any]:
    """template.yaml with CFN short tags (!Ref, !Sub, ...) decoded to their long forms."""
    decoded, errors = decode(str(TEMPLATE))
    assert not errors, errors
    return decoded


def resolve(node: Any) -> Any:
    """Evaluate the intrinsics these tests meet (Ref, Sub, Join, Base64) with REFS."""
    if isinstance(node, list):
        return [resolve(n) for n in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return REFS[node["Ref"]]
    if set(node) == {"Fn::Sub"}:
        text = node["Fn::Sub"]
        assert isinstance(text, str), "only the one-argument Fn::Sub is used"

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            return "${" + name[1:] + "}" if name.startswith("!") else REFS[name]

        return re.sub(r"\$\{([^}]+)\}", sub, text)
    if set(node) == {"Fn::Join"}:
        sep, parts = node["Fn::Join"]
        return sep.join(resolve(p) for p in parts)
    if set(node) == {"Fn::Base64"}:
        return base64.b64encode(resolve(node["Fn::Base64"]).encode()).decode()
    return {k: resolve(v) for k, v in node.items()}


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template()["Resources"].items() if v["Type"] == kind}


def glue_tables(table_type: str) -> dict[str, dict[str, Any]]:
    """Glue table name -> TableInput, for tables of one TableType."""
    out = {}
    for res in resources("AWS::Glue::Table").values():
        table_input = res["Properties"]["TableInput"]
        if table_input["TableType"] == table_type:
            out[table_input["Name"]] = table_input
    return out


def plain(value: Any) -> Any:
    """cfn-lint's node classes -> plain dicts/lists/strs, for equality with generated values."""
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------- Glue tables


def test_every_lake_schema_has_a_glue_table() -> None:
    physical = glue_tables("EXTERNAL_TABLE")
    views = glue_tables("VIRTUAL_VIEW")
    for spec in schemas.all_tables().values():
        assert (spec.physical_table or spec.name) in physical, f"no Glue table for lake_schemas/{spec.name}.yaml"
        if spec.physical_table:
            assert spec.name in views, f"no Glue view {spec.name!r} over {spec.physical_table}"


@pytest.mark.parametrize("name", sorted(glue_tables("EXTERNAL_TABLE")))
def test_glue_table_matches_lake_schema(name: str) -> None:
    table_input = glue_tables("EXTERNAL_TABLE")[name]
    sd = table_input["StorageDescriptor"]
    assert plain(sd["Columns"]) == catalog.glue_columns(name)
    assert plain(table_input.get("PartitionKeys", [])) == catalog.glue_partition_keys(name)
    assert resolve(sd["Location"]) == catalog.glue_location(name)
    assert sd["SerdeInfo"]["SerializationLibrary"].endswith("ParquetHiveSerDe")
    assert table_input["Parameters"]["classification"] == "parquet"


def test_sales_versions_uses_partition_projection() -> None:
    params = resolve(plain(glue_tables("EXTERNAL_TABLE")["sales_versions"]["Parameters"]))
    expected = catalog.projection_properties("sales_versions")
    assert {k: v for k, v in params.items() if k in expected} == expected
    assert set(expected) >= {"projection.enabled", "projection.month.digits", "storage.location.template"}
    assert expected["storage.location.template"].endswith("/curated/sales/year=${year}/month=${month}")


# ---------------------------------------------------------------- the sales view


def test_sales_view_original_text_is_built_from_sales_sql() -> None:
    view = glue_tables("VIRTUAL_VIEW")["sales"]
    columns = catalog.presto_columns(catalog.view_columns("sales"))
    expected = catalog.presto_view_original_text(catalog.view_sql("sales"), columns, schema="retail_lake_dev")
    text = resolve(plain(view["ViewOriginalText"]))
    assert text == expected

    doc = json.loads(base64.b64decode(text.removeprefix("/* Presto View: ").removesuffix(" */")))
    assert doc["catalog"] == "awsdatacatalog" and doc["schema"] == "retail_lake_dev"
    assert "FROM sales_versions" in doc["originalSql"]
    assert [c["name"] for c in doc["columns"]] == [c.name for c in schemas.table("sales").all_columns]
    assert view["ViewExpandedText"] == "/* Presto View */"
    assert view["Parameters"]["presto_view"] == "true"
    assert plain(view["StorageDescriptor"]["Columns"]) == catalog.glue_view_columns("sales")


def test_view_sql_is_plain_trino() -> None:
    """The DuckDB view SQL is used unchanged on Athena: it must parse as Trino and mean the same."""
    sqlglot = pytest.importorskip("sqlglot")
    sql = catalog.view_sql("sales")
    as_trino = sqlglot.parse_one(sql, read="trino")
    as_duckdb = sqlglot.parse_one(sql, read="duckdb")
    assert as_trino.sql(dialect="trino") == as_duckdb.sql(dialect="trino")
    assert "--" not in sql and not sql.endswith(";")


def test_presto_types_cover_every_schema_type() -> None:
    for spec in schemas.all_tables().values():
        for col in spec.all_columns:
            assert catalog.presto_type(col.type)


# ---------------------------------------------------------------- generated files are current


def test_template_generated_blocks_are_current() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert catalog.sync_template(text) == text, "run: python -m retail_lake.catalog sync-template template.yaml"


def test_athena_ddl_files_are_current() -> None:
    folder = ROOT / "infra" / "athena"
    expected = catalog.ddl_files()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.sql")}
    assert on_disk == expected, "run: python -m retail_lake.catalog write-ddl infra/athena"


def test_athena_ddl_names_projection_and_location() -> None:
    ddl = catalog.athena_ddl("sales")
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `sales_versions`" in ddl
    assert "PARTITIONED BY (" in ddl and "STORED AS PARQUET" in ddl
    assert "'projection.month.digits' = '2'" in ddl
    assert "\\'" in ddl  # descriptions with quotes are escaped the Hive way
    assert catalog.athena_view_ddl("sales").startswith("-- Generated")


# ---------------------------------------------------------------- the rest of the template


def test_ingest_function_wiring() -> None:
    res = template()["Resources"]
    fn = res["IngestFunction"]["Properties"]
    queue = res["IngestQueue"]["Properties"]
    assert template()["Globals"]["Function"]["Runtime"] == "python3.12"
    assert fn["Handler"] == "app.lambda_handler" and fn["CodeUri"] == "functions/ingest/"
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 3
    event = fn["Events"]["Uploads"]
    assert event["Type"] == "SQS"
    assert list(event["Properties"]["FunctionResponseTypes"]) == ["ReportBatchItemFailures"]
    env = fn["Environment"]["Variables"] | template()["Globals"]["Function"]["Environment"]["Variables"]
    assert {"LAKE_BUCKET", "IDEMPOTENCY_TABLE", "IDEMPOTENCY_TTL_SECONDS"} <= set(env)
    # issue 10: inline statements narrowed to ingest's prefixes/actions (tests/unit/ingest/test_template_protections.py)
    assert all("Statement" in p for p in fn["Policies"])


def test_notification_and_idempotency_table() -> None:
    res = template()["Resources"]
    (queue_cfg,) = res["UploadBucket"]["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert queue_cfg["Event"] == "s3:ObjectCreated:*"
    assert plain(queue_cfg["Filter"]["S3Key"]["Rules"]) == [{"Name": "prefix", "Value": "raw/"}]
    table = res["IdempotencyTable"]["Properties"]
    assert plain(table["KeySchema"]) == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"]["AttributeName"] == "expiration"
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_layer_ships_both_packages_for_the_function_architecture() -> None:
    res = template()["Resources"]["RetailLakeLayer"]
    assert res["Metadata"]["BuildMethod"] == "makefile"
    assert res["Properties"]["ContentUri"] == "layers/"
    makefile = (ROOT / "layers" / "Makefile").read_text()
    assert "build-RetailLakeLayer:" in makefile
    assert '"$(ROOT)/lake_schemas"' in makefile and '"$(HERE)retail_lake"' in makefile
    arch = {"arm64": "aarch64", "x86_64": "x86_64"}[template()["Globals"]["Function"]["Architectures"][0]]
    assert f"LAYER_ARCH ?= {arch}" in makefile
    assert list(res["Properties"]["CompatibleArchitectures"]) == list(
        template()["Globals"]["Function"]["Architectures"])


def test_sqs_s3_put_event_wraps_the_generated_s3_event() -> None:
    events = ROOT / "infra" / "events"
    spec = importlib.util.spec_from_file_location("make_sqs_s3_put", events / "make_sqs_s3_put.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(json.loads((events / "s3_put.json").read_text()),
                         json.loads((events / "sqs_receive_message.json").read_text()))
    assert json.loads((events / "sqs_s3_put.json").read_text()) == built


# ---------------------------------------------------------------- the analytics function


def analytics_policy_statements() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(statements always granted, statements granted only when AnalyticsEngine=athena)."""
    always: list[dict[str, Any]] = []
    athena: list[dict[str, Any]] = []
    for policy in template()["Resources"]["AnalyticsFunction"]["Properties"]["Policies"]:
        if "Fn::If" in policy:
            condition, when_true, when_false = policy["Fn::If"]
            assert condition == "UseAthena" and when_false == {"Ref": "AWS::NoValue"}
            athena += when_true["Statement"]
        else:
            always += policy["Statement"]
    return always, athena


def test_analytics_function_wiring() -> None:
    """Handler, runtime, shared layer, Lambda-sized limits, env vars the library reads."""
    tpl = template()
    fn = tpl["Resources"]["AnalyticsFunction"]["Properties"]
    assert fn["Handler"] == "app.lambda_handler" and fn["CodeUri"] == "functions/analytics/"
    assert fn.get("Runtime", tpl["Globals"]["Function"]["Runtime"]) == "python3.12"
    assert fn.get("Layers", tpl["Globals"]["Function"]["Layers"]) == [{"Ref": "RetailLakeLayer"}]
    assert 3008 <= fn["MemorySize"] <= 10240 and fn["Timeout"] == 900
    assert 512 < fn["EphemeralStorage"]["Size"] <= 10240
    env = tpl["Globals"]["Function"]["Environment"]["Variables"] | fn["Environment"]["Variables"]
    assert env["ANALYTICS_ENGINE"] == {"Ref": "AnalyticsEngine"}
    assert env["ANALYTICS_LOCK_STALE_SECONDS"] == {"Ref": "AnalyticsLockStaleSeconds"}
    assert env["LAKE_BUCKET"] == {"Ref": "LakeBucket"}
    assert env["GLUE_DATABASE"] == {"Ref": "GlueDatabase"}
    assert env["ATHENA_WORKGROUP"] == {"Ref": "AthenaWorkGroup"}
    params = tpl["Parameters"]
    assert list(params["AnalyticsEngine"]["AllowedValues"]) == ["duckdb", "athena"]
    assert params["AnalyticsEngine"]["Default"] == "duckdb"
    # A stale lock must be older than any run can be (the function's timeout).
    assert params["AnalyticsLockStaleSeconds"]["MinValue"] > fn["Timeout"]


def test_analytics_schedule_sends_the_handlers_event_shape() -> None:
    """Nightly schedule whose input is what functions/analytics/app.py reads (detail: {} = all tables)."""
    fn = template()["Resources"]["AnalyticsFunction"]["Properties"]
    (event,) = fn["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == {"Ref": "AnalyticsSchedule"}
    assert re.fullmatch(r"cron\(0 \d+ \* \* \? \*\)", template()["Parameters"]["AnalyticsSchedule"]["Default"])
    sample = json.loads((ROOT / "infra" / "events" / "eventbridge_schedule.json").read_text())
    assert json.loads(event["Properties"]["Input"]) == {"detail": sample["detail"]}


LAKE_ARN = "arn:aws:s3:::lake-bucket"
POLICY_REFS = {**REFS, "LakeBucket.Arn": LAKE_ARN, "AthenaWorkGroup": "retail-lake-dev"}


def resolve_policy(node: Any) -> Any:
    """Policy resources with their Sub/GetAtt/Ref filled in (the lake bucket's ARN is LAKE_ARN)."""
    node = plain(node)
    if isinstance(node, list):
        return [resolve_policy(n) for n in node]
    if isinstance(node, dict) and set(node) == {"Fn::GetAtt"}:
        att = node["Fn::GetAtt"]
        return POLICY_REFS[att if isinstance(att, str) else ".".join(att)]
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: POLICY_REFS[m.group(1)], node["Fn::Sub"])
    if isinstance(node, dict) and set(node) == {"Ref"}:
        return POLICY_REFS[node["Ref"]]
    return node


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_analytics_policies_are_scoped_to_the_lake_and_its_prefixes() -> None:
    """No wildcard resources; S3 only in the lake bucket; writes only where the job writes; the lock
    only with If-None-Match; Athena/Glue only with AnalyticsEngine=athena, UpdateTable only on the
    analytics tables."""
    from retail_lake.analytics import TABLE_NAMES

    always, athena = analytics_policy_statements()
    for statement in always + athena:
        resources_ = as_list(resolve_policy(statement["Resource"]))
        assert "*" not in resources_, statement["Sid"]
        if any(a.startswith("s3:") for a in as_list(statement["Action"])):
            assert all(r == LAKE_ARN or r.startswith(LAKE_ARN + "/") for r in resources_), statement["Sid"]
    by_sid = {s["Sid"]: s for s in always}
    writes = by_sid["WriteAnalyticsAndCompactSales"]
    assert set(writes["Action"]) == {"s3:PutObject", "s3:DeleteObject"}
    assert set(resolve_policy(writes["Resource"])) == {f"{LAKE_ARN}/analytics/*", f"{LAKE_ARN}/curated/sales/*"}
    reads = set(resolve_policy(by_sid["ReadCuratedAndAnalytics"]["Resource"]))
    assert {f"{LAKE_ARN}/curated/sales/*", f"{LAKE_ARN}/curated/stores/*", f"{LAKE_ARN}/analytics/*"} <= reads
    lock = by_sid["LockOnlyIfAbsent"]
    assert lock["Effect"] == "Deny" and resolve_policy(lock["Resource"]) == f"{LAKE_ARN}/analytics/_lock.json"
    # issue 10: If-None-Match to take the lock, If-Match to take over a stale one
    assert plain(lock["Condition"]) == {"Null": {"s3:if-none-match": "true", "s3:if-match": "true"}}
    assert not any(a.startswith(("athena:", "glue:")) for s in always for a in as_list(s["Action"]))

    athena_by_sid = {s["Sid"]: s for s in athena}
    queries = athena_by_sid["AthenaQueriesInTheWorkgroup"]
    assert {"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"} <= set(
        queries["Action"])
    assert resolve_policy(queries["Resource"]).endswith(":workgroup/retail-lake-dev")
    update = athena_by_sid["SwitchAnalyticsTableLocations"]
    assert update["Action"] == "glue:UpdateTable"
    tables = {r.rsplit("/", 1)[1] for r in resolve_policy(update["Resource"]) if ":table/" in r}
    assert tables == set(TABLE_NAMES)
