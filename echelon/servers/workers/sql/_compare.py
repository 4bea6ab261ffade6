"""compare_periods: one value summed (or counted, averaged) over two periods, per group, with the change.

Growth questions ("which group grew fastest last year?") need two periods side by side and a percentage. This tool
keeps the argument style configs and prompts already use (a table and column names) and runs the aggregate core
(``_aggregate.run``), so its figures are exactly those of ``aggregate`` with ``compare_to``.
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from pydantic import BaseModel, Field
from sqlglot import exp

from echelon.servers.workers.sql import _aggregate
from echelon.servers.workers.sql._catalog import (
    Catalog,
    Measure,
    column_ref,
    qualified,
)
from echelon.servers.workers.sql._db import Deadline, ReadOnlyDatabase
from echelon.servers.workers.sql._models import Cell
from echelon.servers.workers.sql._periods import parse_period
from echelon.servers.workers.sql._resolve import dimension_named

Aggregate = Literal["sum", "count", "avg"]


class GroupChange(BaseModel):
    group: Cell = Field(description="The group's value (its name, when group_by is a foreign key)")
    from_value: float | None
    to_value: float | None
    difference: float | None = Field(description="to_value - from_value, in the value's own unit")
    percent_change: float | None = Field(description="The growth in percent, relative to |from_value|")


class PeriodComparison(BaseModel):
    note: str | None = Field(
        default=None,
        description="Set when another table than the one asked for was used, or the periods were swapped",
    )
    table: str
    aggregate: Aggregate
    value_column: str
    from_period: str
    to_period: str
    group_by: str | None = Field(description="The dimension grouped by, as the aggregate tool names it")
    groups: list[GroupChange] = Field(description="Largest percent change first; groups without one last")
    total: GroupChange = Field(description="All rows of the table together")
    truncated: bool = Field(description="True when there were more groups than the row limit")
    sql: str = Field(description="The query that produced groups (or the total, without group_by)")


def _find(name: str, columns: list[str]) -> str | None:
    return next((c for c in columns if c.lower() == name.strip().lower()), None)


def _column(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, columns: list[str], name: str, role: str
) -> str:
    """The column of ``table`` called ``name`` (any case); else a ValueError naming the tables that have one."""
    found = _find(name, columns)
    if found is not None:
        return found
    holders = [o.name for o in db.objects(conn) if _find(name, db.column_names(conn, o.name))]
    hint = f" ({name!r} is a column of: {', '.join(holders)})" if holders else ""
    raise ValueError(
        f"{role} {name!r} is not a column of {table}; its columns are: {', '.join(columns)}{hint}"
    )


def _fact_table(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, value_column: str, date_column: str
) -> str | None:
    """The one table with both columns whose foreign keys point to ``table``: a caller asking for a value by a
    column of a lookup table means the rows that refer to it. ``None`` when there is not exactly one."""
    found = [
        o.name
        for o in db.objects(conn)
        if o.name != table
        and _find(value_column, names := db.column_names(conn, o.name))
        and _find(date_column, names)
        and any(str(key[2]).lower() == table.lower() for key in db.foreign_keys_of(conn, o.name))
    ]
    return found[0] if len(found) == 1 else None


def _measure(table: str, value: str, aggregate: Aggregate) -> Measure:
    expression: exp.Expr
    if aggregate == "count":
        expression, name = exp.Count(this=exp.Star()), f"count({table})"
    else:
        function = exp.Sum if aggregate == "sum" else exp.Avg
        expression, name = function(this=column_ref(value)), f"{aggregate}({table}.{value})"
    return Measure(name, table, expression, qualified(expression, table))


def _change(row: _aggregate.AggregateRow, group: Cell) -> GroupChange:
    def number(value: object) -> float | None:
        return float(value) if isinstance(value, int | float) else None

    return GroupChange(
        group=group,
        from_value=number(row.previous),
        to_value=number(row.value),
        difference=row.difference,
        percent_change=row.percent_change,
    )


def compare(
    db: ReadOnlyDatabase,
    conn: sqlite3.Connection,
    catalog: Catalog,
    table: str,
    *,
    value_column: str,
    date_column: str,
    from_period: str,
    to_period: str,
    group_by: str | None,
    aggregate: Aggregate,
    max_groups: int,
    deadline: Deadline,
) -> PeriodComparison:
    """Run the comparison on ``table`` (already checked to exist). Bad columns or periods raise ValueError."""
    columns = db.column_names(conn, table)
    note = None
    if not (_find(value_column, columns) and _find(date_column, columns)):
        fact = _fact_table(db, conn, table, value_column, date_column)
        if fact is not None:
            note = f"{table} has no {value_column} by {date_column}; compared {fact}, which refers to {table}"
            table, columns = fact, db.column_names(conn, fact)
    value = _column(db, conn, table, columns, value_column, "value_column")
    date = _column(db, conn, table, columns, date_column, "date_column")
    shape = catalog.tables.get(table)
    if shape is None:
        raise ValueError(f"{table} was created after the server started; restart it to compare {table}")
    dim = dimension_named(catalog, shape, group_by, "group_by", date) if group_by is not None else None
    query = _aggregate.Query(
        measure=_measure(table, value, aggregate),
        group_by=[dim] if dim else [],
        filters=[],
        date_column=date,
        period=parse_period(to_period),
        compare_to=parse_period(from_period),
        order="percent_change_desc",
        limit=max_groups,
    )
    result = _aggregate.run(db, conn, query, deadline)
    groups = [_change(row, row.group[dim.name]) for row in result.rows] if dim else []
    total = result.overall if result.overall is not None else result.rows[0]
    return PeriodComparison(
        note=" ".join(n for n in (note, result.note) if n) or None,
        table=table,
        aggregate=aggregate,
        value_column=value,
        from_period=result.compare_to or from_period,
        to_period=result.period or to_period,
        group_by=dim.name if dim else None,
        groups=groups,
        total=_change(total, "(all)"),
        truncated=result.truncated,
        sql=result.sql,
    )
