"""Each SQL result as the text a model reads: a Markdown table of the rows and one line per figure beside them.

MCP gives a tool result two forms, ``content`` for the model and ``structuredContent`` for programs. The structured
form keeps everything (the SQL that ran, its parameters, the measure's definition) for provenance and checks; the
text leaves that out and labels each figure with its period and unit, so a model reads a few hundred characters
instead of a few thousand and copies figures from a table rather than from nested JSON.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from echelon.servers.workers.sql._aggregate import AggregateResult, AggregateRow
from echelon.servers.workers.sql._compare import GroupChange, PeriodComparison
from echelon.servers.workers.sql._models import QueryResult

_EXTREME = re.compile(r"^(min|max)\((\w+\.\w+)\)$")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` under ``columns`` as a Markdown table; None is an empty cell."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def aggregate_text(result: AggregateResult) -> str:
    """The rows under headers that say which period each value is for, then overall, the extremes and notes."""
    comparing = result.compare_to is not None
    value = f"{result.measure} {result.period}" if result.period else result.measure
    columns = [*result.group_by, value]
    if comparing:
        columns += [f"{result.measure} {result.compare_to}", "difference", "percent_change"]
    rows = [[*_groups(row, result.group_by), *_figures(row, comparing)] for row in result.rows]
    scope = f" in {result.period}" if result.period else ""
    scope += f", compared with {result.compare_to}" if comparing else ""
    lines = [f"{result.measure}{' by ' + ', '.join(result.group_by) if result.group_by else ''}{scope}:"]
    lines.append(markdown_table(columns, rows) if rows else "(no rows: nothing matched)")
    if result.truncated:
        groups = result.per_group.groups if result.per_group is not None else None
        lines.append(
            f"(only the first {result.row_count} groups are shown; there are "
            f"{f'{groups} in all' if groups else 'more'})"
        )
    if result.last_in_order is not None:
        column, _, direction = result.order.rpartition("_")
        ranked = value if column == "value" else column
        end = "lowest" if direction == "desc" else "highest"
        lines.append(
            f"the last of all groups in this order, with the {end} {ranked}: "
            f"{_named(result.last_in_order, result, comparing)}"
        )
    if result.overall is not None and result.group_by:
        lines.append(f"overall, all groups together: {_line(result.overall, result, comparing)}")
    if result.per_group is not None and result.per_group.mean is not None:
        each = " and ".join(result.group_by)
        lines.append(f"average per {each} ({result.per_group.groups} groups): {_cell(result.per_group.mean)}")
    # The extremes of percent_change, where the table's order does not already show them.
    rows_shown = result.rows
    highest, lowest = result.highest_percent_change, result.lowest_percent_change
    if highest is not None and rows_shown and highest != rows_shown[0]:
        lines.append(f"highest percent_change: {_named(highest, result, comparing)}")
    if lowest is not None and not result.truncated and rows_shown and lowest != rows_shown[-1]:
        lines.append(f"lowest percent_change: {_named(lowest, result, comparing)}")
    extreme = _EXTREME.match(result.measure)
    if extreme is not None and result.group_by:
        # "Which month brought in the most" is easily answered with the month of the largest single row.
        lines.append(
            f"{result.measure} is each group's single {'largest' if extreme.group(1) == 'max' else 'smallest'} "
            f"row, not its total: the group with the most or least in all is ranked by sum({extreme.group(2)})"
        )
    if result.description:
        lines.append(f"{result.measure} means: {result.description}")
    if result.note:
        lines.append(f"note: {result.note}")
    return "\n".join(lines)


def comparison_text(result: PeriodComparison) -> str:
    """Each group's value in both periods, the change and the percent change, then the total."""
    measure = f"{result.aggregate}({result.table}.{result.value_column})"
    columns = [
        *([result.group_by] if result.group_by else []),
        f"{measure} {result.from_period}",
        f"{measure} {result.to_period}",
        "difference",
        "percent_change",
    ]
    rows = [[*([g.group] if result.group_by else []), *_change(g)] for g in result.groups]
    lines = [f"{measure} in {result.to_period} compared with {result.from_period}:"]
    lines.append(markdown_table(columns, rows) if rows else "(no groups)")
    if result.truncated:
        lines.append("(only the first groups are shown; there are more)")
    if result.group_by:
        total = result.total
        lines.append(
            f"total, all groups together: {result.from_period} {_cell(total.from_value)}, {result.to_period} "
            f"{_cell(total.to_value)}, difference {_cell(total.difference)}, "
            f"percent_change {_percent(total.percent_change)}"
        )
    if result.note:
        lines.append(f"note: {result.note}")
    return "\n".join(lines)


def query_text(result: QueryResult) -> str:
    """The rows as a table and how many there are."""
    shown = markdown_table(result.columns, result.rows) if result.rows else "(no rows)"
    more = f"; the query had more, cut at the limit of {result.limit}" if result.truncated else ""
    return f"{shown}\n({result.row_count} row{'s' if result.row_count != 1 else ''}{more})"


def _groups(row: AggregateRow, names: Sequence[str]) -> list[Any]:
    return [row.group.get(name) for name in names]


def _figures(row: AggregateRow, comparing: bool) -> list[Any]:
    if not comparing:
        return [row.value]
    return [row.value, row.previous, row.difference, _percent(row.percent_change)]


def _line(row: AggregateRow, result: AggregateResult, comparing: bool) -> str:
    if not comparing:
        return _cell(row.value)
    return (
        f"{result.period} {_cell(row.value)}, {result.compare_to} {_cell(row.previous)}, "
        f"difference {_cell(row.difference)}, percent_change {_percent(row.percent_change)}"
    )


def _named(row: AggregateRow, result: AggregateResult, comparing: bool) -> str:
    return f"{', '.join(_cell(g) for g in _groups(row, result.group_by))}: {_line(row, result, comparing)}"


def _change(group: GroupChange) -> list[Any]:
    return [group.from_value, group.to_value, group.difference, _percent(group.percent_change)]


def _percent(value: float | None) -> str | None:
    return None if value is None else f"{value}%"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")
