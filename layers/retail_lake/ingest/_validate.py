"""Row validation and normalisation, as DuckDB SQL generated from lake_schemas/sales.yaml.

Input: table ``raw`` (text columns named like the sales schema, in file order) and ``rejects`` (rows
the CSV parser could not split). Output: table ``checked`` with one row per data row of the file:
the typed, normalised values, ``rule``/``detail`` of the first check it broke (NULL when accepted),
and ``flags`` (kept-but-flagged problems). Exact repeats of an earlier row become ``duplicate_row``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retail_lake.ingest._normalise import (
    normalise_category,
    normalise_gender,
    normalise_mall,
    normalise_payment,
)
from retail_lake.lake import sql_literal
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
    """The trimmed text of a raw column, NULL for empty and null-like tokens."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    return f"CASE WHEN lower(trim(raw.{col})) IN ({tokens}) THEN NULL ELSE trim(raw.{col}) END"


def number(expr: str) -> str:
    """Text -> DOUBLE, accepting 1,234.50 / 1.234,50 / 12,5 and a currency sign; NULL if not a number."""
    cleaned = f"regexp_replace({expr}, '[\\s$€£₺]|TL|TRY', '', 'g')"
    slow = (
        f"CASE WHEN regexp_matches({cleaned}, '^[-+]?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?$') "
        f"THEN TRY_CAST(replace({cleaned}, ',', '') AS DOUBLE) "
        f"WHEN regexp_matches({cleaned}, '^[-+]?\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$') "
        f"THEN TRY_CAST(replace(replace({cleaned}, '.', ''), ',', '.') AS DOUBLE) "
        f"WHEN regexp_matches({cleaned}, '^[-+]?\\d*,\\d+$') "
        f"THEN TRY_CAST(replace({cleaned}, ',', '.') AS DOUBLE) END"
    )
    value = f"coalesce(TRY_CAST({expr} AS DOUBLE), {slow})"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


def date_order(con: duckdb.DuckDBPyConnection) -> str:
    """'day/month/year' unless the file's dates only make sense as month/day/year."""
    d = f"split_part(split_part({text('invoice_date')}, ' ', 1), 'T', 1)"
    dmy, mdy = con.execute(
        f"SELECT count(try_strptime({d}, '%d/%m/%Y')), count(try_strptime({d}, '%m/%d/%Y')) FROM raw"
    ).fetchone()
    return "month/day/year" if mdy > dmy else "day/month/year"


def parse_date(expr: str, order: str) -> str:
    four, two = _DATE_FORMATS[order]
    d = f"split_part(split_part({expr}, ' ', 1), 'T', 1)"
    y4 = f"try_strptime({d}, [{', '.join(sql_literal(f) for f in four)}])"
    y2 = f"try_strptime({d}, [{', '.join(sql_literal(f) for f in two)}])"
    return (
        f"CAST(CASE WHEN year({y4}) BETWEEN 1900 AND 2100 THEN {y4} "
        f"WHEN year({y2}) BETWEEN 1900 AND 2100 THEN {y2} END AS DATE)"
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
    t = {c.name: text(c.name) for c in spec.input_columns}
    quantity = number(t["quantity"])
    unit_price = number(t["unit_price"])
    price_text = f"coalesce({t['price']}, {t['unit_price']})"
    price = f"CASE WHEN {t['price']} IS NULL THEN round({unit_price} * {quantity}, 2) ELSE {number(t['price'])} END"
    values = {
        "invoice_no": t["invoice_no"],
        "customer_id": f"regexp_replace({t['customer_id']}, '^(\\d+)\\.0+$', '\\1')",
        "quantity": quantity,
        "price": price,
        "unit_price": unit_price,
        "invoice_date": parse_date(t["invoice_date"], order),
        "discount": number(t["discount"]),
        "unit_cost": number(t["unit_cost"]),
    }
    raw_texts = {**t, "price": price_text}

    rules, details = [], []
    for col in spec.input_columns:
        for check in col.checks:
            cond = _condition(col, check.when, raw_texts[col.name], values[col.name])
            rules.append(f"WHEN {cond} THEN {sql_literal(check.rule)}")
            details.append(f"WHEN {cond} THEN {_detail(col, check.when, raw_texts[col.name], order)}")
    age = number(t["age"])
    age_ok = f"{age} BETWEEN 0 AND 120 AND {age} = floor({age})"

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
        numbered = "SELECT raw.rowid + 1 AS row_number, raw.* FROM raw"

    raw_cols = ", ".join(f"raw.{c.name} AS raw_{c.name}" for c in spec.input_columns)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT
            raw.row_number,
            {raw_cols},
            {values['invoice_no']} AS invoice_no,
            {values['customer_id']} AS customer_id,
            mg.value AS gender,
            CASE WHEN {age_ok} THEN CAST({age} AS INTEGER) END AS age,
            mc.value AS category,
            CAST(CASE WHEN {quantity} BETWEEN 1 AND 2147483647 THEN {quantity} END AS INTEGER) AS quantity,
            {price} AS price,
            coalesce({unit_price}, CASE WHEN {quantity} > 0 THEN round({price} / {quantity}, 4) END)
                AS unit_price,
            mp.value AS payment_method,
            {values['invoice_date']} AS invoice_date,
            ms.value AS shopping_mall,
            {values['discount']} AS discount,
            {values['unit_cost']} AS unit_cost,
            nullif(concat_ws(';', mc.flag, mp.flag, mg.flag,
                CASE WHEN {t['age']} IS NOT NULL AND NOT coalesce({age_ok}, false) THEN 'bad_age' END,
                ms.flag), '') AS flags,
            CASE {' '.join(rules)} END AS rule,
            CASE {' '.join(details)} END AS detail,
            CAST(NULL AS VARCHAR) AS raw_line
        FROM ({numbered}) raw
        LEFT JOIN map_category mc ON mc.raw IS NOT DISTINCT FROM raw.category
        LEFT JOIN map_payment_method mp ON mp.raw IS NOT DISTINCT FROM raw.payment_method
        LEFT JOIN map_gender mg ON mg.raw IS NOT DISTINCT FROM raw.gender
        LEFT JOIN map_shopping_mall ms ON ms.raw IS NOT DISTINCT FROM raw.shopping_mall
        """
    )
    # Exact repeats of an earlier accepted row (same normalised values) are duplicates.
    key = ", ".join(
        ["invoice_no", "customer_id", "gender", "age", "category", "quantity", "price", "payment_method",
         "invoice_date", "shopping_mall", "discount", "unit_cost"]
    )
    con.execute(
        f"""
        UPDATE checked SET rule = 'duplicate_row', detail = 'exact repeat of row ' || d.first_row
        FROM (
            SELECT row_number, min(row_number) OVER (PARTITION BY {key}) AS first_row
            FROM checked WHERE rule IS NULL
        ) d
        WHERE checked.row_number = d.row_number AND d.row_number <> d.first_row
        """
    )
    if has_rejects:
        null_cols = ", ".join(f"NULL AS raw_{c.name}" for c in spec.input_columns)
        typed_nulls = ", ".join(
            f"CAST(NULL AS {spec.column(c).duckdb_type}) AS {c}"
            for c in ["invoice_no", "customer_id", "gender", "age", "category", "quantity", "price",
                      "unit_price", "payment_method", "invoice_date", "shopping_mall", "discount", "unit_cost"]
        )
        cases = " ".join(f"WHEN error_type LIKE '%{k}%' THEN '{v}'" for k, v in PARSER_RULES.items())
        texts = " ".join(
            f"WHEN error_type LIKE '%{k}%' THEN {sql_literal(v)}" for k, v in _PARSER_DETAILS.items()
        )
        con.execute(
            f"""
            INSERT INTO checked BY NAME
            SELECT data_row AS row_number, {null_cols}, {typed_nulls}, NULL AS flags,
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
    raw_cols = ", ".join(f"raw.{c.name} AS raw_{c.name}" for c in spec.input_columns)
    null_cols = ", ".join(f"NULL AS raw_{c.name}" for c in spec.input_columns)
    reason = f"{sql_literal(source)} || ' row ' || row_number || ': ' || {sql_literal(rule + ': ' + detail)}"
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT row_number, * EXCLUDE (row_number), {sql_literal(rule)} AS rule, {reason} AS detail FROM (
            SELECT raw.rowid + 1 AS row_number, {raw_cols}, CAST(NULL AS VARCHAR) AS raw_line FROM raw
            UNION ALL
            SELECT data_row, {null_cols}, raw_line FROM rejects
        )
        """
    )
