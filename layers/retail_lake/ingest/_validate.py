"""Row validation and normalisation, as DuckDB SQL generated from lake_schemas/sales.yaml.

Input: table ``raw`` (text columns named like the sales schema, in file order) and ``rejects`` (rows
the CSV parser could not split). Output: table ``checked`` with one row per data row of the file:
the typed, normalised values, ``rule``/``detail`` of the first check it broke (NULL when accepted),
and ``flags`` (kept-but-flagged problems). Exact repeats of an earlier row become ``duplicate_row``.

Two things are decided per file before any row is judged, from the values themselves, so that a
value is read one way or refused, never guessed row by row:

- the number format: decimal point (``1,234.50``) or decimal comma with '.' thousands (``1.234,50``).
  A value that only fits the other format is quarantined; ``1.500`` is 1.5 in a decimal-point file
  and 1500 in a decimal-comma one, never the other;
- the date order: day/month/year (the reference) or month/day/year. When the file's dates
  contradict each other (many readable only one way, many only the other), a date that reads both
  ways is quarantined as ``ambiguous_date``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from retail_lake.duck import sql_literal
from retail_lake.ingest._normalise import (
    normalise_category,
    normalise_gender,
    normalise_mall,
    normalise_payment,
)
from retail_lake.ingest._rows import table_from_rows
from retail_lake.schemas import Column, Layout, Table

if TYPE_CHECKING:
    import duckdb

NULL_TOKENS = ("", "null", "na", "n/a", "nan", "none", "nil", "-")
DAY_FIRST, MONTH_FIRST = "day/month/year", "month/day/year"
POINT, COMMA = "decimal point", "decimal comma"
# The minority date order must reach this share of the majority's evidence (rows readable only one
# way) for a file to count as contradictory; below it, the few dates that only read the other way
# are typos (31/13/2022-like) and fail as bad_date.
CONTRADICTION_SHARE = 0.05
# Parser reject types -> quarantine rule.
PARSER_RULES = {
    "INVALID ENCODING": "invalid_encoding",
    "MISSING COLUMNS": "wrong_column_count",
    "TOO MANY COLUMNS": "wrong_column_count",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
_PARSER_DETAILS = {
    "INVALID ENCODING": "the line has bytes that are not text in the file's encoding; raw_line keeps them "
                        "(\\xNN escapes)",
    "MISSING COLUMNS": "the line has fewer fields than the header",
    "TOO MANY COLUMNS": "the line has more fields than the header (an unquoted comma?)",
    "UNQUOTED VALUE": "a field has a stray quote character",
    "LINE SIZE OVER MAXIMUM": "the line is longer than the line limit (INGEST_MAX_LINE_BYTES); raw_line keeps "
                              "its start",
}
# SQL over ``rejects``: a parser reject's rule and the sentence that explains it.
_PARSER_RULE = ("CASE " + " ".join(f"WHEN error_type LIKE '%{k}%' THEN '{v}'" for k, v in PARSER_RULES.items())
                + " ELSE 'unparseable_row' END")
_PARSER_DETAIL = ("CASE " + " ".join(f"WHEN error_type LIKE '%{k}%' THEN {sql_literal(v)}"
                                     for k, v in _PARSER_DETAILS.items())
                  + " ELSE 'the line could not be read as CSV fields (' || lower(error_type) || ')' END")
_DIMENSIONS = {
    "category": normalise_category,
    "payment_method": normalise_payment,
    "gender": normalise_gender,
    "shopping_mall": normalise_mall,
}
# Names a spreadsheet would run as a formula when the text is opened there (CSV export, copy-paste).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FLAGGED = ("category", "shopping_mall", "payment_method")
NUMERIC_COLUMNS = ("quantity", "price", "unit_price", "discount", "unit_cost", "age")
_MONEY_DECIMALS = 4  # a line total computed from unit_price: the analytics' money scale, DECIMAL(18, 4)
# Optional sales columns ``checked`` holds only when the file has them, with the layer value each is.
_HELD_WHEN_PRESENT = {"unit_price": "n_unit_price", "discount": "v_discount", "unit_cost": "n_unit_cost"}
# A dimension with at most this many values is an ENUM in ``checked`` and reaches the Parquet writer as
# one (see ``accepted``); beyond it, text (the writer puts an ENUM's whole dictionary in every file).
DIMENSION_ENUM_MAX_VALUES = 1000


@dataclass(frozen=True)
class DateRange:
    """Plausible invoice dates (Settings: INGEST_MIN_DATE, INGEST_MAX_DATE)."""

    first: date
    last: date

    def __str__(self) -> str:
        return f"{self.first.isoformat()} .. {self.last.isoformat()}"


@dataclass(frozen=True)
class FileDecisions:
    """What was decided for the whole file, printed in the summary."""

    date_order: str = DAY_FIRST
    dates_contradict: bool = False
    day_first_rows: int = 0
    month_first_rows: int = 0
    number_format: str = POINT
    date_order_from: str = ""  # the layout whose order was taken (no date in the file settled it)
    number_format_from: str = ""  # why the format was taken when no number in the file settled it

    def notes(self) -> list[str]:
        if self.dates_contradict:
            dates = (f"dates contradict each other ({self.day_first_rows:,} rows only day/month, "
                     f"{self.month_first_rows:,} only month/day): dates readable both ways quarantined")
        elif self.date_order_from:
            dates = (f"dates read as {self.date_order} (layout {self.date_order_from}: no date in the file reads "
                     "one way only)")
        else:
            dates = f"dates read as {self.date_order}"
        numbers = "numbers: decimal comma, '.' thousands" if self.number_format == COMMA else \
            "numbers: decimal point, ',' thousands"
        if self.number_format_from:
            numbers += f" ({self.number_format_from})"
        return [dates, numbers]


def text(col: str) -> str:
    """The trimmed text of a raw column, NULL for empty and null-like tokens ('NULL', 'n/a', ...)."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    trimmed = f"trim(raw.{col})"
    return f"CASE WHEN length({trimmed}) > 4 OR NOT list_contains([{tokens}], lower({trimmed})) THEN {trimmed} END"


# --- numbers -----------------------------------------------------------------------------------

_CLEAN = "regexp_replace(@, '[\\s$€£₺]|TL|TRY', '', 'g')"
# Patterns use '@' for the value they test (str.replace, not str.format: regex braces stay as they are).
_COMMA_ONLY = (
    r"(regexp_full_match(@, '[-+]?\d*,\d+') AND NOT regexp_full_match(@, '[-+]?[1-9]\d{0,2},\d{3}'))"
    r" OR regexp_full_match(@, '[-+]?\d{1,3}(\.\d{3})+,\d+')"
    r" OR regexp_full_match(@, '[-+]?\d{1,3}(\.\d{3}){2,}')"
)
_POINT_ONLY = (
    r"(regexp_full_match(@, '[-+]?\d*\.\d+') AND NOT regexp_full_match(@, '[-+]?[1-9]\d{0,2}\.\d{3}'))"
    r" OR regexp_full_match(@, '[-+]?\d{1,3}(,\d{3})+\.\d+')"
    r" OR regexp_full_match(@, '[-+]?\d{1,3}(,\d{3}){2,}')"
)
# Values the fast cast does not take, read in the file's format after currency signs and spaces are
# removed: only the separated forms (1,234.50 / 1.234,50 / 12,5 with or without 'TL', '$', spaces).
# A plain number with a currency sign ('TL600.16') is refused, as the generator's messy rows expect:
# in a file of plain numbers the sign marks a hand-edited cell.
_SLOW = {
    POINT: (
        r"CASE WHEN regexp_full_match(@, '[-+]?\d{1,3}(,\d{3})+(\.\d+)?') "
        r"THEN TRY_CAST(replace(@, ',', '') AS DOUBLE) END"
    ),
    COMMA: (
        r"CASE WHEN regexp_full_match(@, '[-+]?\d{1,3}(\.\d{3})+(,\d+)?') "
        r"THEN TRY_CAST(replace(replace(@, '.', ''), ',', '.') AS DOUBLE) "
        r"WHEN regexp_full_match(@, '[-+]?\d*,\d+') "
        r"THEN TRY_CAST(replace(@, ',', '.') AS DOUBLE) END"
    ),
}


def _on(template: str, value: str) -> str:
    return template.replace("@", value)


SEMICOLON_FILE = "no number in the file reads one way only, and ';' separates its fields"


def number_format(con: duckdb.DuckDBPyConnection, present: list[str], delimiter: str = ",") -> tuple[str, str]:
    """POINT or COMMA for the whole file, and why when its values did not say: which format more of
    its distinct number values can only be written in (``12,5`` / ``1.234,50`` against ``12.50`` /
    ``1,234.50``). No evidence either way (whole numbers, ``1.500``-like values only) is settled
    by the field delimiter: ';' is the list separator of the locales that write decimal commas (as
    Excel exports there: ``1.500`` is 1500 TL), so a semicolon file reads them as decimal comma;
    any other keeps the reference decimal point."""
    columns = [c for c in present if c in NUMERIC_COLUMNS]
    if not columns:
        return POINT, ""
    distinct = " UNION ".join(
        f"SELECT {_on(_CLEAN, 'trim(v)')} AS v FROM (SELECT DISTINCT {c} AS v FROM raw "
        f"WHERE contains({c}, ',') OR contains({c}, '.'))"
        for c in columns
    )
    comma, point = con.execute(
        f"SELECT count(*) FILTER (WHERE {_on(_COMMA_ONLY, 'v')}), "
        f"count(*) FILTER (WHERE {_on(_POINT_ONLY, 'v')}) FROM ({distinct})"
    ).fetchone()
    if (comma or 0) == (point or 0) and delimiter == ";":
        return COMMA, SEMICOLON_FILE
    return (COMMA if (comma or 0) > (point or 0) else POINT), ""


def _text_of(col: str) -> str:
    """``text()`` over a column of the layered query (no ``raw.`` qualifier)."""
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    trimmed = f"trim({col})"
    return f"CASE WHEN length({trimmed}) > 4 OR NOT list_contains([{tokens}], lower({trimmed})) THEN {trimmed} END"


def number_stages(col: str, fmt: str = POINT, present: bool = True) -> list[str]:
    """Raw text column ``<col>`` -> text ``t_<col>`` and DOUBLE ``n_<col>`` in five query layers.

    The fast path is DuckDB's own cast of the text as received (it allows surrounding spaces): a
    value with no thousands separator in a decimal-point file, no '.' at all in a decimal-comma one.
    Only the rest is trimmed, checked for null tokens ('n/a', 'NaN'), cleaned of currency signs and
    spaces and matched against the file's format. ``n_<col>`` is NULL when the value is not a finite
    number in that format; ``t_<col>`` is NULL when the value is empty or a null token.
    """
    if not present:  # a column the file does not have: constants, folded away by the planner
        return [f"CAST(NULL AS DOUBLE) AS f_{col}", f"CAST(NULL AS VARCHAR) AS t_{col}",
                f"CAST(NULL AS VARCHAR) AS c_{col}", f"CAST(NULL AS DOUBLE) AS g_{col}",
                f"CAST(NULL AS DOUBLE) AS n_{col}"]
    fast = f"TRY_CAST({col} AS DOUBLE)" if fmt == POINT else \
        f"CASE WHEN NOT contains({col}, '.') THEN TRY_CAST({col} AS DOUBLE) END"
    return [
        f"{fast} AS f_{col}",
        f"CASE WHEN isfinite(f_{col}) THEN {col} ELSE {_text_of(col)} END AS t_{col}",
        f"CASE WHEN f_{col} IS NULL AND t_{col} IS NOT NULL THEN {_on(_CLEAN, 't_' + col)} END AS c_{col}",
        f"coalesce(f_{col}, {_on(_SLOW[fmt], 'c_' + col)}) AS g_{col}",
        f"CASE WHEN isfinite(g_{col}) THEN g_{col} END AS n_{col}",
    ]


# --- dates -------------------------------------------------------------------------------------

_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")


def _named_month(word: str) -> str:
    """SQL: the month number (1-12) of an English month name or its abbreviation ('Aug', 'Sept',
    'August'), else NULL."""
    names = ", ".join(sql_literal(m) for m in _MONTH_NAMES)
    prefix = f"lower(rtrim({word}, '.'))"
    return (f"CASE WHEN length({prefix}) >= 3 THEN list_position(list_transform([{names}], "
            f"lambda m: starts_with(m, {prefix})), true) END")


def _date_parts(con: duckdb.DuckDBPyConnection) -> None:
    """``date_parts``: every distinct invoice_date text with its row count and both readings.

    Dates with a month name ('5-Aug-2022', '5 August 2022', 'Aug 5, 2022') are unambiguous and
    read as such (kind 'named'); numeric ones are read both ways and the file's order decides."""
    d = "split_part(split_part(t, ' ', 1), 'T', 1)"
    named_dmy = sql_literal(r"^(\d{1,2})[-/ .]+([A-Za-z]{3,9}\.?)[-/ .,]+(\d+)(?:[ T]\d.*)?$")
    named_mdy = sql_literal(r"^([A-Za-z]{3,9}\.?)[-/ .]+(\d{1,2})(?:st|nd|rd|th)?[-/ .,]+(\d+)(?:[ T]\d.*)?$")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE date_parts AS
        WITH texts AS (
            SELECT invoice_date AS raw_text, count(*) AS n, {text('invoice_date')} AS t
            FROM raw GROUP BY invoice_date
        ), parts AS (
            SELECT raw_text, n, t, {d} AS s FROM texts
        ), split AS (
            SELECT *,
                   regexp_extract(s, '^(\\d{{4}})[-/.](\\d{{1,2}})[-/.](\\d{{1,2}})$', ['y', 'm', 'd']) AS iso,
                   regexp_extract(s, '^(\\d{{4}})(\\d{{2}})(\\d{{2}})$', ['y', 'm', 'd']) AS compact,
                   regexp_extract(s, '^(\\d{{1,2}})[-/.](\\d{{1,2}})[-/.](\\d+)$', ['a', 'b', 'y']) AS dmy,
                   regexp_extract(t, {named_dmy}, ['d', 'mon', 'y']) AS named_dmy,
                   regexp_extract(t, {named_mdy}, ['mon', 'd', 'y']) AS named_mdy
            FROM parts
        ), named_parts AS (
            SELECT *,
                   CASE WHEN named_dmy.y <> '' THEN named_dmy.d ELSE named_mdy.d END AS named_d,
                   CASE WHEN named_dmy.y <> '' THEN named_dmy.mon ELSE named_mdy.mon END AS named_mon,
                   CASE WHEN named_dmy.y <> '' THEN named_dmy.y ELSE named_mdy.y END AS named_y
            FROM split
        ), named AS (
            SELECT *, CASE WHEN named_y <> '' THEN {_named_month('named_mon')} END AS named_month FROM named_parts
        )
        SELECT raw_text, n, t,
               CASE WHEN iso.y <> '' THEN 'iso' WHEN compact.y <> '' THEN 'iso'
                    WHEN dmy.a <> '' AND length(dmy.y) = 2 THEN 'two_digit_year'
                    WHEN dmy.a <> '' AND length(dmy.y) = 4 THEN 'dmy'
                    WHEN named_month IS NOT NULL AND length(named_y) = 2 THEN 'two_digit_year'
                    WHEN named_month IS NOT NULL AND length(named_y) = 4 THEN 'named' END AS kind,
               CAST(try_strptime(named_y || '-' || named_month || '-' || named_d, '%Y-%m-%d') AS DATE) AS named_date,
               CAST(CASE WHEN iso.y <> '' THEN try_strptime(iso.y || '-' || iso.m || '-' || iso.d, '%Y-%m-%d')
                         WHEN compact.y <> '' THEN try_strptime(s, '%Y%m%d') END AS DATE) AS iso_date,
               CAST(try_strptime(dmy.y || '-' || dmy.b || '-' || dmy.a, '%Y-%m-%d') AS DATE) AS day_first,
               CAST(try_strptime(dmy.y || '-' || dmy.a || '-' || dmy.b, '%Y-%m-%d') AS DATE) AS month_first
        FROM named
        """
    )


def _date_map(con: duckdb.DuckDBPyConnection, date_range: DateRange, layout: Layout | None = None) -> FileDecisions:
    """``map_invoice_date`` (raw text -> DATE or the date problem), after deciding the file's order:
    the order more of its dates can only be read in; when none reads one way only, the known
    layout's order (``dates`` in lake_schemas), else day/month (the reference dataset's)."""
    _date_parts(con)
    only_day_first, only_month_first, numeric = con.execute(
        "SELECT coalesce(sum(n) FILTER (WHERE kind = 'dmy' AND day_first IS NOT NULL AND month_first IS NULL), 0), "
        "coalesce(sum(n) FILTER (WHERE kind = 'dmy' AND month_first IS NOT NULL AND day_first IS NULL), 0), "
        "count(*) FILTER (WHERE kind = 'dmy') "
        "FROM date_parts"
    ).fetchone()
    settled = only_day_first or only_month_first or not numeric
    from_layout = layout.name if layout is not None and layout.dates and not settled else ""
    # The reading taken (a date_parts column; the layout's ``dates`` names one the same way).
    evidence = "month_first" if only_month_first > only_day_first else "day_first"
    chosen = layout.dates if from_layout and layout is not None else evidence
    order = MONTH_FIRST if chosen == "month_first" else DAY_FIRST
    minority, majority = sorted((int(only_day_first), int(only_month_first)))
    contradict = minority > 0 and minority >= CONTRADICTION_SHARE * majority
    if contradict:
        value = ("CASE WHEN day_first IS NOT NULL AND month_first IS NOT NULL AND day_first <> month_first "
                 "THEN NULL ELSE coalesce(day_first, month_first) END")
        problem_dmy = ("CASE WHEN day_first IS NOT NULL AND month_first IS NOT NULL AND day_first <> month_first "
                       "THEN 'ambiguous_date' WHEN day_first IS NULL AND month_first IS NULL THEN 'not_date' END")
    else:
        value = chosen
        problem_dmy = f"CASE WHEN {chosen} IS NULL THEN 'not_date' END"
    first, last = (sql_literal(d.isoformat()) for d in (date_range.first, date_range.last))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE map_invoice_date AS
        SELECT raw, CASE WHEN problem IS NULL THEN value END AS value, problem, text FROM (
            SELECT raw, value, text,
                   CASE WHEN problem IS NOT NULL THEN problem
                        WHEN value < DATE {first} OR value > DATE {last} THEN 'outside_date_range' END AS problem
            FROM (
                SELECT raw_text AS raw, t AS text,
                       CASE kind WHEN 'iso' THEN iso_date WHEN 'named' THEN named_date WHEN 'dmy' THEN {value}
                            END AS value,
                       CASE WHEN t IS NULL THEN NULL
                            WHEN kind = 'iso' THEN CASE WHEN iso_date IS NULL THEN 'not_date' END
                            WHEN kind = 'named' THEN CASE WHEN named_date IS NULL THEN 'not_date' END
                            WHEN kind = 'dmy' THEN {problem_dmy}
                            WHEN kind = 'two_digit_year' THEN 'two_digit_year'
                            ELSE 'not_date' END AS problem
                FROM date_parts
            )
        )
        """
    )
    return FileDecisions(order, contradict, int(only_day_first), int(only_month_first),
                         date_order_from=from_layout)


# --- rules from lake_schemas -------------------------------------------------------------------

_DATE_PROBLEMS = ("not_date", "two_digit_year", "ambiguous_date", "outside_date_range")


def _bound(when: str) -> tuple[str, float] | None:
    """('<', 0.0) for '< 0', ('>', 1e9) for '> 1000000000': a comparison check of lake_schemas."""
    for op in ("<=", ">=", "<", ">"):
        if when.startswith(op):
            try:
                return op, float(when[len(op):].strip())
            except ValueError:
                return None
    return None


def _times(when: str) -> tuple[str, str] | None:
    """('quantity', '> 1000000000') for '* quantity > 1000000000': the value times another column."""
    if not when.startswith("*"):
        return None
    other, _, bound = when[1:].strip().partition(" ")
    return (other, bound.strip()) if other.isidentifier() and _bound(bound.strip()) else None


def _condition(col: Column, when: str, raw_text: str, value: str) -> str:
    if when == "empty":
        return f"{raw_text} IS NULL"
    if when == "not_number":
        return f"{raw_text} IS NOT NULL AND {value} IS NULL"
    if when == "not_integer":
        return f"{raw_text} IS NOT NULL AND ({value} IS NULL OR {value} <> floor({value}))"
    if when in _DATE_PROBLEMS:
        return f"{raw_text} IS NOT NULL AND d_problem = {sql_literal(when)}"
    bound = _bound(when)
    if bound is not None:
        return f"{value} {bound[0]} {bound[1]!r}"
    times = _times(when)
    if times is not None:
        op, limit = _bound(times[1]) or ("", 0.0)
        return f"{value} * n_{times[0]} {op} {limit!r}"
    raise ValueError(f"{col.name}: unknown check {when!r} in lake_schemas")


def _detail(col: Column, when: str, raw_text: str, decisions: FileDecisions, date_range: DateRange,
            present: Collection[str] = ()) -> str:
    shown = f"'''' || {raw_text} || ''''"
    name = sql_literal(col.name + " ")
    text_name = name  # the column whose text the reason shows as received
    if col.name == "price" and "unit_price" in present:
        # A row's price is the file's price, else its unit_price x quantity: a reason that shows the
        # text names the column it came from (bounds show the computed total with its factors).
        text_name = "CASE WHEN t_price IS NULL AND t_unit_price IS NOT NULL THEN 'unit_price ' ELSE 'price ' END"
        if when == "empty":
            return sql_literal("price and unit_price are empty" if "price" in present else "unit_price is empty")
    if when == "empty":
        return sql_literal(f"{col.name} is empty")
    if when == "not_number":
        return f"{text_name} || {shown} || {sql_literal(f' is not a number (this file: {decisions.number_format})')}"
    if when == "not_integer":
        return f"{text_name} || {shown} || ' is not a whole number'"
    if when == "not_date":
        return f"{name} || {shown} || {sql_literal(f' is not a valid date ({decisions.date_order})')}"
    if when == "two_digit_year":
        return f"{name} || {shown} || ' has a two-digit year (write the year in full)'"
    if when == "ambiguous_date":
        return (f"{name} || {shown} || {sql_literal(' reads both as day/month and as month/day, and this ')}"
                f"|| {sql_literal(f'file has {decisions.day_first_rows:,} dates only day/month, ')}"
                f"|| {sql_literal(f'{decisions.month_first_rows:,} only month/day')}")
    if when == "outside_date_range":
        return f"{name} || {shown} || {sql_literal(f' is outside the plausible range {date_range}')}"
    times = _times(when)
    if times is not None:
        op, limit = _bound(times[1]) or ("", 0.0)
        return (f"{name} || {shown} || {sql_literal(f' times {times[0]} ')} || t_{times[0]} || "
                f"{sql_literal(f' is above the maximum {limit:,.0f} (lake_schemas/sales.yaml)')}")
    op, limit = _bound(when) or ("", 0.0)
    if col.name == "price":
        # A line total computed from unit_price is shown as computed, with its factors: not
        # "price '1000000000' is above the maximum 1,000,000,000" for 1e9 x 5.
        raw_text = (f"CASE WHEN t_price IS NULL THEN v_price::VARCHAR || ' (unit_price ' || trim(t_unit_price) "
                    f"|| ' x quantity ' || n_quantity::BIGINT || ')' ELSE {raw_text} END")
        shown = f"CASE WHEN t_price IS NULL THEN {raw_text} ELSE {shown} END"
    if (op, limit) == ("<", 0.0):
        return f"{name} || trim({raw_text}) || ' is negative'"
    if (op, limit) == ("<=", 0.0):
        return f"{name} || trim({raw_text}) || ' is not greater than 0'"
    words = {"<": "below the minimum", "<=": "not above the minimum", ">": "above the maximum",
             ">=": "not below the maximum"}[op]
    shown_limit = f"{limit:,.0f}" if limit == int(limit) else f"{limit:g}"
    return f"{name} || {shown} || {sql_literal(f' is {words} {shown_limit} (lake_schemas/sales.yaml)')}"


def _dimension_maps(con: duckdb.DuckDBPyConnection) -> None:
    """Map each distinct value of the dimension columns once, in Python, into small join tables.

    The values travel through one small CSV (``table_from_rows``), not row by row and not as Python
    parameters, so a file with 200,000 different mall names costs a fraction of a second here.
    """
    for col, normalise in _DIMENSIONS.items():
        distinct = [r[0] for r in con.execute(f"SELECT DISTINCT {col} FROM raw").fetchall()]
        rows = []
        for raw_value in distinct:
            value, flag = normalise(raw_value)
            if col in _FORMULA_FLAGGED and value is not None and value.startswith(FORMULA_START):
                flag = f"{flag};formula_like_text" if flag else "formula_like_text"
            rows.append((raw_value, value, flag))
        table_from_rows(con, f"map_{col}", {"raw": "VARCHAR", "value": "VARCHAR", "flag": "VARCHAR"}, rows)
        if len({value for _raw, value, _flag in rows if value is not None}) > DIMENSION_ENUM_MAX_VALUES:
            continue  # many names: text (an ENUM of them would cost more to build than it saves)
        # ``checked`` stores the value as an ENUM of the file's own values: 1-4 bytes a row instead
        # of a 16-byte string, which makes the month sort and the table lighter, and the Parquet
        # writer writes it from its dictionary (see ``accepted``). The map hands out the ENUM itself,
        # so no row casts its string (a lookup per row).
        con.execute(f"DROP TYPE IF EXISTS enum_{col}")
        con.execute(f"CREATE TYPE enum_{col} AS ENUM "
                    f"(SELECT DISTINCT value FROM map_{col} WHERE value IS NOT NULL ORDER BY value)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE map_{col} AS "
                    f"SELECT raw, CAST(value AS enum_{col}) AS value, flag FROM map_{col}")


def build_checked(
    con: duckdb.DuckDBPyConnection, spec: Table, source: str, date_range: DateRange, present: list[str] | None = None,
    layout: Layout | None = None, delimiter: str = ",",
) -> FileDecisions:
    """Create table ``checked`` from ``raw``/``rejects``; returns what was decided for the file.

    ``layout``: the known public layout the file is in (lake_schemas/sales.yaml ``layouts``), if any.
    With ``discount: rate`` its discount column is a rate of the undiscounted line, turned into
    currency here: price is after the discount, so discount = price x rate / (1 - rate); with
    ``dates`` it settles the date order when the file's dates do not. ``delimiter``: the CSV's field
    delimiter, which settles the number format when the file's numbers do not (see number_format)."""
    inputs = [c.name for c in spec.input_columns]
    present = inputs if present is None else present
    fmt, fmt_from = number_format(con, present, delimiter)
    decisions = dataclasses.replace(_date_map(con, date_range, layout), number_format=fmt,
                                    number_format_from=fmt_from)
    _dimension_maps(con)

    # Layer by layer: text -> numbers/dates -> derived values -> rules. Each layer names its results.
    # Per-row text work is kept to what the rules need: the two key columns are trimmed and checked
    # for null tokens; numbers are cast as received (the slow path only for what does not cast);
    # dimension columns and dates are normalised once per distinct value in their maps.
    tokens = ", ".join(sql_literal(t) for t in NULL_TOKENS)
    keys = ["invoice_no", "customer_id"]
    numeric_layers = [number_stages(c, fmt, c in present) for c in NUMERIC_COLUMNS]
    checked_text = [c.name for c in spec.input_columns if c.checks and c.name not in (*keys, *NUMERIC_COLUMNS)
                    and c.name != "invoice_date"]
    layers: list[list[str]] = [
        [f"trim({c}) AS r_{c}" for c in keys] + [stages[0] for stages in numeric_layers],
        [f"CASE WHEN length(r_{c}) > 4 OR NOT list_contains([{tokens}], lower(r_{c})) THEN r_{c} END AS t_{c}"
         for c in keys]
        + [stages[1] for stages in numeric_layers] + [f"{_text_of(c)} AS t_{c}" for c in checked_text],
    ]
    for depth in range(2, 5):
        layers.append([stages[depth] for stages in numeric_layers])
    # A line total computed from unit_price is rounded to the scale the analytics sum money in
    # (DECIMAL(18, 4)): that removes float noise (6 x 2.55 = 15.299999999999999) only, where cents
    # would change the money (UCI's unit price 0.001 x 1 is 0.001, not 0; 1.695 x 3 is 5.085).
    layers.append([
        f"CASE WHEN t_price IS NULL THEN round(n_unit_price * n_quantity, {_MONEY_DECIMALS}) ELSE n_price END "
        "AS v_price",
        "coalesce(t_price, t_unit_price) AS t_price_or_unit",
        "n_age BETWEEN 0 AND 120 AND n_age = floor(n_age) AS age_ok",
    ])
    discount_is_rate = layout is not None and layout.discount == "rate"
    # A discount computed from a rate is rounded to the money scale like a computed line total (4
    # decimals: Superstore's Sales carry 4, and 22.368 at 20 % off had 5.592 of discount, not 5.59).
    layers.append([
        "CASE WHEN n_discount >= 0 AND n_discount < 1 THEN round(CAST(v_price * n_discount / (1 - n_discount) "
        "AS DOUBLE), 4) END AS v_discount" if discount_is_rate else "n_discount AS v_discount",
        "CASE WHEN t_age IS NOT NULL AND NOT coalesce(age_ok, false) THEN 'bad_age' END AS age_flag",
    ])
    raw_texts = {c: f"t_{c}" for c in inputs} | {"price": "t_price_or_unit", "invoice_date": "d_text"}
    values = {c: f"n_{c}" for c in inputs} | {"price": "v_price"}
    rules, details = [], []
    for col in spec.input_columns:
        for check in (*(layout.column_checks(col.name) if layout else ()), *col.checks):
            cond = _condition(col, check.when, raw_texts[col.name], values[col.name])
            rules.append(f"WHEN {cond} THEN {sql_literal(check.rule)}")
            details.append(
                f"WHEN rule = {sql_literal(check.rule)} THEN "
                f"{_detail(col, check.when, raw_texts[col.name], decisions, date_range, present)}"
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
        f"SELECT n.*, md.value AS n_invoice_date, md.problem AS d_problem, md.text AS d_text FROM ({numbered}) n "
        "LEFT JOIN map_invoice_date md ON md.raw IS NOT DISTINCT FROM n.invoice_date"
    )
    relation = f"({numbered}) raw"
    for layer in layers:
        relation = f"(SELECT *, {', '.join(layer)} FROM {relation}) x"

    # ``checked`` holds what the rules decided and the values the file has, as narrow as it can
    # (1M rows of it are the ingest's peak memory): the rule as an ENUM of the rule names (one byte),
    # no detail text (the ``quarantined`` view below makes it for the rejected rows only, when
    # quarantine is written), no column for an optional money column the file does not have, and unit_price
    # only as the file gives it (``accepted`` derives the rest). No copy of the text either:
    # ``quarantined`` takes the fields as received from ``raw``. Rows
    # are stored month by month, in file order within a month: each partition's write then reads
    # only its own row groups (zone maps) instead of scanning the whole table, and needs no sort of
    # its own (one sort here costs less than 36 small ones there).
    rule_names = [*dict.fromkeys([
        *(check.rule for col in spec.input_columns
          for check in (*(layout.column_checks(col.name) if layout else ()), *col.checks)),
        *PARSER_RULES.values(), "unparseable_row", "duplicate_row",
    ])]
    # flags as an ENUM too: every combination the maps' flags and bad_age can make, in the order
    # ``flags`` writes them (a few dozen values), one byte a row instead of a 16-byte string.
    con.execute("DROP TYPE IF EXISTS flag_sets")
    con.execute(
        "CREATE TYPE flag_sets AS ENUM (SELECT DISTINCT flags FROM (SELECT "
        f"{_flags('c.flag', 'p.flag', 'g.flag', 'a.flag', 'm.flag')} AS flags "
        f"FROM {_flag_values('map_category')} c, {_flag_values('map_payment_method')} p, "
        f"{_flag_values('map_gender')} g, (VALUES (NULL), ('bad_age')) a(flag), "
        f"{_flag_values('map_shopping_mall')} m) WHERE flags IS NOT NULL ORDER BY flags)"
    )
    con.execute("DROP TYPE IF EXISTS rule_name")
    con.execute(f"CREATE TYPE rule_name AS ENUM ({', '.join(sql_literal(r) for r in rule_names)})")
    held = [name for name in _HELD_WHEN_PRESENT if name in present]
    held_columns = "".join(f"\n            {_HELD_WHEN_PRESENT[name]} AS {name}," for name in held)
    # ordinal (the row's position among the parsed rows) differs from row_number (its data row in
    # the file) only after a parser reject: without rejects only row_number is kept.
    ordinal = "x.ordinal,\n            " if has_rejects else ""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT
            {ordinal}x.row_number,
            t_invoice_no AS invoice_no,
            CASE WHEN contains(t_customer_id, '.') THEN regexp_replace(t_customer_id, '^(\\d+)\\.0+$', '\\1')
                 ELSE t_customer_id END AS customer_id,
            mg.value AS gender,
            CASE WHEN age_ok THEN CAST(n_age AS INTEGER) END AS age,
            mc.value AS category,
            CAST(CASE WHEN rule IS NULL THEN n_quantity END AS INTEGER) AS quantity,
            v_price AS price,{held_columns}
            mp.value AS payment_method,
            n_invoice_date AS invoice_date,
            ms.value AS shopping_mall,
            CAST({_flags('mc.flag', 'mp.flag', 'mg.flag', 'age_flag', 'ms.flag')} AS flag_sets) AS flags,
            CAST(rule AS rule_name) AS rule
        FROM {relation}
        LEFT JOIN map_category mc ON mc.raw IS NOT DISTINCT FROM x.category
        LEFT JOIN map_payment_method mp ON mp.raw IS NOT DISTINCT FROM x.payment_method
        LEFT JOIN map_gender mg ON mg.raw IS NOT DISTINCT FROM x.gender
        LEFT JOIN map_shopping_mall ms ON ms.raw IS NOT DISTINCT FROM x.shopping_mall
        ORDER BY date_trunc('month', n_invoice_date) NULLS LAST, x.row_number
        """
    )
    # Invoices seen more than once among the accepted rows are the only rows that can be exact
    # repeats: found first (a cheap grouping on a 64-bit hash of the number; a collision only makes a
    # few more rows candidates, the exact comparison decides), so the duplicate search looks at those
    # rows only.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE repeated_invoices AS SELECT h FROM "
        "(SELECT hash(invoice_no) AS h FROM checked WHERE rule IS NULL) GROUP BY h HAVING count(*) > 1"
    )
    duplicates = bool(con.execute("SELECT count(*) FROM repeated_invoices").fetchone()[0]) and _mark_duplicates(
        con, [k for k in _DUPLICATE_KEY if k not in _HELD_WHEN_PRESENT or k in held])
    if has_rejects:
        con.execute(f"INSERT INTO checked BY NAME SELECT data_row AS row_number, {_PARSER_RULE} AS rule FROM rejects")
    _create_quarantined(con, spec, relation, details, duplicates=duplicates, has_rejects=has_rejects)
    # The accepted rows as `sales` columns: what ``checked`` does not hold is NULL, and unit_price
    # the file does not give is the line's price per unit (lake_schemas/sales.yaml). Dimensions
    # and flags stay as ``checked`` holds them (small ones ENUMs, written from their dictionary).
    optional = {name: name if name in held else "CAST(NULL AS DOUBLE)" for name in _HELD_WHEN_PRESENT}
    con.execute(
        f"""
        CREATE OR REPLACE VIEW accepted AS
        SELECT row_number, invoice_no, customer_id, gender, age, category, quantity, price,
               coalesce({optional['unit_price']}, CASE WHEN quantity > 0 THEN round(price / quantity, 4) END)
                   AS unit_price,
               payment_method, invoice_date, shopping_mall,
               {optional['discount']} AS discount, {optional['unit_cost']} AS unit_cost, flags
        FROM checked WHERE rule IS NULL
        """
    )
    return decisions


_DUPLICATE_KEY = ("invoice_no", "customer_id", "gender", "age", "category", "quantity", "price", "payment_method",
                  "invoice_date", "shopping_mall", "discount", "unit_cost")


def _create_quarantined(con: duckdb.DuckDBPyConnection, spec: Table, relation: str, details: list[str], *,
                        duplicates: bool, has_rejects: bool) -> None:
    """The view ``quarantined``: the rejected rows as quarantine writes them (row_number, rule,
    detail, raw_line and the fields as received, ``q_<column>``).

    A view, so the detail sentences and the texts are only made when quarantine is written, and for
    the rejected rows only (a file with none never computes it). Rows the rules rejected come from
    the same layered query over ``raw`` (evaluated again, same values), exact repeats are picked out
    on the way, parser rejects keep their line. One scan and no join with ``checked``.
    """
    texts = ", ".join(f"x.{c.name} AS q_{c.name}" for c in spec.input_columns)
    # An exact repeat names the row it repeats (duplicate_rows, only there when there are repeats).
    first_row = "d.first_row" if duplicates else "CAST(NULL AS BIGINT)"
    join = " LEFT JOIN duplicate_rows d ON d.row_number = x.row_number" if duplicates else ""
    repeat = f"{first_row} IS NOT NULL"
    parts = [
        f"SELECT x.row_number, CASE WHEN {repeat} THEN 'duplicate_row' ELSE x.rule END AS rule, "
        f"CASE WHEN {repeat} THEN 'exact repeat of row ' || {first_row} ELSE CASE {' '.join(details)} END END "
        f"AS detail, CAST(NULL AS VARCHAR) AS raw_line, {texts} FROM {relation}{join} "
        f"WHERE x.rule IS NOT NULL OR {repeat}"
    ]
    if has_rejects:
        nulls = ", ".join(f"CAST(NULL AS VARCHAR) AS q_{c.name}" for c in spec.input_columns)
        parts.append(f"SELECT data_row AS row_number, {_PARSER_RULE} AS rule, {_PARSER_DETAIL} AS detail, raw_line, "
                     f"{nulls} FROM rejects")
    con.execute("CREATE OR REPLACE VIEW quarantined AS " + " UNION ALL ".join(parts))


def quarantined_from_checked(con: duckdb.DuckDBPyConnection) -> None:
    """``quarantined`` for a ``checked`` that holds its rejected rows whole (detail, raw_line and
    ``q_`` texts): a rejected file's, or a stores upload's."""
    con.execute("CREATE OR REPLACE VIEW quarantined AS SELECT * FROM checked WHERE rule IS NOT NULL")


def _flags(*parts: str) -> str:
    """SQL: a row's flags, the non-NULL parts joined with ';' (NULL when there are none; the
    common row with no flag is not concatenated at all)."""
    return f"CASE WHEN coalesce({', '.join(parts)}) IS NOT NULL THEN concat_ws(';', {', '.join(parts)}) END"


def _flag_values(map_table: str) -> str:
    """SQL: the flags a dimension map can give a row, and NULL (no flag)."""
    return f"(SELECT flag FROM {map_table} UNION SELECT NULL)"


def _mark_duplicates(con: duckdb.DuckDBPyConnection, columns: list[str]) -> bool:
    """Exact repeats of an earlier accepted row (same normalised values) become ``duplicate_row``;
    True when there were any (``duplicate_rows`` then holds each one's first row).

    Found by grouping the rows of repeated invoices (a grouping spills; a window over one huge
    partition, as 2M identical lines make, does not), then their rule is updated in place (one byte
    a row: even 2M updated rows keep little undo data, where rebuilding ``checked`` held it twice).
    ``columns``: the key columns ``checked`` holds (one the file does not have is NULL on every row).
    """
    key = ", ".join(columns)
    same = " AND ".join(f"c.{k} IS NOT DISTINCT FROM f.{k}" for k in columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE duplicate_rows AS
        WITH candidates AS (
            SELECT row_number, {key} FROM checked
            WHERE rule IS NULL AND hash(invoice_no) IN (SELECT h FROM repeated_invoices)
        ), firsts AS (
            SELECT {key}, min(row_number) AS first_row FROM candidates GROUP BY ALL HAVING count(*) > 1
        )
        SELECT c.row_number, f.first_row FROM candidates c JOIN firsts f ON {same}
        WHERE c.row_number <> f.first_row
        """
    )
    if not con.execute("SELECT count(*) FROM duplicate_rows").fetchone()[0]:
        return False
    con.execute(
        "UPDATE checked SET rule = 'duplicate_row' FROM duplicate_rows d WHERE checked.row_number = d.row_number"
    )
    return True


def build_all_rejected(con: duckdb.DuckDBPyConnection, spec: Table, source: str, rule: str, detail: str) -> None:
    """``checked`` for a file that cannot be used: every row quarantined with the file's reason (the
    reason's file/row prefix, like every reason's, is added when quarantine is written)."""
    text_cols = ", ".join(f"raw.{c.name} AS q_{c.name}" for c in spec.input_columns)
    nulls = ", ".join(f"NULL AS q_{c.name}" for c in spec.input_columns)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE checked AS
        SELECT ordinal, row_number, {sql_literal(rule)} AS rule, {sql_literal(detail)} AS detail, raw_line,
               NULL AS flags, * EXCLUDE (ordinal, row_number, raw_line) FROM (
            SELECT raw.rowid + 1 AS ordinal, raw.rowid + 1 AS row_number, CAST(NULL AS VARCHAR) AS raw_line,
                   {text_cols}
            FROM raw
            UNION ALL BY NAME
            SELECT NULL AS ordinal, data_row AS row_number, raw_line, {nulls} FROM rejects
        )
        """
    )
    quarantined_from_checked(con)
