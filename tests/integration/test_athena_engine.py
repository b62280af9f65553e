"""The Athena engine's call sequence inside moto (``mock_aws``): which statements reach Athena, in which
workgroup and database, where UNLOAD writes, the Glue location switch and the pointer swap.

The lake bucket, the Glue database and tables and the Athena workgroup come from template.yaml's own
properties. moto's Athena accepts queries but runs none, so two things stand in for it, both visible
here: the snapshot query's one row is queued through moto's results API
(``/moto-api/static/athena/query-results``), and ``fake_athena_unload`` does what Athena's UNLOAD
would do: it writes the statement's result as two Parquet files with Athena-style names under the TO
location, computing them with DuckDB from the statement transpiled back (athena -> duckdb) over the
same lake. Everything after that (merge into part-0.parquet, row count, Glue, pointer) is the
engine's own code.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import sqlglot
from botocore.client import BaseClient

from retail_lake.analytics import TABLE_NAMES, read_pointer, render_sql, run_analytics, typed_select
from retail_lake.analytics._athena import to_athena
from retail_lake.config import Settings
from retail_lake.duck import sql_literal
from retail_lake.ingest import ingest_file
from retail_lake.query import connect
from retail_lake.storage import open_storage

from .conftest import Stack, Template

CSV = (
    "invoice_no,customer_id,gender,age,category,quantity,price,payment_method,invoice_date,shopping_mall\n"
    "I1,C1,Female,28,Clothing,2,600.00,Credit Card,5/8/2022,Kanyon\n"
    "I2,C2,Male,35,Shoes,1,300.00,Cash,12/8/2022,Kanyon\n"
    "I3,C1,Female,28,Books,3,45.00,Debit Card,9/9/2022,Zorlu Center\n"
)
TABLES = ["store_performance", "rfm_segments"]  # rfm_segments reads customer_rfm: three tables run
_UNLOAD = re.compile(r"^UNLOAD \((?P<select>.*)\)\nTO '(?P<to>s3://[^']+)'\nWITH \((?P<with>[^)]*)\)$", re.S)


def catalog_from_template(stack: Stack) -> tuple[str, str]:
    """Glue database, its external tables and the Athena workgroup, from template.yaml's properties."""
    tpl = Template({"NamePrefix": "retail-lake", "Stage": "dev", "AWS::AccountId": stack.account,
                    "AWS::Region": "us-east-1", "AWS::Partition": "aws", "LakeBucket": stack.lake_bucket})
    glue, athena = boto3.client("glue"), boto3.client("athena")
    database = tpl.properties("GlueDatabase")["DatabaseInput"]
    glue.create_database(DatabaseInput=database)
    tpl.refs["GlueDatabase"] = database["Name"]
    for logical_id, res in tpl.doc["Resources"].items():
        if res["Type"] == "AWS::Glue::Table" and res["Properties"]["TableInput"]["TableType"] == "EXTERNAL_TABLE":
            props = tpl.properties(logical_id)
            glue.create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
    wg = tpl.properties("AthenaWorkGroup")
    athena.create_work_group(Name=wg["Name"], Configuration=wg["WorkGroupConfiguration"],
                             Description=wg["Description"])
    return database["Name"], wg["Name"]


def queue_athena_result(columns: list[str], row: list[str]) -> None:
    """Queue one result set in moto (Athena's shape: a header row, then the data row)."""
    payload = {"results": [{
        "rows": [{"Data": [{"VarCharValue": v} for v in values]} for values in (columns, row)],
        "column_info": [{"Name": c, "Type": "varchar"} for c in columns],
    }]}
    resp = requests.post("http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=payload)
    assert resp.status_code == 201


@pytest.fixture
def fake_athena_unload(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Record every StartQueryExecution; for UNLOAD, write the result where Athena would (see module doc)."""
    calls: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def intercept(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "StartQueryExecution":
            calls.append(dict(api_params))
            match = _UNLOAD.match(api_params["QueryString"])
            if match:
                write_unload_result(match["select"], match["to"])
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", intercept)
    yield calls


def write_unload_result(athena_select: str, location: str) -> None:
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    duck_sql = sqlglot.transpile(athena_select, read="athena", write="duckdb")[0]
    con = connect(f"s3://{bucket}")
    with tempfile.TemporaryDirectory() as tmp:
        con.execute(f"CREATE TABLE result AS {duck_sql}")
        total = con.execute("SELECT COUNT(*) FROM result").fetchone()[0]
        for i, (offset, limit) in enumerate([(0, total // 2), (total // 2, total)]):
            out = Path(tmp) / f"part{i}"
            con.execute(f"COPY (SELECT * FROM result LIMIT {limit - offset} OFFSET {offset}) "
                        f"TO {sql_literal(str(out))} (FORMAT parquet)")
            boto3.client("s3").upload_file(str(out), bucket, f"{prefix}20240101_000000_00001_abcde_{i}")
    con.close()


@pytest.fixture
def athena_lake(moto_stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[], Settings]:
    """The moto stack with its Glue catalog and workgroup, three sales lines ingested, engine=athena."""
    database, workgroup = catalog_from_template(moto_stack)
    monkeypatch.setenv("ANALYTICS_ENGINE", "athena")
    monkeypatch.setenv("GLUE_DATABASE", database)
    monkeypatch.setenv("ATHENA_WORKGROUP", workgroup)
    csv = tmp_path / "sales.csv"
    csv.write_text(CSV)
    assert ingest_file(csv, moto_stack.lake_uri).rows_accepted == 3
    return Settings.from_env


def test_athena_engine_call_sequence(moto_stack: Stack, athena_lake: Callable[[], Settings],
                                     fake_athena_unload: list[dict[str, Any]]) -> None:
    """Snapshot query, then one transpiled UNLOAD per table into its run folder, in the template's
    workgroup and database; Glue follows each new folder; pointers swap; readers see the values."""
    settings = athena_lake()
    queue_athena_result(["_col0", "_col1", "_col2"], ["3", "2024-01-01 00:00:00.000", "2022-09-09"])

    results = run_analytics(moto_stack.lake_uri, TABLES, settings=settings)

    assert [r.table for r in results] == ["store_performance", "customer_rfm", "rfm_segments"]
    assert all(r.ok for r in results), [r.message for r in results]
    run_id = results[0].run_id
    assert {(c["WorkGroup"], c["QueryExecutionContext"]["Database"]) for c in fake_athena_unload} == {
        (settings.athena_workgroup, settings.glue_database)}
    snapshot, *unloads = (c["QueryString"] for c in fake_athena_unload)
    assert snapshot.startswith("SELECT COUNT(*)") and snapshot.endswith("FROM sales")

    glue, storage = boto3.client("glue"), open_storage(moto_stack.lake_uri)
    for result, statement in zip(results, unloads, strict=True):
        table, folder = result.table, f"analytics/{result.table}/run={run_id}/"
        match = _UNLOAD.match(statement)
        assert match, statement
        assert match["to"] == f"s3://{moto_stack.lake_bucket}/{folder}"
        assert match["with"] == "format = 'PARQUET', compression = 'ZSTD'"
        # The rendered DuckDB statement, transpiled (e.g. DuckDB's isodow/date_diff spelled for Trino).
        assert match["select"] == to_athena(typed_select(table, render_sql(table)))
        sqlglot.parse_one(match["select"], read="athena")
        # Athena's part files were merged into the one object the pointer names.
        assert [o.key for o in storage.list(folder)] == [folder + "part-0.parquet"]
        pointer = read_pointer(storage, table)
        assert pointer["run_id"] == run_id and pointer["key"] == folder + "part-0.parquet"
        assert pointer["rows"] == result.rows
        location = glue.get_table(DatabaseName=settings.glue_database, Name=table)["Table"]
        assert location["StorageDescriptor"]["Location"] == f"s3://{moto_stack.lake_bucket}/{folder}"

    con = connect(moto_stack.lake_uri)
    # Hand-computed: Kanyon 600 + 300 (2 invoices, 2 customers), Zorlu Center 45.
    assert con.execute("SELECT store, revenue, transactions, rank FROM store_performance ORDER BY rank").fetchall() \
        == [("Kanyon", 900.0, 2, 1), ("Zorlu Center", 45.0, 1, 2)]
    assert con.execute("SELECT sum(customers) FROM rfm_segments").fetchone()[0] == 2
    assert con.execute("SELECT DISTINCT engine FROM analytics_runs").fetchall() == [("athena",)]
    # Athena saw the default stores (DuckDB's fallback) as a file it can read.
    assert storage.exists("curated/stores/stores.parquet")


def test_every_table_runs_through_the_athena_path(moto_stack: Stack, athena_lake: Callable[[], Settings],
                                                  fake_athena_unload: list[dict[str, Any]]) -> None:
    """All analytics tables: one UNLOAD each, all published (the transpiled SQL survives the trip)."""
    settings = athena_lake()
    queue_athena_result(["_col0", "_col1", "_col2"], ["3", "2024-01-01 00:00:00.000", "2022-09-09"])

    results = run_analytics(moto_stack.lake_uri, None, settings=settings)

    assert [(r.table, r.status) for r in results if not r.ok] == []
    assert sorted(r.table for r in results) == sorted(TABLE_NAMES)
    assert sum(c["QueryString"].startswith("UNLOAD") for c in fake_athena_unload) == len(TABLE_NAMES)


def test_a_failed_query_keeps_the_previous_version(moto_stack: Stack, athena_lake: Callable[[], Settings],
                                                   fake_athena_unload: list[dict[str, Any]],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """An UNLOAD that Athena fails: the table is reported failed, its Glue location and pointer stay."""
    settings = athena_lake()
    queue_athena_result(["_col0", "_col1", "_col2"], ["3", "2024-01-01 00:00:00.000", "2022-09-09"])
    glue = boto3.client("glue")
    before = glue.get_table(DatabaseName=settings.glue_database, Name="store_performance")["Table"]
    original = BaseClient._make_api_call

    def failing(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        response = original(self, operation_name, api_params)
        if operation_name == "GetQueryExecution" and fake_athena_unload[-1]["QueryString"].startswith("UNLOAD"):
            response["QueryExecution"]["Status"] = {"State": "FAILED", "StateChangeReason": "injected"}
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", failing)
    (result,) = run_analytics(moto_stack.lake_uri, ["store_performance"], settings=settings)

    assert result.status == "failed" and "injected" in (result.message or "")
    after = glue.get_table(DatabaseName=settings.glue_database, Name="store_performance")["Table"]
    assert after["StorageDescriptor"]["Location"] == before["StorageDescriptor"]["Location"]
    assert read_pointer(open_storage(moto_stack.lake_uri), "store_performance") is None


def test_athena_engine_needs_an_s3_lake_and_the_catalog_settings(tmp_path: Path) -> None:
    from retail_lake.analytics import make_engine

    with pytest.raises(ValueError, match="S3 lake"):
        make_engine("athena", open_storage(str(tmp_path)), Settings(glue_database="db", athena_workgroup="wg"))
    with pytest.raises(ValueError, match="GLUE_DATABASE"):
        make_engine("athena", open_storage("s3://bucket"), Settings())
