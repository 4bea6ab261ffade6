"""Periods a table has no rows in at all: an empty value there is no figure of the business but a period the data
does not reach (a year that has not happened or was never loaded), and the result's note says which dates it holds.

A model that asks for the current year when the data ends last December reads ``value: null`` as "no revenue";
told the range, it can ask again for a period the data covers, or say that it does not.
"""

from __future__ import annotations

import sqlite3

from echelon.servers.workers.sql._catalog import ROW_ALIAS
from echelon.servers.workers.sql._db import Deadline, ReadOnlyDatabase, quote_identifier
from echelon.servers.workers.sql._periods import Period


def uncovered_note(
    db: ReadOnlyDatabase,
    conn: sqlite3.Connection,
    table: str,
    column: str | None,
    empty: list[Period],
    deadline: Deadline,
) -> str | None:
    """A note naming the periods of ``empty`` (whose values came back empty) in which ``table`` has no row at all,
    with the range ``column`` holds; None when each of them has rows (the filters left them empty, a true answer)."""
    if column is None or not empty:
        return None
    ref = f"{ROW_ALIAS}.{quote_identifier(column)}"
    source = f"FROM {quote_identifier(table)} AS {ROW_ALIAS}"
    missing = [
        p.text
        for p in empty
        if not db.fetch(
            conn, f"SELECT 1 {source} WHERE {p.condition.format(col=ref)} LIMIT 1", p.params, 1, deadline
        ).rows
    ]
    if not missing:
        return None
    bounds = date_bounds(db, conn, table, column, deadline)
    held = f"its {column} runs from {bounds[0]} to {bounds[1]}" if bounds else f"it has no {column} at all"
    return f"{table} has no row in {' or '.join(repr(m) for m in missing)}: {held}"


def date_bounds(
    db: ReadOnlyDatabase, conn: sqlite3.Connection, table: str, column: str, deadline: Deadline
) -> tuple[str, str] | None:
    """The first and last value (ISO text) ``table.column`` holds; None when it holds none."""
    ref = quote_identifier(column)
    rows = db.fetch(
        conn, f"SELECT min({ref}), max({ref}) FROM {quote_identifier(table)}", (), 1, deadline
    ).rows
    first, last = rows[0] if rows else (None, None)
    return (str(first), str(last)) if first is not None and last is not None else None
