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
    bounds = db.fetch(conn, f"SELECT min({ref}), max({ref}) {source}", (), 1, deadline).rows
    first, last = bounds[0] if bounds else (None, None)
    held = f"its {column} runs from {first} to {last}" if first is not None else f"it has no {column} at all"
    return f"{table} has no row in {' or '.join(repr(m) for m in missing)}: {held}"
