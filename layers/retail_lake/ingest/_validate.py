"""Row validation and normalisation, as DuckDB SQL generated from lake_schemas/sales.yaml.

Input: table ``raw`` (text columns named like the sales schema, in file order) and ``rejects`` (rows
the CSV parser could not split). Output: table ``checked`` with one row per data row of the file:
the typed, normalised values, ``rule``/``detail`` of the first check it broke (NULL when accepted),
and ``flags`` (kept-but-flagged problems). Exact repeats of an earlier row become ``duplicate_row``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retail_lake.duck import sql_literal
from retail_lake.ingest._normalise import (
    normalise_category,
    normalise_gender,
    normalise_mall,
    normalise_payment,
)
from retail_lake.schemas import Column, Table

if TYPE_CHECKING:
    import duckdb

NULL_TOKENS = ("", "null", "na", "n/a", "nan", "none", "nil", "-")
_DATE_FORMATS = {
    "day/month/year": (["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"],
                       ["%d/%m/%y", "%d.%m.%y", "%d-%m-%y"]),
    "month/day/year": (["%m/%d/%Y", "%m.%d.%Y", "%m-%d-%Y", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"],
                       ["%m/%d/%y", "%m.%d.%y", "%m-%d-%y"]),
}
# Parser reject types -> quarantine rule.
PARSER_RULES = {
    "INVALID ENCODING": "invalid_encoding",
    "MISSING COLUMNS": "wrong_column_count",
    "TOO MANY COLUMNS": "wrong_column_count",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
_PARSER_DETAILS = {
    "INVALID ENCODING": "the line has bytes that are not UTF-8 (save the file as UTF-8); raw_line keeps it",
    "MISSING COLUMNS": "the line has fewer fields than the header",
    "TOO MANY COLUMNS": "the line has more fields than the header (an unquoted comma?)",
    "UNQUOTED VALUE": "a field has a stray quote character",
    "LINE SIZE OVER MAXIMUM": "the line is longer than the 2 MB maximum",
}
_DIMENSIONS = {
    "category": normalise_category,
    "payment_method": normalise_payment,
    "gender": normalise_gender,
    "shopping_mall": normalise_mall,
}


def text(col: str) -> str:
    """The trimmed text of a raw column, NULL for empty and null-like tokens ('NULL', 'n/a', ...)."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    trimmed = f"trim(raw.{col})"
    return f"CASE WHEN length({trimmed}) > 4 OR lower({trimmed}) NOT IN ({tokens}) THEN {trimmed} END"


_NUMBER_CLEAN = "regexp_replace({c}, '[\\s$€£₺]|TL|TRY', '', 'g')"
_NUMBER_SLOW = (
    "CASE WHEN regexp_matches({c}, '^[-+]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?$') "
    "THEN TRY_CAST(replace({c}, ',', '') AS DOUBLE) "
    "WHEN regexp_matches({c}, '^[-+]?\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$') "
    "THEN TRY_CAST(replace(replace({c}, '.', ''), ',', '.') AS DOUBLE) "
    "WHEN regexp_matches({c}, '^[-+]?\\d*,\\d+$') "
    "THEN TRY_CAST(replace({c}, ',', '.') AS DOUBLE) END"
)


def number_stages(col: str) -> list[str]:
    """Text column ``t_<col>`` -> DOUBLE ``n_<col>`` in three query layers (see ``build_checked``).

    Accepts 1,234.50 / 1.234,50 / 12,5 and a currency sign; NULL when not a finite number. Layered so
    each expression refers to the previous layer's column instead of repeating it (small plans).
    """
    return [
        f"TRY_CAST(t_{col} AS DOUBLE) AS f_{col}, "
        f"CASE WHEN TRY_CAST(t_{col} AS DOUBLE) IS NULL THEN {_NUMBER_CLEAN.format(c='t_' + col)} END AS c_{col}",
        f"coalesce(f_{col}, {_NUMBER_SLOW.format(c='c_' + col)}) AS g_{col}",
        f"CASE WHEN isfinite(g_{col}) THEN g_{col} END AS n_{col}",
    ]


def date_order(con: duckdb.DuckDBPyConnection) -> str:
    """'day/month/year' unless the file's dates only make sense as month/day/year.

    Evidence is cheap to count: a first part above 12 can only be a day, a second part above 12 only
    a day too (so the file is month-first). Ties (all parts <= 12) keep the reference day/month/year.
    The first 200,000 rows decide; a date that then fails in the chosen order is quarantined.
    """
    d = f"split_part(split_part({text('invoice_date')}, ' ', 1), 'T', 1)"
    first = f"TRY_CAST(regexp_extract({d}, '^(\\d{{1,2}})[/.-]', 1) AS INTEGER)"
    second = f"TRY_CAST(regexp_extract({d}, '^\\d{{1,2}}[/.-](\\d{{1,2}})[/.-]', 1) AS INTEGER)"
    day_first, month_first = con.execute(
        f"SELECT count(*) FILTER (WHERE {first} > 12), count(*) FILTER (WHERE {second} > 12) "
        "FROM (SELECT invoice_date FROM raw LIMIT 200000) raw"
    ).fetchone()
    return "month/day/year" if month_first > day_first else "day/month/year"


def date_stages(order: str) -> list[str]:
    """``t_invoice_date`` -> DATE ``n_invoice_date`` (years outside 1900-2100 are not dates)."""
    four, two = _DATE_FORMATS[order]
    return [
        "split_part(split_part(t_invoice_date, ' ', 1), 'T', 1) AS s_invoice_date",
        f"try_strptime(s_invoice_date, [{', '.join(sql_literal(f) for f in four)}]) AS y4_invoice_date, "
        f"try_strptime(s_invoice_date, [{', '.join(sql_literal(f) for f in two)}]) AS y2_invoice_date",
        "CAST(CASE WHEN year(y4_invoice_date) BETWEEN 1900 AND 2100 THEN y4_invoice_date "
        "WHEN year(y2_invoice_date) BETWEEN 1900 AND 2100 THEN y2_invoice_date END AS DATE) AS n_invoice_date",
    ]


def _date_map(con: duckdb.DuckDBPyConnection, order: str) -> None:
    """Parse each distinct invoice_date text once (a file has few distinct dates) into a join table."""
    stages = date_stages(order)
    relation = f"(SELECT invoice_date AS raw_text, {text('invoice_date')} AS t_invoice_date " \
        "FROM (SELECT DISTINCT invoice_date FROM raw) raw) d"
    for stage in stages:
        relation = f"(SELECT *, {stage} FROM {relation}) d"
    con.execute(
        f"CREATE OR REPLACE TABLE map_invoice_date AS SELECT raw_text AS raw, n_invoice_date AS value FROM {relation}"
    )


def _condition(col: Column, when: str, raw_text: str, value: str) -> str:
    if when == "empty":
        return f"{raw_text} IS NULL"
    if when in ("not_number", "not_date"):
        return f"{raw_text} IS NOT NULL AND {value} IS NULL"
    if when == "not_integer":
        return f"{raw_text} IS NOT NULL AND ({value} IS NULL OR {value} <> floor({value}))"
    if when in ("< 0", "<= 0"):
        return f"{value} {when}"
    raise ValueError(f"{col.name}: unknown check {when!r} in lake_schemas")


def _detail(col: Column, when: str, raw_text: str, order: str) -> str:
    shown = f"'''' || {raw_text} || ''''"
    if when == "empty":
        return sql_literal(f"{col.name} is empty")
    if when == "not_number":
        return f"{sql_literal(col.name + ' ')} || {shown} || ' is not a number'"
    if when == "not_integer":
        return f"{sql_literal(col.name + ' ')} || {shown} || ' is not a whole number'"
    if when == "not_date":
        return f"{sql_literal(col.name + ' ')} || {shown} || {sql_literal(f' is not a valid date ({order})')}"
    if when == "< 0":
        return f"{sql_literal(col.name + ' ')} || {raw_text} || ' is negative'"
    return f"{sql_literal(col.name + ' ')} || {raw_text} || ' is not greater than 0'"


def _dimension_maps(con: duckdb.DuckDBPyConnection) -> None:
    """Map each distinct value of the dimension columns once, in Python, into small join tables."""
    for col, normalise in _DIMENSIONS.items():
        distinct = [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM raw").fetchall()]
        rows = [(value, *normalise(value)) for value in distinct]
        con.execute(f"CREATE OR REPLACE TABLE map_{col} (raw VARCHAR, value VARCHAR, flag VARCHAR)")
        if rows:
            con.executemany(f"INSERT INTO map_{col} VALUES (?, ?, ?)", rows)


def build_checked(con: duckdb.DuckDBPyConnection, spec: Table, source: str) -> str:
    """Create table ``checked`` from ``raw``/``rejects``; returns the date order used."""
    order = date_order(con)
    _dimension_maps(con)
    inputs = [c.name for c in spec.input_columns]
    numeric = ["quantity", "price", "unit_price", "discount", "unit_cost", "age"]

    # Layer by layer: text -> numbers/dates -> derived values -> rules. Each layer names its results.
    layers: list[list[str]] = [[f"{text(c)} AS t_{c}" for c in inputs]]
    number_layers = [number_stages(c) for c in numeric]
    for depth in range(3):
        layers.append([stages[depth] for stages in number_layers])
    _date_map(con, order)
    layers.append([
        "CASE WHEN t_price IS NULL THEN round(n_unit_price * n_quantity, 2) ELSE n_price END AS v_price",
        "coalesce(t_price, t_unit_price) AS t_price_or_unit",
        "n_age BETWEEN 0 AND 120 AND n_age = floor(n_age) AS age_ok",
    ])
    raw_texts = {c: f"t_{c}" for c in inputs} | {"price": "t_price_or_unit"}
    values = {c: f"n_{c}" for c in inputs} | {"price": "v_price"}
    rules, details = [], []
    for col in spec.input_columns:
        for check in col.checks:
            cond = _condition(col, check.when, raw_texts[col.name], values[col.name])
            rules.append(f"WHEN {cond} THEN {sql_literal(check.rule)}")
            details.append(
                f"WHEN rule = {sql_literal(check.rule)} THEN {_detail(col, check.when, raw_texts[col.name], order)}"
            )

    layers.append([f"CASE {' '.join(rules)} END AS rule"])

    # Parsed rows get their data-row number back by adding the parser rejects that came before them.
    has_rejects = con.execute("SELECT count(*) FROM rejects").fetchone()[0] > 0
    if has_rejects:
        con.execute(
            """CREATE OR REPLACE TABLE reject_gaps AS
               SELECT accepted_before, max(j) AS rejects_before FROM (
                   SELECT data_row - row_number() OVER (ORDER BY data_row) AS accepted_before,
                          row_number() OVER (ORDER BY data_row) AS j FROM rejects)
               GROUP BY accepted_before"""
        )
        numbered = (
            "SELECT r.*, r.ordinal + coalesce(g.rejects_before, 0) AS row_number FROM "
            "(SELECT raw.rowid + 1 AS ordinal, raw.* FROM raw) r "
            "ASOF LEFT JOIN reject_gaps g ON r.ordinal > g.accepted_before"
        )
    else:
        numbered = "SELECT raw.rowid + 1 AS ordinal, raw.rowid + 1 AS row_number, raw.* FROM raw"
    numbered = (
        f"SELECT n.*, md.value AS n_invoice_date FROM ({numbered}) n "
        "LEFT JOIN map_invoice_date md ON md.raw IS NOT DISTINCT FROM n.invoice_date"
    )
    relation = f"({numbered}) raw"
    for layer in layers:
        relation = f"(SELECT *, {', '.join(layer)} FROM {relation}) x"

    # ``checked`` holds typed values only; quarantine re-reads the text as received from ``raw``
    # (by ordinal), so the common all-good file never materialises its text twice.
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT
            x.ordinal,
            x.row_number,
            t_invoice_no AS invoice_no,
            regexp_replace(t_customer_id, '^(\\d+)\\.0+$', '\\1') AS customer_id,
            mg.value AS gender,
            CASE WHEN age_ok THEN CAST(n_age AS INTEGER) END AS age,
            mc.value AS category,
            CAST(CASE WHEN n_quantity BETWEEN 1 AND 2147483647 THEN n_quantity END AS INTEGER) AS quantity,
            v_price AS price,
            coalesce(n_unit_price, CASE WHEN n_quantity > 0 THEN round(v_price / n_quantity, 4) END) AS unit_price,
            mp.value AS payment_method,
            n_invoice_date AS invoice_date,
            ms.value AS shopping_mall,
            n_discount AS discount,
            n_unit_cost AS unit_cost,
            nullif(concat_ws(';', mc.flag, mp.flag, mg.flag,
                CASE WHEN t_age IS NOT NULL AND NOT coalesce(age_ok, false) THEN 'bad_age' END,
                ms.flag), '') AS flags,
            rule,
            CASE WHEN rule IS NOT NULL THEN CASE {' '.join(details)} END END AS detail,
            CAST(NULL AS VARCHAR) AS raw_line
        FROM {relation}
        LEFT JOIN map_category mc ON mc.raw IS NOT DISTINCT FROM x.category
        LEFT JOIN map_payment_method mp ON mp.raw IS NOT DISTINCT FROM x.payment_method
        LEFT JOIN map_gender mg ON mg.raw IS NOT DISTINCT FROM x.gender
        LEFT JOIN map_shopping_mall ms ON ms.raw IS NOT DISTINCT FROM x.shopping_mall
        ORDER BY year(n_invoice_date), month(n_invoice_date), x.row_number
        """
    )
    # Exact repeats of an earlier accepted row (same normalised values) are duplicates. Only invoices
    # seen more than once can repeat, so the wide comparison runs on those rows alone.
    key = ", ".join(
        ["invoice_no", "customer_id", "gender", "age", "category", "quantity", "price", "payment_method",
         "invoice_date", "shopping_mall", "discount", "unit_cost"]
    )
    con.execute(
        f"""
        UPDATE checked SET rule = 'duplicate_row', detail = 'exact repeat of row ' || d.first_row
        FROM (
            SELECT row_number, min(row_number) OVER (PARTITION BY {key}) AS first_row
            FROM checked
            WHERE rule IS NULL AND invoice_no IN (
                SELECT invoice_no FROM checked WHERE rule IS NULL GROUP BY invoice_no HAVING count(*) > 1)
        ) d
        WHERE checked.row_number = d.row_number AND d.row_number <> d.first_row
        """
    )
    if has_rejects:
        cases = " ".join(f"WHEN error_type LIKE '%{k}%' THEN '{v}'" for k, v in PARSER_RULES.items())
        texts = " ".join(
            f"WHEN error_type LIKE '%{k}%' THEN {sql_literal(v)}" for k, v in _PARSER_DETAILS.items()
        )
        con.execute(
            f"""
            INSERT INTO checked BY NAME
            SELECT data_row AS row_number,
                   CASE {cases} ELSE 'unparseable_row' END AS rule,
                   CASE {texts} ELSE 'the line could not be read as CSV fields ('
                        || lower(error_type) || ')' END AS detail,
                   raw_line
            FROM rejects
            """
        )
    con.execute(
        f"UPDATE checked SET detail = {sql_literal(source)} || ' row ' || row_number || ': ' || rule || ': ' "
        "|| detail WHERE rule IS NOT NULL"
    )
    return order


def build_all_rejected(con: duckdb.DuckDBPyConnection, spec: Table, source: str, rule: str, detail: str) -> None:
    """``checked`` for a file that cannot be used: every row quarantined with the file's reason."""
    reason = f"{sql_literal(source)} || ' row ' || row_number || ': ' || {sql_literal(rule + ': ' + detail)}"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT ordinal, row_number, {sql_literal(rule)} AS rule, {reason} AS detail, raw_line,
               NULL AS flags FROM (
            SELECT raw.rowid + 1 AS ordinal, raw.rowid + 1 AS row_number, CAST(NULL AS VARCHAR) AS raw_line
            FROM raw
            UNION ALL
            SELECT NULL, data_row, raw_line FROM rejects
        )
        """
    )
