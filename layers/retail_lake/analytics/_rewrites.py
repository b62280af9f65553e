"""Optimisations of the analytics statements, as rewrites of their sqlglot syntax tree.

The SQL files hold the plain, portable definitions, and Athena runs them as written. The DuckDB
engine parses each finished statement once, applies the rewrites that ANALYTICS_REWRITES enables
(``all`` by default, ``none``, or a comma-separated list of the names in REWRITES), in the order of
REWRITES, and runs the SQL generated from the result (remembered between runs by _compiled.Memo,
keyed by every input, so a later run with the same inputs does not parse again). A rewrite is a small function
``(tree, facts) -> tree`` that leaves the tree as it is where it does not apply; its docstring says
when it applies and why the answer is exactly the same. ``tests/unit/analytics/test_rewrites.py``
runs every table with each rewrite on and off and compares the results.

Only the engine (at run time) and the tests import this module: sqlglot stays off the API's import
path (``import retail_lake.analytics`` is light).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, lru_cache

import sqlglot
from sqlglot import exp

from retail_lake.analytics._compiled import RunFacts

DIALECT = "duckdb"
# Up to this many customers a distinct customer count uses one bitmap per group
# (bitmap_distinct_customers): 2**22 customers is 512 KiB per group and thread, so even
# cohort_retention's few hundred (cohort, month) groups stay well inside the memory limit.
BITMAP_CUSTOMER_LIMIT = 2**22


Rewrite = Callable[[exp.Expression, RunFacts], exp.Expression]


def parse(sql: str) -> exp.Expression:
    """One DuckDB-dialect statement as a new syntax tree (rewrites may change it in place)."""
    tree = sqlglot.parse_one(sql, read=DIALECT)
    if tree is None:
        raise ValueError(f"not a SQL statement: {sql[:80]!r}")
    return tree


@lru_cache(maxsize=128)
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


# Statements ctes_defined parsed, kept for rewrite() to take (the engine asks which CTEs a
# statement defines right before it rewrites it): one parse per statement, not two.
_parsed_for_rewrite: dict[str, exp.Expression] = {}


def ctes_defined(sql: str) -> frozenset[str]:
    """The names of the CTEs a statement defines (at any depth)."""
    tree = parse(sql)
    if len(_parsed_for_rewrite) > 16:
        _parsed_for_rewrite.clear()
    _parsed_for_rewrite[sql] = tree
    return frozenset(cte.alias_or_name for cte in tree.find_all(exp.CTE))


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
        if held is None or definition is None or cte.this != parsed_once(definition):
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


def empty_multi_line_join(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies when the load check found no invoice with several rows, to a SELECT that LEFT JOINs
    the CTE ``multi_line_invoices`` (as sql/_shared/multi_line_invoices.sql defines it, or read from
    the relation holding its rows) under an alias, ``LEFT JOIN multi_line_invoices mi ON ...``, and
    names every column it reads with its relation: the join goes and each ``mi.<column>`` becomes
    ``CAST(NULL AS TEXT)`` (keeping its output name). sale_lines: the lines' invoice numbers are not
    read at all.

    Exact: with every invoice one line, no invoice has two or more lines, so multi_line_invoices
    is empty; a LEFT JOIN with an empty relation keeps every row of the left side once and gives
    NULL for each of the right side's columns (invoice_no, text). DuckDB knows the held relation
    is empty, but still reads every line's invoice number for the join's condition. Applied after
    shared_intermediates, so a statement's sale_lines CTE still matches its definition there and is
    read from the held table.
    """
    if not facts.one_line_invoices:
        return tree
    from retail_lake.analytics._sql import shared_body

    # As its file defines it, or read from the relation holding those rows (shared_intermediates).
    bodies = [parsed_once(shared_body("multi_line_invoices"))]
    if "multi_line_invoices" in facts.held:
        bodies.append(exp.select("*").from_(exp.to_table(facts.held["multi_line_invoices"])))
    if not any(cte.alias_or_name == "multi_line_invoices" and cte.this in bodies for cte in tree.find_all(exp.CTE)):
        return tree
    for select in list(tree.find_all(exp.Select)):
        for join in list(select.args.get("joins") or []):
            table = _plain_left_join(join)
            if not (table and table.name == "multi_line_invoices" and table.alias):
                continue
            # Only this SELECT's own columns (not those of its subqueries), each named with its relation.
            own = [c for c in select.find_all(exp.Column) if c.find_ancestor(exp.Select) is select]
            if any(not c.table for c in own):
                continue
            alias = table.alias
            join.pop()
            for column in own:
                if column.table != alias or column.find_ancestor(exp.Join) is join:
                    continue
                null = exp.cast(exp.null(), exp.DataType.build("TEXT"))
                if isinstance(column.parent, exp.Alias) or column.parent is not select:
                    column.replace(null)
                else:
                    column.replace(exp.alias_(null, column.name))
    return tree


def _plain_left_join(join: exp.Join) -> exp.Table | None:
    """The table of ``LEFT JOIN <table> [alias] ON <condition>`` (a relation of this database, no
    USING, method or other clause), else None."""
    table = join.this
    if (isinstance(table, exp.Table) and not table.db and join.side == "LEFT" and join.args.get("on") is not None
            and not any(value for key, value in join.args.items() if key not in ("this", "on", "side"))):
        return table
    return None


def _plain_column(node: exp.Expression | None, table: str = "") -> str | None:
    """The name of ``node`` when it is a column reference (unqualified, or qualified by ``table``)."""
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier) and node.table in ("", table):
        return node.name
    return None


def _only(select: exp.Expression, *allowed: str) -> bool:
    """``select`` is a SELECT from one relation with nothing set but its select list, FROM and the
    ``allowed`` clauses (no join, DISTINCT, WITH, ORDER BY, ...)."""
    return (isinstance(select, exp.Select) and isinstance(select.args.get("from_"), exp.From)
            and not any(value for key, value in select.args.items()
                        if key not in ("expressions", "from_", *allowed)))


def _top_row(cte: exp.CTE) -> tuple[exp.Select, exp.Select, str, str] | None:
    """For a CTE ``SELECT c... FROM (SELECT c..., ROW_NUMBER() OVER (PARTITION BY k ORDER BY o) AS pos
    FROM s) r WHERE pos = 1`` (plain columns, k among the c): (outer select, inner select, s, k)."""
    outer = cte.this
    if cte.args["alias"].columns or not _only(outer, "where"):
        return None
    where, subquery = outer.args.get("where"), outer.args["from_"].this
    if not (isinstance(subquery, exp.Subquery) and subquery.alias and where is not None
            and isinstance(where.this, exp.EQ) and where.this.expression == exp.Literal.number(1)):
        return None
    position = _plain_column(where.this.this, subquery.alias)
    inner = subquery.this
    if not (position and _only(inner) and isinstance(inner.args["from_"].this, exp.Table)):
        return None
    source = inner.args["from_"].this
    windows = [e for e in inner.expressions if isinstance(e, exp.Alias) and isinstance(e.this, exp.Window)]
    if source.alias or source.db or len(windows) != 1 or windows[0].alias != position:
        return None
    window = windows[0].this
    keys = [_plain_column(k) for k in window.args.get("partition_by") or []]
    inner_columns = {_plain_column(e) for e in inner.expressions if e is not windows[0]}
    columns = {_plain_column(e, subquery.alias) for e in outer.expressions}
    if not (isinstance(window.this, exp.RowNumber) and len(keys) == 1 and keys[0]
            and not any(window.args.get(k) for k in ("spec", "alias", "first"))
            and None not in inner_columns | columns and keys[0] in columns and columns <= inner_columns
            and position not in columns):
        return None
    return outer, inner, source.name, keys[0]


def _key_grouping(cte: exp.CTE) -> tuple[exp.Select, str, str] | None:
    """For a CTE ``SELECT k, aggregate AS x, ... FROM s GROUP BY k``: (the select, s, k)."""
    select = cte.this
    if (cte.args["alias"].columns or not _only(select, "group")
            or not isinstance(select.args["from_"].this, exp.Table)):
        return None
    source, group = select.args["from_"].this, select.args.get("group")
    keys = [_plain_column(k) for k in group.expressions] if group else []
    if (source.alias or source.db or len(keys) != 1 or not keys[0]
            or any(value for key, value in group.args.items() if key != "expressions")):
        return None
    for e in select.expressions:
        if _plain_column(e) == keys[0]:
            continue
        aggregate = e.this if isinstance(e, exp.Alias) else None
        if not (isinstance(aggregate, exp.AggFunc) and not aggregate.find(exp.Distinct, exp.Order, exp.Window)):
            return None
    return select, source.name, keys[0]


def partition_aggregates(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies where one SELECT LEFT JOINs, on the same expression e, a top row per partition of a
    relation s by k (CTE A: ``SELECT c... FROM (SELECT c..., ROW_NUMBER() OVER (PARTITION BY k
    ORDER BY o) AS pos FROM s) r WHERE pos = 1``, k among the c) and a grouping of the same s by k
    (CTE B: ``SELECT k, aggregate AS x, ... FROM s GROUP BY k``): ``LEFT JOIN A a ON a.k = e ...
    LEFT JOIN B b ON b.k = e``, b read in no other join's condition. B's aggregates are computed in
    A's window pass instead, ``aggregate OVER (PARTITION BY k) AS x``, A passes them on, ``b.x`` is
    read as ``a.x`` and the join of B goes: one pass over s by k, and one join, instead of two.

    Exact: the partitions of s by k are the groups of s by k (NULL keys form one of each), so on
    every row of a partition ``aggregate OVER (PARTITION BY k)`` (no ORDER BY: the whole partition)
    is B's value for that k; A keeps one row per partition, so A's row for e carries B's row for e,
    and when A has no row for e neither has B (both NULLs, as before). Plain aggregates only (no
    DISTINCT, ORDER BY or FILTER), which mean the same as window aggregates.
    """
    ctes = {cte.alias_or_name: cte for cte in tree.find_all(exp.CTE)}
    for select in list(tree.find_all(exp.Select)):
        joins = select.args.get("joins") or []
        tops, groupings = [], []  # (alias, CTE parts, e) of the joins that may take part
        for join in joins:
            table, on = _plain_left_join(join), join.args.get("on")
            if not (table and table.name in ctes and isinstance(on, exp.EQ) and on.this.table == table.alias_or_name):
                continue
            key = _plain_column(on.this, table.alias_or_name)
            top, grouping = _top_row(ctes[table.name]), _key_grouping(ctes[table.name])
            if top and top[3] == key:
                tops.append((table.alias_or_name, top, on.expression))
            elif grouping and grouping[2] == key:
                groupings.append((join, table.alias_or_name, grouping, on.expression))
        used: set[int] = set()
        for alias_a, (outer, inner, source_a, key), e_a in tops:
            for n, (join_b, alias_b, (grouped, source_b, _), e_b) in enumerate(groupings):
                read_elsewhere = any(c.table == alias_b for other in joins if other is not join_b
                                     for c in other.find_all(exp.Column))
                if n in used or source_a != source_b or e_a != e_b or read_elsewhere:
                    continue
                added = [e for e in grouped.expressions if _plain_column(e) != key]
                names = {e.alias_or_name for e in inner.expressions} | {e.alias_or_name for e in outer.expressions}
                if names & {e.alias for e in added}:
                    continue
                for e in added:
                    window = exp.Window(this=e.this.copy(), partition_by=[exp.column(key)], over="OVER")
                    inner.append("expressions", exp.alias_(window, e.alias))
                    outer.append("expressions", exp.column(e.alias))
                for column in list(select.find_all(exp.Column)):
                    if column.table == alias_b:
                        column.set("table", exp.to_identifier(alias_a))
                join_b.pop()
                used.add(n)
                break
    return tree


# The money sums narrow_money_sums narrows: the column summed, per shared intermediate read.
_MONEY_SUMS = {"sale_lines": "price", "invoices": "revenue"}


def narrow_money_sums(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies when the sum of |price| over every line of sales is below 10^14
    (``facts.money_sums_fit``, checked when the sources load), to a grouping ``SELECT ... FROM
    sale_lines GROUP BY ...`` (or ``FROM invoices``), sale_lines / invoices being the CTE of the
    shared intermediate (its definition, or read from the relation holding its rows): each aggregate
    ``SUM(price)`` (``SUM(revenue)`` for invoices) becomes ``CAST(SUM(price) AS DECIMAL(18, 4))``.

    Exact: the engine reads price as DECIMAL(18, 4) and DuckDB sums it as DECIMAL(38, 4) (128-bit).
    A row of sale_lines is one line of sales, and an invoice's revenue is the sum of the prices of
    its own lines (each line in one invoice), so the sum of a group is a sum of prices over a set
    of distinct lines: its size is at most the sum of |price| over all lines, below 10^14, which
    DECIMAL(18, 4) holds exactly at the same scale. The value is the same, in 64 bits: cheaper to
    sort on and to carry (customer_profile's favourites order by it). Later sums of these values
    are DECIMAL(38, 4) again.
    """
    if not facts.money_sums_fit:
        return tree
    from retail_lake.analytics._sql import shared_body

    money = {}
    for cte in tree.find_all(exp.CTE):
        name = cte.alias_or_name
        if name not in _MONEY_SUMS:
            continue
        bodies = [parsed_once(shared_body(name))]
        if name in facts.held:
            bodies.append(exp.select("*").from_(exp.to_table(facts.held[name])))
        if cte.this in bodies:
            money[name] = _MONEY_SUMS[name]
    if not money:
        return tree
    for select in list(tree.find_all(exp.Select)):
        source = select.args.get("from_")
        table = source.this if isinstance(source, exp.From) else None
        if not (isinstance(table, exp.Table) and not table.db and table.name in money
                and select.args.get("group") and not select.args.get("joins")):
            continue
        column = money[table.name]
        for node in list(select.find_all(exp.Sum)):
            if (node.find_ancestor(exp.Select) is select and not isinstance(node.parent, exp.Window)
                    and _plain_column(node.this, table.alias_or_name) == column):
                node.replace(exp.cast(node.copy(), exp.DataType.build("DECIMAL(18, 4)")))
    return tree


def _bitmap_count(column: exp.Expression, bound: int) -> exp.Expression:
    bits = exp.Anonymous(this="BITSTRING_AGG",
                         expressions=[column, exp.Literal.number(1), exp.Literal.number(bound)])
    return exp.Coalesce(this=exp.Anonymous(this="BIT_COUNT", expressions=[bits]),
                        expressions=[exp.Literal.number(0)])


def bitmap_distinct_customers(tree: exp.Expression, facts: RunFacts) -> exp.Expression:
    """Applies to every aggregate ``COUNT(DISTINCT [alias.]customer_key)`` when the run knows the
    bound of the customer keys (RunFacts.customer_key_bound: the number of customers rounded up to a
    step of 1/16 to 1/32 of it) and it is at most BITMAP_CUSTOMER_LIMIT: the count becomes
    ``COALESCE(BIT_COUNT(BITSTRING_AGG(customer_key, 1, bound)), 0)``.

    Exact: customer_key runs over 1..customers (sql/_shared/customer_keys.sql numbers the distinct
    customer_ids) and customers <= bound, so the distinct keys of a group are exactly the bits set
    in a bitmap of 1..bound (the bits past the last customer stay 0). NULL keys set no bit and a
    group without keys counts 0, as COUNT(DISTINCT) does. Faster: one bit set per row instead of
    every (group, customer) pair inserted into a hash table (about six times faster on 10M lines);
    the bound costs at most ~6 % more bits. Window counts (``OVER``) are left alone.
    """
    if not 0 < facts.customer_key_bound <= BITMAP_CUSTOMER_LIMIT:
        return tree

    def swap(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct)
                and not isinstance(node.parent, exp.Window)):
            args = node.this.expressions
            if len(args) == 1 and isinstance(args[0], exp.Column) and args[0].name == "customer_key":
                return _bitmap_count(args[0].copy(), facts.customer_key_bound)
        return node

    return tree.transform(swap, copy=False)


# In the order they are applied.
REWRITES: dict[str, Rewrite] = {
    "shared_intermediates": shared_intermediates,
    "empty_multi_line_join": empty_multi_line_join,
    "one_line_customer_totals": one_line_customer_totals,
    "partition_aggregates": partition_aggregates,
    "narrow_money_sums": narrow_money_sums,
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
    tree = _parsed_for_rewrite.pop(sql, None) or parse(sql)
    for name in names:
        tree = REWRITES[name](tree, facts)
    return to_sql(tree)
