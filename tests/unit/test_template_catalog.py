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
    policies = {next(iter(p)) for p in fn["Policies"]}
    assert policies == {"S3ReadPolicy", "S3CrudPolicy", "DynamoDBCrudPolicy"}


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
