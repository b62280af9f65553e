"""Optimisations of the analytics statements, as rewrites of their sqlglot syntax tree.

The SQL files hold the plain, portable definitions, and Athena runs them as written. The DuckDB
engine parses each finished statement once, applies the rewrites that ANALYTICS_REWRITES enables
(``all`` by default, ``none``, or a comma-separated list of the names in REWRITES), in the order of
REWRITES, and runs the SQL generated from the result. A rewrite is a small function
``(tree, facts) -> tree`` that leaves the tree as it is where it does not apply; its docstring says
when it applies and why the answer is exactly the same. ``tests/unit/analytics/test_rewrites.py``
runs every table with each rewrite on and off and compares the results.

Only the engine (at run time) and the tests import this module: sqlglot stays off the API's import
path (``import retail_lake.analytics`` is light).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import sqlglot
from sqlglot import exp

DIALECT = "duckdb"
# Up to this many customers a distinct customer count uses one bitmap per group
# (bitmap_distinct_customers): 2**22 customers is 512 KiB per group and thread, so even
# cohort_retention's few hundred (cohort, month) groups stay well inside the memory limit.
BITMAP_CUSTOMER_LIMIT = 2**22


@dataclass
class RunFacts:
    """What the engine knows about the run's data, which decides where a rewrite applies."""

    customers: int = 0  # customer_key runs over 1..customers (0: not known yet)
    one_line_invoices: bool = False  # the load check found no invoice with several rows
    held: dict[str, str] = field(default_factory=dict)  # shared intermediate -> relation holding its rows
    definitions: dict[str, exp.Expression] = field(default_factory=dict)  # shared intermediate -> its SELECT


Rewrite = Callable[[exp.Expression, RunFacts], exp.Expression]


def parse(sql: str) -> exp.Expression:
    """One DuckDB-dialect statement as a new syntax tree (rewrites may change it in place)."""
    tree = sqlglot.parse_one(sql, read=DIALECT)
    if tree is None:
        raise ValueError(f"not a SQL statement: {sql[:80]!r}")
    return tree


@cache
def parsed_once(sql: str) -> exp.Expression:
    """The tree of a text parsed once per process (the SQL files, shared definitions): read only."""
    return parse(sql)


def to_sql(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT)


@cache
def relations_read(sql: str) -> frozenset[str]:
    """The relations a statement reads from outside itself: every table it names, minus the CTEs it
    defines. (Read from the parsed SQL, so names in comments, strings or as column names do not count.)"""
    tree = parsed_once(sql)
    defined = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return frozenset(t.name for t in tree.find_all(exp.Table) if t.name and not t.db) - defined


def shared_intermediates(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies to a CTE whose name and definition are those of a shared intermediate
    (sql/_shared/) that the run already holds (``facts.held``): its body becomes a scan of that
    relation, ``name AS NOT MATERIALIZED (SELECT * FROM held)``.

    Exact: a shared intermediate reads only sales, stores and configuration (no run parameters,
    _sql.shared_ctes checks it), and the run reads one fixed snapshot of them, so the same
    definition gives the same rows in every statement of the run; the held relation is those rows.
    NOT MATERIALIZED: the rows are already held, so a statement that reads the CTE several times
    scans it several times instead of copying it into a CTE buffer first.
    """
    for cte in list(tree.find_all(exp.CTE)):
        name = cte.alias_or_name
        held = facts.held.get(name)
        definition = facts.definitions.get(name)
        if held is None or definition is None or cte.this != definition:
            continue
        cte.set("this", exp.select("*").from_(exp.to_table(held)))
        cte.set("materialized", False)
    return tree


# customer_totals where every invoice is one line: customer_keys' per-customer line totals.
_CUSTOMER_TOTALS_OF_ONE_LINE_INVOICES = """
SELECT
    customer_key,
    customer_id,
    first_line_date AS first_invoice_date,
    last_line_date AS last_invoice_date,
    lines AS transactions,
    line_revenue AS revenue
FROM customer_keys
"""


def one_line_customer_totals(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies to the CTE ``customer_totals`` (as sql/_shared/customer_totals.sql defines it) when
    the load check found no invoice with several rows: its body becomes a projection of
    customer_keys' line totals (first/last line date, lines, line revenue).

    Exact: when every invoice is one line, `invoices` has one row per line (revenue = price, the
    line's date and customer), so grouping invoices by customer gives MIN/MAX(invoice_date),
    COUNT(*) and SUM(price) over the customer's lines: what customer_keys already computed in the
    grouping that numbers the customers. It saves grouping every invoice a second time.
    """
    if not facts.one_line_invoices:
        return tree
    from retail_lake.analytics._sql import shared_body

    definition = parsed_once(shared_body("customer_totals"))
    for cte in tree.find_all(exp.CTE):
        if cte.alias_or_name == "customer_totals" and cte.this == definition:
            cte.set("this", parse(_CUSTOMER_TOTALS_OF_ONE_LINE_INVOICES))
    return tree


def _bitmap_count(column: exp.Expression, customers: int) -> exp.Expression:
    bits = exp.Anonymous(this="BITSTRING_AGG",
                         expressions=[column, exp.Literal.number(1), exp.Literal.number(customers)])
    return exp.Coalesce(this=exp.Anonymous(this="BIT_COUNT", expressions=[bits]),
                        expressions=[exp.Literal.number(0)])


def bitmap_distinct_customers(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies to every aggregate ``COUNT(DISTINCT [alias.]customer_key)`` when the run knows the
    number of customers and it is at most BITMAP_CUSTOMER_LIMIT: the count becomes
    ``COALESCE(BIT_COUNT(BITSTRING_AGG(customer_key, 1, customers)), 0)``.

    Exact: customer_key is dense, 1..customers (sql/_shared/customer_keys.sql numbers the distinct
    customer_ids), so the distinct keys of a group are exactly the bits set in a bitmap of that
    range. NULL keys set no bit and a group without keys counts 0, as COUNT(DISTINCT) does.
    Faster: one bit set per row instead of every (group, customer) pair inserted into a hash table
    (about six times faster on 10M lines). Window counts (``OVER``) are left alone.
    """
    if not 0 < facts.customers <= BITMAP_CUSTOMER_LIMIT:
        return tree

    def swap(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct)
                and not isinstance(node.parent, exp.Window)):
            args = node.this.expressions
            if len(args) == 1 and isinstance(args[0], exp.Column) and args[0].name == "customer_key":
                return _bitmap_count(args[0].copy(), facts.customers)
        return node

    return tree.transform(swap, copy=False)


# In the order they are applied.
REWRITES: dict[str, Rewrite] = {
    "shared_intermediates": shared_intermediates,
    "one_line_customer_totals": one_line_customer_totals,
    "bitmap_distinct_customers": bitmap_distinct_customers,
}


def enabled_rewrites(setting: str | None) -> tuple[str, ...]:
    """The rewrites an ANALYTICS_REWRITES value turns on: ``all`` (or empty), ``none``, or names
    separated by commas. An unknown name is an error naming it and the known ones."""
    value = (setting or "all").strip().lower()
    if value == "all":
        return tuple(REWRITES)
    if value == "none":
        return ()
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in REWRITES]
    if unknown:
        raise ValueError(f"ANALYTICS_REWRITES: unknown rewrite(s) {', '.join(unknown)} "
                         f"(known: all, none, {', '.join(REWRITES)})")
    return tuple(n for n in REWRITES if n in names)


def rewrite(sql: str, facts: RunFacts, names: tuple[str, ...]) -> str:
    """``sql`` with the named rewrites applied (the text as it is when none is named)."""
    if not names:
        return sql
    tree = parse(sql)
    for name in names:
        tree = REWRITES[name](tree, facts)
    return to_sql(tree)
