"""The aggregate and compare_periods tools: registered per server, since their enums come from its schema."""

# No `from __future__ import annotations` here: tool signatures are read at registration, and they use the
# per-server Filter class and enums defined below.
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field, JsonValue
from pydantic.config import JsonDict

from echelon.servers.core.tooling import (
    DATA_FIELDS,
    LINKS_VALUES,
    NAMES_CANDIDATES,
    OVERALL_FIELDS,
    SELECTS_VALUES,
    LinksValues,
    NamesCandidates,
    SelectsValues,
    tool,
    written_for_models,
)
from echelon.servers.workers.sql import _aggregate, _compare, _resolve, _values
from echelon.servers.workers.sql._catalog import Catalog, Measure
from echelon.servers.workers.sql._coverage import date_bounds
from echelon.servers.workers.sql._db import Deadline, QueryTimeout, ReadOnlyDatabase, SchemaObject
from echelon.servers.workers.sql._periods import PERIOD_FORMATS
from echelon.servers.workers.sql._text import aggregate_text, comparison_text

DEFAULT_GROUPS = 50
ALL_DATES = "all"
"""The period that means every date: ``period`` is required, so that which dates a figure is for is always a
decision the caller made (a small model left it out for questions naming a year, and answered with every
year's total)."""
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)

AGGREGATE_DESCRIPTION = (
    "Compute a measure without writing SQL: a count, total, average, minimum or maximum, per group, for a "
    "period, optionally against an earlier period (compare_to: each row then gets previous, difference and "
    "percent_change). Rows come sorted, largest first; `overall` is the measure over all matching rows, and "
    "`per_group` the average of the groups' values (an average per month, per customer, per order). "
    "Measures: count(table) counts rows, sum/avg/min/max(table.column), count_distinct(table.column) counts "
    "different values. group_by names must belong to the measure's table: its columns, key.column for a table "
    "its foreign key points to (the key's own name gives that row's name), and year/quarter/month(date column). "
    "Which one has the most or the least of something: its total (sum or count) grouped by what is ranked, "
    "ordered, limit 1; min and max give the single largest or smallest row, not a total."
)


_BY_GROUP = NamesCandidates(
    argument="group_by",
    how="To rank by how much each has in all, measure its total (sum or count), with order value_desc for the most "
    "or value_asc for the least, and limit 1; the grouped result still has the overall figure",
).model_dump(include={"argument", "how"})


def _enum(names: list[str]) -> JsonDict:
    """A JSON-schema enum of ``names`` (none for an empty database: an empty enum would allow nothing)."""
    return {"enum": list[JsonValue](names)} if names else {}


def add_aggregate_tools(
    server: MCPServer,
    db: ReadOnlyDatabase,
    catalog: Catalog,
    business: list[Measure],
    session: Callable[[], AbstractContextManager[sqlite3.Connection]],
    find_object: Callable[[sqlite3.Connection, str], SchemaObject],
    *,
    row_limit: int,
) -> None:
    """Register aggregate (names checked against ``catalog``), find_values and compare_periods on ``server``."""
    measure_names, dimension_names = list(catalog.measures), catalog.dimension_names()
    timeout_seconds = db.timeout_seconds

    class Filter(_aggregate.FilterBase):
        dimension: str = Field(
            description="A group_by name; its value as group_by shows it is compared",
            json_schema_extra=_enum(dimension_names),
        )

    def _bounds(conn: sqlite3.Connection, table: str, column: str) -> tuple[str, str] | None:
        try:
            return date_bounds(db, conn, table, column, Deadline(min(timeout_seconds, 2.0)))
        except (sqlite3.Error, QueryTimeout):
            return None  # no implied comparison: the call gets the error naming the periods to give

    def tool_error(exc: Exception, what: str) -> ToolError:
        if isinstance(exc, QueryTimeout):
            return ToolError(f"the {what} exceeded {timeout_seconds:g} seconds and was stopped")
        if isinstance(exc, sqlite3.Error):
            return ToolError(f"could not read the database {db.path}: {exc}")
        return ToolError(str(exc))

    business_names = {m.name for m in business}
    counted = [m for m in catalog.measures.values() if m.description and m.name not in business_names]

    @tool(
        server,
        annotations=_READ_ONLY,
        meta={
            DATA_FIELDS: [
                "rows",
                "overall",
                "per_group",
                "last_in_order",
                "highest_percent_change",
                "lowest_percent_change",
            ],
            OVERALL_FIELDS: ["overall", "per_group"],
            NAMES_CANDIDATES: _BY_GROUP,
            SELECTS_VALUES: SelectsValues(argument="filters").model_dump(),
        },
        description=AGGREGATE_DESCRIPTION
        + (
            " Counting things: " + "; ".join(f"{m.name} {m.description}" for m in counted) + "."
            if counted
            else ""
        )
        + (
            " Business measures: "
            + "; ".join(
                f"{m.name} = {m.definition}" + (f" ({m.description})" if m.description else "")
                for m in business
            )
            if business
            else ""
        ),
    )
    def aggregate(
        measure: Annotated[
            str,
            Field(
                description="What to compute, e.g. sum(table.column)", json_schema_extra=_enum(measure_names)
            ),
        ],
        period: Annotated[
            str,
            Field(
                description=f"The period the values are for: {PERIOD_FORMATS}; or '{ALL_DATES}' for every date "
                "the data holds (and for a table without dates)"
            ),
        ],
        group_by: Annotated[
            list[Annotated[str, Field(json_schema_extra=_enum(dimension_names))]] | None,
            Field(description="Dimensions to group by (one row per combination); none: one row"),
        ] = None,
        filters: Annotated[
            list[Filter] | None, Field(description="Conditions rows must meet, all of them")
        ] = None,
        compare_to: Annotated[
            str | None, Field(description="An earlier period to compare period with, in the same forms")
        ] = None,
        date_column: Annotated[
            Annotated[str, Field(json_schema_extra=_enum(catalog.date_column_names()))] | None,
            Field(description="The date column periods apply to; only needed when the table has several"),
        ] = None,
        order: Annotated[
            _aggregate.Order | None,
            Field(
                description="Row order: value_desc (default), value_asc, by difference or percent_change when "
                "comparing (percent_change_desc is then the default), or group (by the group values, e.g. in time)"
            ),
        ] = None,
        limit: Annotated[
            int | None,
            Field(
                ge=1,
                description=f"Maximum rows; default {min(DEFAULT_GROUPS, row_limit)}, at most {row_limit}",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, _aggregate.AggregateResult]:
        with session() as conn:
            try:
                query = _resolve.resolve(
                    catalog,
                    measure=measure,
                    group_by=group_by or [],
                    filters=filters or [],
                    period=None if period.strip().lower() in (ALL_DATES, "") else period,
                    compare_to=compare_to,
                    date_column=date_column,
                    order=order,
                    limit=min(limit or DEFAULT_GROUPS, row_limit),
                    span=lambda table, column: _bounds(conn, table, column),
                )
                result = _aggregate.run(db, conn, query, Deadline(timeout_seconds))
                return written_for_models(result, aggregate_text(result))
            except (ValueError, QueryTimeout, sqlite3.Error) as exc:
                raise tool_error(exc, "aggregate") from None

    @tool(
        server,
        annotations=_READ_ONLY,
        meta={DATA_FIELDS: ["values"], LINKS_VALUES: LinksValues(argument="text").model_dump()},
    )
    def find_values(
        text: Annotated[
            str, Field(description="The question or phrase, e.g. the user's request as it was asked")
        ],
    ) -> Annotated[CallToolResult, _values.FoundValues]:
        """Find the values stored in the database that a text names (a region, a product, a category, ...):
        each as the data writes it, the column holding it, and the aggregate filter that selects it."""
        with session() as conn:
            try:
                found = _values.find_values(db, conn, catalog, text, Deadline(timeout_seconds))
            except sqlite3.Error as exc:
                raise tool_error(exc, "search") from None
            return written_for_models(found, _values.values_text(found))

    @tool(
        server,
        annotations=_READ_ONLY,
        meta={
            DATA_FIELDS: ["groups", "total"],
            OVERALL_FIELDS: ["total"],
            NAMES_CANDIDATES: {"argument": "group_by"},
        },
    )
    def compare_periods(
        table: Annotated[str, Field(description="The table or view holding the values")],
        value_column: Annotated[str, Field(description="The numeric column to total, e.g. revenue")],
        date_column: Annotated[str, Field(description="The column with ISO dates or months (YYYY-MM[-DD])")],
        from_period: Annotated[str, Field(description=f"The earlier period: {PERIOD_FORMATS}")],
        to_period: Annotated[str, Field(description="The later period, in the same forms")],
        group_by: Annotated[
            str | None,
            Field(
                description="Column to compare by: of the table, or of a table its foreign keys point to "
                "(a foreign key column itself is shown by the name it points to)"
            ),
        ] = None,
        aggregate: Annotated[
            Literal["sum", "count", "avg"], Field(description="sum (default), count of rows, or avg")
        ] = "sum",
    ) -> Annotated[CallToolResult, _compare.PeriodComparison]:
        """Compare a value between two periods (growth, change): each group's total in both periods, the change
        and the percent change, largest growth first, plus the overall total. The same figures as aggregate
        with compare_to."""
        with session() as conn:
            obj = find_object(conn, table)
            try:
                compared = _compare.compare(
                    db,
                    conn,
                    catalog,
                    obj.name,
                    value_column=value_column,
                    date_column=date_column,
                    from_period=from_period,
                    to_period=to_period,
                    group_by=group_by,
                    aggregate=aggregate,
                    max_groups=row_limit,
                    deadline=Deadline(timeout_seconds),
                )
            except (ValueError, QueryTimeout, sqlite3.Error) as exc:
                raise tool_error(exc, "comparison") from None
            return written_for_models(compared, comparison_text(compared))
