"""The aggregate core: one measure, grouped, filtered, over a period and optionally against an earlier one.

Both the ``aggregate`` tool and ``compare_periods`` run through ``run``, so the two give the same figures. The SQL
is built from checked identifiers (the catalog's) and named parameters only; the result carries it for provenance.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

import sqlglot
from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, WithJsonSchema, model_serializer
from sqlglot import exp

from echelon.servers.workers.sql._catalog import ROW_ALIAS, Dimension, Join, Measure
from echelon.servers.workers.sql._coverage import uncovered_note
from echelon.servers.workers.sql._db import Deadline, Fetched, ReadOnlyDatabase, quote_identifier
from echelon.servers.workers.sql._models import Cell
from echelon.servers.workers.sql._periods import Period
from echelon.servers.workers.sql._spelling import nearest_value

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "like"]
Order = Literal[
    "value_desc",
    "value_asc",
    "difference_desc",
    "difference_asc",
    "percent_change_desc",
    "percent_change_asc",
    "group",
]
Scalar = str | int | float
_COMPARISON_FIELDS = ("previous", "difference", "percent_change")
_OPTIONAL_FIELDS = ("highest_percent_change", "lowest_percent_change", "per_group", "last_in_order", "note")


class FilterBase(BaseModel):
    """One condition on a dimension; the server's own subclass lists the dimension names as an enum."""

    dimension: str = Field(description="A group_by name (the value compared is the one group_by would show)")
    op: Op = Field(default="=", description="Comparison; 'in' takes a list, 'like' a pattern with %")
    value: Scalar | list[Scalar] = Field(description="The value to compare with (a list for 'in')")


class AggregateRow(BaseModel):
    group: dict[str, Any] = Field(
        description="The group's value for each group_by name ({} without group_by)"
    )
    value: Any = Field(description="The measure for this group (in `period` when comparing)")
    previous: Any = Field(default=None, description="The measure in `compare_to` (comparisons only)")
    difference: float | None = Field(default=None, description="value - previous (comparisons only)")
    percent_change: float | None = Field(
        default=None, description="difference as a percent of |previous| (comparisons only; absent when 0)"
    )

    @model_serializer(mode="wrap")
    def _drop_empty_comparison(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Without a comparison these fields are always null: leaving them out keeps results short for models.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in _COMPARISON_FIELDS and v is None)}


# Every MCP client checks each result against the output schema. A row's fields are described in the rows'
# description and only the object shape is checked: a schema per field (let alone an anyOf per cell) made a
# 500-row result several times slower to check.
_ROW_FIELDS = "; ".join(f"{name}: {info.description}" for name, info in AggregateRow.model_fields.items())
_ROW_SCHEMA: dict[str, Any] = {"type": "object", "required": ["group", "value"]}


class GroupMean(BaseModel):
    """The average of the groups' values, and how many groups it is over."""

    mean: float | None = Field(description="The mean of the groups' values (None when no group has one)")
    groups: int = Field(description="How many groups")


class AggregateResult(BaseModel):
    measure: str = Field(description="The measure's name")
    group_by: list[str]
    period: str | None = Field(description="The period the values are for (None: all rows)")
    compare_to: str | None = Field(description="The earlier period `previous` is for (None: no comparison)")
    rows: Annotated[
        list[AggregateRow],
        WithJsonSchema({"type": "array", "items": _ROW_SCHEMA}),
        Field(description=f"One row per group, in the requested order. Each row has {_ROW_FIELDS}"),
    ]
    overall: Annotated[
        AggregateRow | None,
        WithJsonSchema(_ROW_SCHEMA | {"type": ["object", "null"]}),
        Field(
            description="The measure over all matching rows at once (not a sum of rows); None without group_by"
        ),
    ]
    per_group: GroupMean | None = Field(
        default=None,
        description="The mean of every group's value (all groups, not only the rows shown): an average per group, "
        "such as per month or per customer; with group_by, without compare_to",
    )
    highest_percent_change: Annotated[
        AggregateRow | None,
        WithJsonSchema(_ROW_SCHEMA | {"type": ["object", "null"]}),
        Field(
            description="Of rows, the one with the highest percent_change (the fastest growth), whatever the "
            "order; comparisons with group_by only"
        ),
    ] = None
    lowest_percent_change: Annotated[
        AggregateRow | None,
        WithJsonSchema(_ROW_SCHEMA | {"type": ["object", "null"]}),
        Field(description="Of rows, the one with the lowest percent_change; comparisons with group_by only"),
    ] = None
    last_in_order: Annotated[
        AggregateRow | None,
        WithJsonSchema(_ROW_SCHEMA | {"type": ["object", "null"]}),
        Field(
            description="With limit 1 and more groups than that: the last group of the whole order, the other "
            "end of the ranking (with value_desc, the group with the least), so that one ranked call shows both ends"
        ),
    ] = None
    order: Order = Field(default="value_desc", description="The order of rows")
    row_count: int = Field(description="Rows returned")
    truncated: bool = Field(description="True when there were more groups than the limit")
    table: str = Field(description="The table the measure aggregates")
    date_column: str | None = Field(description="The date column periods apply to")
    definition: str = Field(description="The measure as SQL")
    description: str | None = Field(
        default=None, description="What the measure means (from the measures file)"
    )
    sql: str = Field(description="The query that produced rows (named parameters in `parameters`)")
    overall_sql: str | None = Field(description="The query that produced overall")
    parameters: dict[str, Any]
    note: str | None = Field(default=None, description="Set when the request was read differently than given")

    @model_serializer(mode="wrap")
    def _drop_unset_extras(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Fields that only comparisons or rewritten requests fill: absent rather than null, as in rows.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (k in _OPTIONAL_FIELDS and v is None)}


@dataclass(frozen=True)
class Condition:
    dimension: Dimension
    op: Op
    value: Scalar | list[Scalar]


@dataclass
class Query:
    """A request with every name resolved against the catalog."""

    measure: Measure
    group_by: list[Dimension]
    filters: list[Condition]
    date_column: str | None
    period: Period | None
    compare_to: Period | None
    order: Order
    limit: int
    note: str | None = None
    """How the request was read differently than given (said in the result's note)."""


@dataclass
class _Builder:
    params: dict[str, Cell] = field(default_factory=dict[str, Cell])

    def param(self, value: Cell) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def period(self, period: Period, column: str) -> str:
        text = period.condition.format(col=f"{ROW_ALIAS}.{quote_identifier(column)}")
        for value in period.params:
            text = text.replace("?", self.param(value), 1)
        return text

    def condition(self, cond: Condition) -> str:
        target = cond.dimension.select
        if cond.op == "in":
            values = cond.value if isinstance(cond.value, list) else [cond.value]
            return f"{target} IN ({', '.join(self.param(v) for v in values)})"
        value = cond.value
        if isinstance(value, list):
            raise ValueError(f"filter on {cond.dimension.name!r}: op {cond.op!r} takes one value, not a list")
        return f"{target} {cond.op.upper()} {self.param(value)}"


def _only_when(expression: exp.Expr, condition: str) -> str:
    """``expression`` with every aggregate fed only the rows where ``condition`` holds (CASE WHEN inside)."""
    test = sqlglot.parse_one(condition, read="sqlite")

    def restrict(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.AggFunc) or isinstance(node.parent, exp.AggFunc):
            return node
        node = node.copy()
        argument = node.this
        if isinstance(argument, exp.Star) or argument is None:
            node.set("this", exp.Case(ifs=[exp.If(this=test.copy(), true=exp.Literal.number(1))]))
        elif isinstance(argument, exp.Distinct):
            inner = [exp.Case(ifs=[exp.If(this=test.copy(), true=e)]) for e in argument.expressions]
            argument.set("expressions", inner)
        else:
            node.set("this", exp.Case(ifs=[exp.If(this=test.copy(), true=argument)]))
        return node

    return expression.transform(restrict).sql(dialect="sqlite")


def _number(value: Cell) -> Cell:
    # Round away float-summation noise (451623.05000000005) that only makes figures harder to read and copy.
    return round(value, 6) if isinstance(value, float) else value


def _row(group: dict[str, Cell], value: Cell, previous: Cell, comparing: bool) -> AggregateRow:
    value, previous = _number(value), _number(previous)
    if not comparing:
        return AggregateRow(group=group, value=value)
    difference = percent = None
    if isinstance(value, int | float) and isinstance(previous, int | float):
        difference = round(value - previous, 6)
        percent = round(difference / abs(previous) * 100, 2) if previous else None
    return AggregateRow(
        group=group, value=value, previous=previous, difference=difference, percent_change=percent
    )


def _order_sql(order: Order, groups: int) -> str:
    keys = [f"g{i}" for i in range(groups)]
    if order == "group":
        return ", ".join(keys) if keys else ""
    column, _, direction = order.rpartition("_")
    column = quote_identifier(column)
    return ", ".join([f"({column} IS NULL)", f"{column} {direction.upper()}", *keys])


def _reversed_order_sql(order: Order, groups: int) -> str:
    """``order`` the other way round, empty values still last: its first row is the last of ``order``."""
    column, _, direction = order.rpartition("_")
    keys = [f"g{i} DESC" for i in range(groups)]
    column = quote_identifier(column)
    return ", ".join([f"({column} IS NULL)", f"{column} {'ASC' if direction == 'desc' else 'DESC'}", *keys])


def _source(table: str, dimensions: list[Dimension]) -> str:
    """FROM the measure's table, joined to the tables ``dimensions`` read from (each once)."""
    joins: dict[str, Join] = {}
    for dim in dimensions:
        if dim.join is not None:
            joins.setdefault(dim.join.alias, dim.join)
    ordered = sorted(joins.values(), key=lambda j: j.alias)
    return f"FROM {quote_identifier(table)} AS {ROW_ALIAS}" + "".join(j.sql() for j in ordered)


def run(db: ReadOnlyDatabase, conn: sqlite3.Connection, query: Query, deadline: Deadline) -> AggregateResult:
    """Run ``query``: the grouped rows and, with group_by, the measure over all matching rows. When nothing
    matched, the equality filters are checked against the values their columns hold (``_explain_unmatched``), and
    a period whose values are all empty against the dates the table holds (``_coverage``)."""
    result = _run(db, conn, query, deadline)
    empty = [
        p
        for p, field in ((query.period, "value"), (query.compare_to, "previous"))
        if p is not None and all(getattr(r, field) is None for r in result.rows)
    ]
    gap = uncovered_note(db, conn, query.measure.table, query.date_column, empty, deadline)
    if gap is not None:
        result.note = f"{result.note}; {gap}" if result.note else gap
    return result


def _run(db: ReadOnlyDatabase, conn: sqlite3.Connection, query: Query, deadline: Deadline) -> AggregateResult:
    query, swapped = _chronological(query)
    notes = [n for n in (query.note, swapped) if n]
    result = _answer(db, conn, query, deadline, "; ".join(notes) or None)
    if _matched(result):
        return result
    unheld = [
        c
        for c in query.filters
        if c.op in ("=", "in") and not _held(db, conn, query.measure.table, c, deadline)
    ]
    query, unheld, read_as = _read_as_held(db, conn, query, unheld, deadline)
    if read_as is not None:
        notes.append(read_as)
        result = _answer(db, conn, query, deadline, "; ".join(notes))
        if _matched(result) or not unheld:
            return result
    narrowed, dropped = _without_grouped(query, unheld)
    if dropped is not None:
        result = _answer(db, conn, narrowed, deadline, "; ".join([*notes, dropped]))
        if _matched(result):
            return result
    _explain_unmatched(db, conn, narrowed, [c for c in unheld if c in narrowed.filters], deadline)
    return result


def _matched(result: AggregateResult) -> bool:
    """Whether any row came back with a value: no rows, or one total of 0 or null, is nothing matched."""
    return any(r.value or r.previous for r in result.rows)


def _answer(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, query: Query, deadline: Deadline, note: str | None
) -> AggregateResult:
    """The SQL of ``query`` run as it is: its rows and, with group_by, the overall row."""
    sql = _Builder()
    comparing = query.compare_to is not None
    where: list[str] = [sql.condition(c) for c in query.filters]
    measure = query.measure.expression
    if query.period is not None and query.date_column is not None:
        current = sql.period(query.period, query.date_column)
        if query.compare_to is not None:
            earlier = sql.period(query.compare_to, query.date_column)
            values = (
                f'{_only_when(measure, current)} AS "value", {_only_when(measure, earlier)} AS "previous"'
            )
            where.append(f"(({current}) OR ({earlier}))")
        else:
            values = f'{measure.sql(dialect="sqlite")} AS "value"'
            where.append(current)
    else:
        values = f'{measure.sql(dialect="sqlite")} AS "value"'
    grouped_from = _source(query.measure.table, [*query.group_by, *(c.dimension for c in query.filters)])
    overall_from = _source(query.measure.table, [c.dimension for c in query.filters])
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    selected = ", ".join(f"{d.select} AS g{i}" for i, d in enumerate(query.group_by))
    grouped = f"SELECT {selected + ', ' if selected else ''}{values} {grouped_from}{where_sql}"
    if query.group_by:
        grouped += f" GROUP BY {', '.join(d.key for d in query.group_by)}"
    if comparing:
        grouped = (
            'SELECT *, "value" - "previous" AS "difference", '
            '("value" - "previous") * 100.0 / abs(NULLIF("previous", 0)) AS "percent_change" '
            f"FROM ({grouped})"
        )
    order = _order_sql(query.order, len(query.group_by))
    rows_sql = grouped + (f" ORDER BY {order}" if order else "") + f" LIMIT {query.limit + 1}"
    fetched = db.fetch(conn, rows_sql, sql.params, query.limit, deadline)
    names = [d.name for d in query.group_by]
    width = len(names)
    rows = [
        _row(
            dict(zip(names, r[:width], strict=True)), r[width], r[width + 1] if comparing else None, comparing
        )
        for r in fetched.rows
    ]
    last_in_order = None
    # Only for the single top (or bottom) group: a "which one" ranking may run the wrong way, while beside a top-N
    # list a row from the other end reads as one of the N.
    if fetched.truncated and query.group_by and query.order != "group" and query.limit == 1:
        other_end = grouped + f" ORDER BY {_reversed_order_sql(query.order, len(query.group_by))} LIMIT 1"
        last = db.fetch(conn, other_end, sql.params, 1, deadline).rows[0]
        last_in_order = _row(
            dict(zip(names, last[:width], strict=True)),
            last[width],
            last[width + 1] if comparing else None,
            comparing,
        )
    overall, overall_sql = None, None
    if query.group_by:
        overall_sql = f"SELECT {values} {overall_from}{where_sql}"
        total = db.fetch(conn, overall_sql, sql.params, 1, deadline).rows[0]
        overall = _row({}, total[0], total[1] if comparing else None, comparing)
    per_group = None
    if query.group_by and not comparing:
        mean, count = db.fetch(
            conn, f'SELECT avg("value"), count(*) FROM ({grouped})', sql.params, 1, deadline
        ).rows[0]
        average = round(float(mean), 6) if isinstance(mean, int | float) else None
        per_group = GroupMean(mean=average, groups=int(count or 0))
    changed = [r for r in rows if r.percent_change is not None] if query.group_by else []
    return AggregateResult(
        highest_percent_change=max(changed, key=lambda r: r.percent_change or 0.0) if changed else None,
        lowest_percent_change=min(changed, key=lambda r: r.percent_change or 0.0) if changed else None,
        measure=query.measure.name,
        group_by=names,
        period=query.period.text if query.period else None,
        compare_to=query.compare_to.text if query.compare_to else None,
        rows=rows,
        overall=overall,
        per_group=per_group,
        last_in_order=last_in_order,
        order=query.order,
        row_count=len(rows),
        truncated=fetched.truncated,
        table=query.measure.table,
        date_column=query.date_column if query.period else None,
        definition=query.measure.definition,
        description=query.measure.description,
        sql=rows_sql,
        overall_sql=overall_sql,
        parameters=dict(sql.params),
        note=note,
    )


EXAMPLE_VALUES = 8
SPELLING_VALUES = 2000  # distinct values compared with a filter's text; a column with more is a free-text one


def _held(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, cond: Condition, deadline: Deadline
) -> bool:
    """Whether ``cond``'s column holds its value (any of them, for ``in``) in any row at all."""
    check = _Builder()
    source = _source(table, [cond.dimension])
    found = db.fetch(
        conn, f"SELECT 1 {source} WHERE {check.condition(cond)} LIMIT 1", check.params, 1, deadline
    )
    return bool(found.rows)


def _held_values(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, dim: Dimension, limit: int, deadline: Deadline
) -> Fetched:
    source = _source(table, [dim])
    target = dim.select
    sql = f"SELECT DISTINCT {target} {source} WHERE {target} IS NOT NULL ORDER BY 1 LIMIT {limit + 1}"
    return db.fetch(conn, sql, {}, limit, deadline)


def _read_as_held(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, query: Query, unheld: list[Condition], deadline: Deadline
) -> tuple[Query, list[Condition], str | None]:
    """``query`` with each ``unheld`` text value that one held value is a near spelling of read as that value
    (``_spelling``); the filters still unheld; and a note naming what was read as what (None: nothing was)."""
    still: list[Condition] = []
    read: dict[int, Condition] = {}
    said: list[str] = []
    for cond in unheld:
        given = cond.value if isinstance(cond.value, list) else [cond.value]
        if not all(isinstance(v, str) for v in given):
            still.append(cond)
            continue
        held = [
            str(r[0])
            for r in _held_values(
                db, conn, query.measure.table, cond.dimension, SPELLING_VALUES, deadline
            ).rows
        ]
        meant = [nearest_value(str(v), held) or str(v) for v in given]
        if meant == [str(v) for v in given]:
            still.append(cond)
            continue
        said += [f"{g!r} as {m!r}" for g, m in zip(given, meant, strict=True) if g != m]
        read[id(cond)] = replace(cond, value=meant if isinstance(cond.value, list) else meant[0])
    if not read:
        return query, unheld, None
    filters = [read.get(id(c), c) for c in query.filters]
    note = f"no row holds the filter value as given, so it was read as the one close value the column holds: {', '.join(said)}"
    return replace(query, filters=filters), still, note


def _without_grouped(query: Query, unheld: list[Condition]) -> tuple[Query, str | None]:
    """``query`` without the ``unheld`` filters (values their columns never hold) on a grouped dimension
    (``region = 'region'`` next to ``group_by: [region]``): the rows per region already answer, and the note says
    so."""
    grouped = {d.name for d in query.group_by}
    dropped = [c for c in unheld if c.dimension.name in grouped]
    if not dropped:
        return query, None
    said = ", ".join(f"{c.dimension.name} {c.op} {c.value!r}" for c in dropped)
    names = ", ".join(dict.fromkeys(c.dimension.name for c in dropped))
    note = (
        f"the filter {said} matches no row at all and was left out: group_by gives one row for each {names}"
    )
    return replace(query, filters=[c for c in query.filters if c not in dropped]), note


def _explain_unmatched(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, query: Query, unheld: list[Condition], deadline: Deadline
) -> None:
    """Raise when no row came back because an equality filter (of ``unheld``) names a value its column never holds
    (a dimension's own name, a misspelt region): the caller learns the values there are instead of taking "no
    data" as the answer. A value the column does hold, with no rows in the period asked, is a true empty answer."""
    for cond in unheld:
        held = _held_values(db, conn, query.measure.table, cond.dimension, EXAMPLE_VALUES, deadline)
        values = ", ".join(repr(r[0]) for r in held.rows) + (", ..." if held.truncated else "")
        raise ValueError(
            f"filters: {cond.dimension.name} {cond.op} {cond.value!r} matches no row at all; its values are "
            f"{values}. Use one of them, or leave the filter out to cover every {cond.dimension.name}"
        )


def _chronological(query: Query) -> tuple[Query, str | None]:
    """``query`` with its periods in time order: a change between two periods runs from the earlier to the
    later whichever way round they were given, so a growth is never reported as its inverse."""
    if query.period is None or query.compare_to is None or not query.period < query.compare_to:
        return query, None
    later, earlier = query.compare_to, query.period
    note = (
        f"period {earlier.text!r} is earlier than compare_to {later.text!r}, so they were swapped: values are "
        f"for {later.text}, previous for {earlier.text}, and the change runs from {earlier.text} to {later.text}"
    )
    return replace(query, period=later, compare_to=earlier), note
