"""compare_periods: one value summed (or counted, averaged) over two periods, per group, with the change.

Growth questions ("which region grew fastest last year?") need two periods side by side and a percentage. Written
as SQL that is a conditional aggregate per period inside a CTE, which small models rarely get right; as a tool the
caller names a table, columns and periods, and the worker builds the SQL from checked identifiers.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from echelon.servers.workers.sql._db import Deadline, ReadOnlyDatabase, quote_identifier
from echelon.servers.workers.sql._models import Cell

Aggregate = Literal["sum", "count", "avg"]
LABEL_COLUMNS = ("name", "title", "label")
PERIOD_FORMATS = (
    "'2025' (a year), '2025-Q3' (a quarter), '2025-03' (a month) or '2025-01-01..2025-06-30' (dates)"
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


class GroupChange(BaseModel):
    group: Cell = Field(description="The group's value (its name, when group_by is a foreign key)")
    from_value: float | None
    to_value: float | None
    difference: float | None = Field(description="to_value - from_value, in the value's own unit")
    percent_change: float | None = Field(description="The growth in percent, relative to |from_value|")


class PeriodComparison(BaseModel):
    summary: str = Field(description="The result in a sentence or two: which group changed most and least")
    note: str | None = Field(
        default=None, description="Set when another table than the one asked for was used"
    )
    table: str
    aggregate: Aggregate
    value_column: str
    from_period: str
    to_period: str
    group_by: str | None
    groups: list[GroupChange] = Field(description="Largest percent change first; groups without one last")
    total: GroupChange = Field(description="All rows of the table together")
    truncated: bool = Field(description="True when there were more groups than the row limit")


@dataclass(frozen=True)
class Period:
    text: str
    condition: (
        str  # SQL over the placeholder {col}, comparing text prefixes: works for '2025-03' and full dates
    )
    params: tuple[str, ...]


def parse_period(text: str) -> Period:
    """A period as a prefix condition on an ISO date/text column; ValueError names the accepted formats."""
    value = text.strip()
    if m := _YEAR.match(value):
        return Period(value, "substr({col}, 1, 4) = ?", (m.group(1),))
    if m := _QUARTER.match(value):
        year, quarter = m.group(1), int(m.group(2))
        months = tuple(f"{year}-{month:02d}" for month in range(3 * quarter - 2, 3 * quarter + 1))
        return Period(f"{year}-Q{quarter}", "substr({col}, 1, 7) IN (?, ?, ?)", months)
    if m := _MONTH.match(value):
        return Period(value, "substr({col}, 1, 7) = ?", (value,))
    if m := _RANGE.match(value):
        start, end = m.group(1), m.group(2)
        if start > end:
            raise ValueError(f"period {text!r} ends before it starts")
        return Period(f"{start}..{end}", "substr({col}, 1, 10) BETWEEN ? AND ?", (start, end))
    raise ValueError(f"unknown period {text!r}: use {PERIOD_FORMATS}")


def _change(group: Cell, before: Cell, after: Cell) -> GroupChange:
    # Round away float-summation noise (451623.05000000005) that only makes figures harder to read and copy.
    old = round(float(before), 6) if isinstance(before, int | float) else None
    new = round(float(after), 6) if isinstance(after, int | float) else None
    difference = round(new - old, 6) if old is not None and new is not None else None
    percent = round(difference / abs(old) * 100, 2) if difference is not None and old else None
    return GroupChange(
        group=group, from_value=old, to_value=new, difference=difference, percent_change=percent
    )


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
    """The one table with both columns whose foreign keys point to ``table``: a caller asking for revenue by
    category of ``products`` means the sales that refer to products. ``None`` when there is not exactly one."""
    found = [
        o.name
        for o in db.objects(conn)
        if o.name != table
        and _find(value_column, names := db.column_names(conn, o.name))
        and _find(date_column, names)
        and any(str(key[2]).lower() == table.lower() for key in db.foreign_keys_of(conn, o.name))
    ]
    return found[0] if len(found) == 1 else None


def _names_the_key(group_by: str, column: str, table: str) -> bool:
    """Whether ``group_by`` names a foreign key by what it points to: "region" for region_id or regions."""
    word = group_by.strip().lower()
    return word in (column.lower().removesuffix("_id"), table.lower(), table.lower().removesuffix("s"))


def _group_key(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, group_by: str, columns: list[str]
) -> tuple[str, str, str]:
    """SQL for the group: the column itself, the name behind a foreign key column, or a column of a table a
    foreign key points to (``category`` of products, for sales.product_id). Returns (expression, join, label)."""
    keys = db.foreign_keys_of(conn, table)
    own = _find(group_by, columns)
    for _id, _seq, ref_table, from_col, to_col, *_ in keys:
        if not to_col:
            continue
        ref_columns = db.column_names(conn, ref_table)
        join = f" LEFT JOIN {quote_identifier(ref_table)} AS g ON g.{quote_identifier(to_col)} = t.{quote_identifier(from_col)}"
        name = next((c for c in ref_columns if c.lower() in LABEL_COLUMNS), None)
        if own is not None and str(from_col).lower() == own.lower():
            if name:
                return f"g.{quote_identifier(name)}", join, own
        elif own is None and (found := _find(group_by, ref_columns)):
            return f"g.{quote_identifier(found)}", join, f"{ref_table}.{found}"
        elif own is None and name and _names_the_key(group_by, str(from_col), str(ref_table)):
            # "region" for sales.region_id -> regions: the region's name.
            return f"g.{quote_identifier(name)}", join, f"{ref_table}.{name}"
    label = own or _column(db, conn, table, columns, group_by, "group_by")  # no such column anywhere: raises
    return f"t.{quote_identifier(label)}", "", label


def compare(
    db: ReadOnlyDatabase,
    conn: sqlite3.Connection,
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
    first, second = parse_period(from_period), parse_period(to_period)
    col = f"t.{quote_identifier(date)}"
    in_first, in_second = first.condition.format(col=col), second.condition.format(col=col)
    measure = "1" if aggregate == "count" else f"t.{quote_identifier(value)}"
    function = "COUNT" if aggregate == "count" else aggregate.upper()
    select = (
        f"{function}(CASE WHEN {in_first} THEN {measure} END) AS from_value, "
        f"{function}(CASE WHEN {in_second} THEN {measure} END) AS to_value"
    )
    source = f"{quote_identifier(table)} AS t"
    where = f"WHERE ({in_first}) OR ({in_second})"
    params = (*first.params, *second.params)
    grouped_sql, label = "", None
    if group_by is not None:
        key, join, label = _group_key(db, conn, table, group_by.strip(), columns)
        grouped_sql = f"SELECT {key} AS grp, {select} FROM {source}{join} {where} GROUP BY grp"
    total_sql = f"SELECT {select} FROM {source} {where}"
    total = db.fetch(conn, total_sql, params * 2, 1, deadline).rows[0]
    groups: list[GroupChange] = []
    truncated = False
    if grouped_sql:
        fetched = db.fetch(conn, grouped_sql, params * 2, max_groups, deadline)
        truncated = fetched.truncated
        groups = [_change(row[0], row[1], row[2]) for row in fetched.rows]
        groups.sort(key=lambda g: (g.percent_change is None, -(g.percent_change or 0.0)))
    overall = _change("(all)", total[0], total[1])
    return PeriodComparison(
        summary=_summary(groups, overall, label, first.text, second.text),
        note=note,
        table=table,
        aggregate=aggregate,
        value_column=value,
        from_period=first.text,
        to_period=second.text,
        group_by=label,
        groups=groups,
        total=overall,
        truncated=truncated,
    )


def _summary(
    groups: list[GroupChange], total: GroupChange, label: str | None, first: str, second: str
) -> str:
    """The comparison's answer in words, so a caller (often a small model) need not rank the groups itself; the
    overall change when there are no groups."""
    ranked = [g for g in groups if g.percent_change is not None]
    label = _group_word(label)
    overall = f"All rows together: {_described(total, first, second)}."
    if not ranked:
        return overall if not groups else f"No {label} has values in both periods. {overall}"
    top, bottom = ranked[0], ranked[-1]
    kind = "largest growth" if (top.percent_change or 0.0) > 0 else "smallest decline"
    text = f"The {label} with the {kind} from {first} to {second}: {top.group}, {_described(top, first, second)}."
    if len(ranked) > 1:
        text += f" The {label} with the lowest change: {bottom.group}, {_described(bottom, first, second)}."
    # The overall total stays in ``total``: next to the ranking in words, small models took it for the top group's.
    return text


def _group_word(label: str | None) -> str:
    """What one group is, for the summary: products.category -> category, regions.name -> region."""
    table, _, column = (label or "group").rpartition(".")
    if column in LABEL_COLUMNS and table:
        return table.removesuffix("s")
    return column.removesuffix("_id")


def _described(change: GroupChange, first: str, second: str) -> str:
    if change.percent_change is None:
        return f"{_number(change.from_value)} in {first}, {_number(change.to_value)} in {second}"
    return (
        f"{change.percent_change:+.2f}% ({_number(change.from_value)} in {first}, "
        f"{_number(change.to_value)} in {second})"
    )


def _number(value: float | None) -> str:
    if value is None:
        return "no rows"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
