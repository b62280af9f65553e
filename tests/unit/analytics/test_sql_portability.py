"""Every analytics SQL file is in the portable subset: DuckDB reads it, and it transpiles to Athena
(Trino) SQL that parses back. The rendered statements (reference relations as VALUES CTEs, the typed
wrapper) are checked too, since that is the text an engine actually runs."""

from __future__ import annotations

from datetime import date
from importlib import resources

import pytest
import sqlglot
from sqlglot import exp

from retail_lake import schemas
from retail_lake.analytics import TABLE_NAMES, render_sql, typed_select
from retail_lake.analytics._sql import sql_text

TARGET = "athena" if "athena" in sqlglot.dialects.Dialect.classes else "trino"
SQL_FILES = sorted(p.name for p in resources.files("retail_lake.analytics").joinpath("sql").iterdir()
                   if p.name.endswith(".sql"))


def test_one_sql_file_per_table() -> None:
    """The SQL folder and the table list agree, and every table has a lake_schemas file."""
    assert sorted(f"{name}.sql" for name in TABLE_NAMES) == SQL_FILES
    for name in TABLE_NAMES:
        assert schemas.table(name).layer == "analytics"


def _round_trip(sql: str) -> exp.Expression:
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, exp.Select | exp.Union), f"not a single SELECT: {type(tree).__name__}"
    athena = tree.sql(dialect=TARGET)
    back = sqlglot.parse_one(athena, read=TARGET)
    assert back is not None
    return back


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_file_transpiles_to_athena_and_back(table: str) -> None:
    _round_trip(sql_text(table))


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_rendered_statement_transpiles(table: str) -> None:
    rendered = typed_select(table, render_sql(table, reference_date=date(2023, 3, 1)))
    back = _round_trip(rendered)
    # The typed wrapper gives exactly the lake_schemas columns, in order.
    assert [s.alias_or_name for s in back.selects] == schemas.table(table).column_names


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_reads_only_known_relations(table: str) -> None:
    """A file reads sales, stores, reference relations, its CTEs and the analytics tables it declares."""
    from retail_lake.analytics._sql import REFERENCE_RELATIONS
    from retail_lake.analytics._tables import dependencies

    tree = sqlglot.parse_one(sql_text(table), read="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    read = {t.name for t in tree.find_all(exp.Table)} - ctes
    allowed = {"sales", "stores", *REFERENCE_RELATIONS, *dependencies(table)}
    assert read <= allowed, f"{table} reads undeclared relations: {read - allowed}"
