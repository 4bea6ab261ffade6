"""Which columns of a summary view are sums over the rows of the one table it reads, from the view's SQL.

A view of totals (per month and region, say) offers fewer dimensions than the table it sums. A sum of one of its
summed columns is the same sum over that table, which can be grouped by anything the table reaches; ``_resolve``
moves such a measure there when a call asks for a dimension the view lacks, instead of refusing the call. Only
views that keep every row of their table qualify: no WHERE, HAVING, LIMIT or DISTINCT, a plain table in FROM, and
joins that are LEFT or follow one of that table's foreign keys.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError


def summed_columns(
    view_sql: str, foreign_keys: Mapping[str, Collection[str]], measures: Collection[str]
) -> dict[str, str]:
    """View column -> the measure of its source table with the same total (``sum(t.col)``, or ``count(t)`` for
    a ``COUNT(*)`` column), for the measures in ``measures``; empty when the view does not keep every row of one
    table. ``foreign_keys`` gives each table's foreign-key columns (an inner join along one keeps the rows)."""
    select = _select_of(view_sql)
    if select is None:
        return {}
    source = select.args.get("from_") or select.args.get("from")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table) or not table.name:
        return {}
    alias = table.alias_or_name
    joins: list[exp.Join] = select.args.get("joins") or []
    keys = foreign_keys.get(table.name, ())
    if not all(_keeps_rows(join, alias, keys) for join in joins):
        return {}
    found: dict[str, str] = {}
    for projection in select.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        while isinstance(value, exp.Round | exp.Cast):
            value = value.this
        if isinstance(value, exp.Sum) and isinstance(value.this, exp.Column):
            column = value.this
            if column.table not in (alias, table.name) and (joins or column.table):
                continue  # a column of a joined table, or one it cannot tell apart
            measure = f"sum({table.name}.{column.name})"
        elif isinstance(value, exp.Count) and isinstance(value.this, exp.Star):
            measure = f"count({table.name})"
        else:
            continue
        if measure in measures and projection.alias_or_name:
            found[projection.alias_or_name] = measure
    return found


def _select_of(view_sql: str) -> exp.Select | None:
    """The view's SELECT when it is one plain SELECT that keeps all its rows; else None."""
    try:
        tree = sqlglot.parse_one(view_sql, read="sqlite")
    except SqlglotError:
        return None
    body = tree.expression if isinstance(tree, exp.Create) else tree
    if not isinstance(body, exp.Select):
        return None  # a UNION, a VALUES list, or something not understood
    if any(body.args.get(key) for key in ("where", "having", "limit", "offset", "distinct", "qualify")):
        return None
    return body


def _keeps_rows(join: exp.Join, alias: str, foreign_keys: Collection[str]) -> bool:
    if join.side == "LEFT":
        return True
    if join.side or join.kind not in ("", "INNER") or not isinstance(join.this, exp.Table):
        return False
    condition = join.args.get("on")
    if not isinstance(condition, exp.EQ):
        return False
    own = [c for c in condition.find_all(exp.Column) if c.table == alias]
    return len(own) == 1 and own[0].name in foreign_keys


def groups_rows(view_sql: str) -> bool:
    """Whether the view is a GROUP BY (or DISTINCT) query: each of its rows is a group, so counting its rows
    counts groups (month-and-region pairs, say), which is seldom what a question about counts means."""
    try:
        tree = sqlglot.parse_one(view_sql, read="sqlite")
    except SqlglotError:
        return False
    body = tree.expression if isinstance(tree, exp.Create) else tree
    return isinstance(body, exp.Select) and bool(body.args.get("group") or body.args.get("distinct"))
