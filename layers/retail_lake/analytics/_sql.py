"""The analytics SQL files and the reference relations rendered into them.

Each ``sql/<table>.sql`` is one SELECT over ``sales``, ``stores``, earlier analytics tables and a
few small reference relations. The reference relations come from configuration (YAML shipped with
the library) and are rendered as VALUES lists in a leading WITH clause, so the finished statement
is self-contained and runs unchanged in DuckDB or, transpiled, in Athena.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from retail_lake import schemas
from retail_lake.duck import sql_value

# The relations a SQL file may read besides sales, stores and earlier tables, all rendered into the
# statement as CTEs: configuration (the functions below) and shared intermediates (sql/_shared/).
CONFIG_RELATIONS = ("analytics_params", "cost_assumptions", "rfm_segment_rules", "age_bands")
# In dependency order: a shared intermediate may read the ones before it (and sales, stores and the
# configuration relations other than analytics_params).
SHARED_RELATIONS = ("customer_keys", "multi_line_invoices", "sale_lines", "invoices", "customer_totals",
                    "daily_sales", "store_map", "cost_defaults")
REFERENCE_RELATIONS = CONFIG_RELATIONS + SHARED_RELATIONS
DEFAULT_CATEGORY = "(default)"


def sql_text(table: str) -> str:
    """The raw SQL file of an analytics table."""
    return resources.files("retail_lake.analytics").joinpath("sql", f"{table}.sql").read_text(encoding="utf-8")


@cache
def _reference_yaml(name: str) -> dict[str, Any]:
    text = resources.files("retail_lake").joinpath("reference", name).read_text(encoding="utf-8")
    return schemas.load_yaml(text)


def cost_assumptions() -> dict[str, dict[str, float]]:
    """Per-category cost_ratio and discount_rate; the key '(default)' covers other categories."""
    raw = _reference_yaml("cost_assumptions.yaml")
    out = {name: dict(values) for name, values in raw["categories"].items()}
    out[DEFAULT_CATEGORY] = dict(raw["default"])
    for name, values in out.items():
        for key in ("cost_ratio", "discount_rate"):
            if not 0 <= float(values[key]) < 1:
                raise ValueError(f"cost_assumptions.yaml: {name}.{key} must be in [0, 1), got {values[key]}")
    return out


def rfm_segment_rules() -> list[dict[str, Any]]:
    """The RFM segment grid, in display order (see reference/rfm_segments.yaml)."""
    return [dict(rule, segment_order=i) for i, rule in enumerate(_reference_yaml("rfm_segments.yaml")["segments"], 1)]


def age_bands() -> list[dict[str, Any]]:
    return [dict(band, band_order=i) for i, band in enumerate(_reference_yaml("age_bands.yaml")["bands"], 1)]


def _values(name: str, columns: list[str], rows: list[list[Any]]) -> str:
    body = ", ".join("(" + ", ".join(sql_value(v) for v in row) + ")" for row in rows)
    return f"{name} AS (SELECT * FROM (VALUES {body}) AS {name}_values({', '.join(columns)}))"


def reference_ctes(reference_date: date | None = None) -> dict[str, str]:
    """Each reference relation as a CTE (``name AS (...)``)."""
    costs = cost_assumptions()
    return {
        "analytics_params": (
            f"analytics_params AS (SELECT {sql_value(reference_date)} AS reference_date)"
            if reference_date
            else "analytics_params AS (SELECT CAST(NULL AS DATE) AS reference_date)"
        ),
        "cost_assumptions": _values(
            "cost_assumptions",
            ["category", "cost_ratio", "discount_rate"],
            [[k, float(v["cost_ratio"]), float(v["discount_rate"])] for k, v in costs.items()],
        ),
        "rfm_segment_rules": _values(
            "rfm_segment_rules",
            ["segment", "segment_order", "r_min", "r_max", "fm_min", "fm_max", "description", "action"],
            [[r["segment"], r["segment_order"], r["r_min"], r["r_max"], r["fm_min"], r["fm_max"],
              r["description"], r["action"]] for r in rfm_segment_rules()],
        ),
        "age_bands": _values(
            "age_bands",
            ["age_band", "band_order", "min_age", "max_age"],
            [[b["age_band"], b["band_order"], b["min_age"], b["max_age"]] for b in age_bands()],
        ),
    }


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()


@dataclass(frozen=True)
class SharedCte:
    """An intermediate several tables read (``sql/_shared/<name>.sql``), rendered as ``text``."""

    name: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.name} AS (\n{self.body}\n)"


@cache
def shared_ctes() -> tuple[SharedCte, ...]:
    """The shared intermediates, in dependency order. They read only sales, stores, configuration
    and earlier intermediates (no run parameters), so their rendered text is the same in every
    statement of a run: an engine may compute each once."""
    folder = resources.files("retail_lake.analytics").joinpath("sql", "_shared")
    out = tuple(
        SharedCte(name, _strip_comments(folder.joinpath(f"{name}.sql").read_text(encoding="utf-8")).rstrip(";"))
        for name in SHARED_RELATIONS
    )
    for cte in out:
        if "analytics_params" in _relations(cte.body):
            raise ValueError(f"sql/_shared/{cte.name}.sql reads analytics_params: "
                             "shared intermediates take no run parameters")
    return out


def shared_body(name: str) -> str:
    """The SELECT of one shared intermediate, as render_sql writes it inside its CTE."""
    return next(cte.body for cte in shared_ctes() if cte.name == name)


@cache
def _relations(sql: str) -> frozenset[str]:
    """The relations ``sql`` reads, from its parsed text (see _rewrites.relations_read), through the
    memo of compiled SQL (_compiled): sqlglot is imported and run only when no earlier run parsed
    this exact text."""
    from retail_lake.analytics import _compiled

    return _compiled.memo().relations_read(sql)


def _with(ctes: list[str], body: str) -> str:
    """``body`` with ``ctes`` prepended (a WITH the body already has is extended, not nested)."""
    if not ctes:
        return body
    if re.match(r"(?i)WITH\s", body):
        return "WITH " + ",\n".join(ctes) + ",\n" + body[4:].lstrip()
    return "WITH " + ",\n".join(ctes) + "\n" + body


def _render(body: str, reference_date: date | None) -> str:
    # The shared intermediates the body reads, directly or through another intermediate.
    shared = shared_ctes()
    needed: set[str] = set()
    for cte in reversed(shared):
        if cte.name in _relations(body) or any(cte.name in _relations(s.body) for s in shared if s.name in needed):
            needed.add(cte.name)
    read = _relations(body).union(*(_relations(cte.body) for cte in shared if cte.name in needed))
    used = [cte for name, cte in reference_ctes(reference_date).items() if name in read]
    used += [cte.text for cte in shared if cte.name in needed]
    return _with(used, body)


def render_sql(table: str, reference_date: date | None = None) -> str:
    """The finished statement of an analytics table: its SQL with the reference relations and shared
    intermediates it reads (also through another intermediate) prepended as CTEs, in dependency
    order (a WITH the file already has is extended, not nested). The statement is self-contained,
    so any engine runs it as it is."""
    return _render(_strip_comments(sql_text(table)).rstrip(";"), reference_date)


def render_shared(name: str) -> str:
    """A self-contained SELECT of one shared intermediate (what an engine materialises)."""
    return _render(f"SELECT * FROM {name}", None)


def typed_select(table: str, sql: str) -> str:
    """Wrap a table's SQL so its columns come out in lake_schemas order with lake_schemas types.

    The Parquet files then match the Glue/DuckDB schema whatever type the engine inferred.
    """
    cols = schemas.table(table).typed_columns(qualifier="result", partitions=False)
    return f"SELECT {cols}\nFROM (\n{sql}\n) AS result"
