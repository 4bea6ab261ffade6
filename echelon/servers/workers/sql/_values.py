"""Values the data stores that a text names: from a question's words ("Southwest", "Tents & Shelters", "Ember
Down Jackets") to the column holding each value as it is written there and the aggregate dimension that selects
it. A caller then filters on the value as stored instead of leaving the filter out or guessing its spelling.

Only text values are read, and only of columns with at most ``MAX_VALUES`` different ones (names, categories,
segments; not free text). A value matches where the text has it as whole words, case aside, or its plural; a value
found inside a longer one that also matches ("West" in "Mountain West") is not reported.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from pydantic import BaseModel, Field

from echelon.servers.workers.sql._catalog import Catalog, Dimension
from echelon.servers.workers.sql._db import Deadline, QueryTimeout, ReadOnlyDatabase, quote_identifier

MAX_VALUES = 5000
MAX_FOUND = 10
MIN_VALUE_LENGTH = 3
_COLUMN = re.compile(r'^\w+\."((?:[^"]|"")+)"$')
_NOT_A_NAME = re.compile(r"^[\d\s.:/+-]*$")  # numbers, dates and times are not names


class ValueFilter(BaseModel):
    dimension: str = Field(description="The aggregate group_by/filter name that selects the value")
    tables: list[str] = Field(description="The tables whose measures take that name")


class FoundValue(BaseModel):
    value: str = Field(description="The value exactly as the data stores it")
    columns: list[str] = Field(description="The table.column names holding it")
    filters: list[ValueFilter] = Field(description="How aggregate selects it, by the measure's table")
    selected_by: str = Field(default="", description="The aggregate filter that selects it, for a model")
    grouped_by: list[str] = Field(default_factory=list[str], description="The group_by names that show it")


class FoundValues(BaseModel):
    values: list[FoundValue] = Field(description="The values the text names, longest first")
    skipped: list[str] = Field(
        default_factory=list, description="Columns not read (too many different values, or too slow)"
    )


@dataclass(frozen=True)
class _Source:
    """A stored column, and the (table, dimension) pairs that show its value."""

    table: str
    column: str


def _source(table: str, dim: Dimension) -> _Source | None:
    found = _COLUMN.match(dim.select)
    if found is None:  # a date bucket or another computed value
        return None
    return _Source(dim.join.table if dim.join is not None else table, found.group(1).replace('""', '"'))


def _normal(text: str) -> str:
    """Lower case, every run of characters other than letters, digits and '&' one space, padded with spaces."""
    return " " + " ".join(re.sub(r"[^0-9a-z&]+", " ", text.lower()).split()) + " "


def find_values(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, catalog: Catalog, text: str, deadline: Deadline
) -> FoundValues:
    """The values of ``catalog``'s text dimensions that ``text`` names."""
    sources: dict[_Source, list[tuple[str, Dimension]]] = {}
    for table, shape in catalog.tables.items():
        for dim in shape.dimensions.values():
            source = _source(table, dim)
            if source is not None:
                sources.setdefault(source, []).append((table, dim))
    for source, uses in sources.items():
        # A value of a table other tables point to (a region's name) is selected on those tables' measures; the
        # table's own measures (counting regions) are not what a question naming one region is about.
        reached = [(table, dim) for table, dim in uses if table != source.table]
        sources[source] = reached or uses
    said = _normal(text)
    merged: dict[str, FoundValue] = {}  # one entry per value, however many columns hold it
    spans: list[tuple[int, int, str]] = []
    skipped: list[str] = []
    for source, uses in sources.items():
        column, table = quote_identifier(source.column), quote_identifier(source.table)
        sql = f"SELECT DISTINCT {column} FROM {table} WHERE typeof({column}) = 'text' LIMIT {MAX_VALUES + 1}"
        try:
            held = db.fetch(conn, sql, (), MAX_VALUES, deadline)
        except (sqlite3.Error, QueryTimeout):
            skipped.append(f"{source.table}.{source.column}")
            continue
        if held.truncated:
            skipped.append(f"{source.table}.{source.column}")
            continue
        for (value,) in held.rows:
            if not isinstance(value, str):
                continue
            name = _normal(value).strip()
            if len(name) < MIN_VALUE_LENGTH or _NOT_A_NAME.match(name):
                continue
            at = next((i for form in ("", "s", "es") if (i := said.find(f" {name}{form} ")) >= 0), -1)
            if at < 0:
                continue
            found = merged.get(value)
            if found is None:
                found = merged[value] = FoundValue(value=value, columns=[], filters=[])
                spans.append((at, at + len(name), value))
            found.columns.append(f"{source.table}.{source.column}")
            for use_table, use in uses:
                same = next((f for f in found.filters if f.dimension == use.name), None)
                if same is None:
                    found.filters.append(ValueFilter(dimension=use.name, tables=[use_table]))
                elif use_table not in same.tables:
                    same.tables.append(use_table)
    inner = {
        v
        for start, end, v in spans
        if any(s <= start and end <= e and e - s > end - start for s, e, _ in spans)
    }
    kept = sorted((f for v, f in merged.items() if v not in inner), key=lambda f: -len(f.value))
    for f in kept:
        f.selected_by = "aggregate filter " + "; ".join(
            f'{{"dimension": "{u.dimension}", "value": "{f.value}"}} for measures of {", ".join(u.tables)}'
            for u in f.filters
        )
        f.grouped_by = [u.dimension for u in f.filters]
    return FoundValues(values=kept[:MAX_FOUND], skipped=skipped)


def values_text(found: FoundValues) -> str:
    """The values for a model: each as stored, where it is, and the filter that selects it."""
    if not found.values:
        return "The text names no value stored in the database's text columns."
    lines = ["The text names these values of the database; filter on them exactly as written here:"]
    for f in found.values:
        lines.append(f"- {f.value!r} ({', '.join(f.columns)}): {f.selected_by}")
    return "\n".join(lines)
