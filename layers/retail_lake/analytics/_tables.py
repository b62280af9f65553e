"""The analytics tables, in the order a run computes them, and what each one reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalyticsTable:
    """One analytics table: its SQL file is ``analytics/sql/<name>.sql``, its schema ``lake_schemas/<name>.yaml``.

    ``depends_on`` lists analytics tables the SQL reads; they are computed earlier in the same run
    (and added to a run that asks for a subset), so a run never mixes versions.
    """

    name: str
    depends_on: tuple[str, ...] = ()


# Order matters: a table comes after everything in its depends_on.
ANALYTICS_TABLES: tuple[AnalyticsTable, ...] = (
    AnalyticsTable("store_performance"),
    AnalyticsTable("region_performance"),
    AnalyticsTable("customer_rfm"),
    AnalyticsTable("rfm_segments", ("customer_rfm",)),
    AnalyticsTable("customer_value"),
    AnalyticsTable("repeat_vs_onetime"),
    AnalyticsTable("profitability"),
    AnalyticsTable("discount_impact"),
    AnalyticsTable("seasonality_monthly"),
    AnalyticsTable("seasonality_quarterly"),
    AnalyticsTable("seasonality_weekday"),
    AnalyticsTable("payment_methods"),
    AnalyticsTable("category_insights", ("customer_rfm", "profitability")),
    AnalyticsTable("cohort_retention"),
    AnalyticsTable("customer_profile", ("customer_rfm", "customer_value")),
)
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in ANALYTICS_TABLES)
RUNS_TABLE = "analytics_runs"
_BY_NAME = {t.name: t for t in ANALYTICS_TABLES}


def resolve_tables(requested: list[str] | None) -> list[str]:
    """The tables to compute, in run order: all by default, else the requested ones plus what they read."""
    if not requested:
        return list(TABLE_NAMES)
    unknown = [name for name in requested if name not in _BY_NAME]
    if unknown:
        raise ValueError(f"unknown analytics table(s): {', '.join(unknown)} (known: {', '.join(TABLE_NAMES)})")
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for dep in _BY_NAME[name].depends_on:
                add(dep)

    for name in requested:
        add(name)
    return [name for name in TABLE_NAMES if name in wanted]


def dependencies(name: str) -> tuple[str, ...]:
    return _BY_NAME[name].depends_on
