"""Read-only access to one SQLite file: connections, time-limited execution and schema introspection.

The engine enforces read-only access (``mode=ro`` plus ``PRAGMA query_only``, and an authorizer that refuses
ATTACH/DETACH, through which VACUUM INTO and file creation would go); nothing here inspects SQL text.
A connection is opened per call, so sync tools running on worker threads never share one.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echelon.servers.workers.sql._models import Cell

PROGRESS_STEP = 1000  # VM instructions between deadline checks (a few microseconds each)
MAX_VALUE_BYTES = (
    10_000_000  # sqlite refuses to build a longer string/blob (randomblob(1e9) is a memory bomb)
)
MAX_CELL_CHARS = 10_000  # longer text is cut in results, with its length noted
_DENIED_ACTIONS = frozenset({sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH})


class QueryTimeout(Exception):
    """The statement ran past the deadline and sqlite interrupted it."""


class Deadline:
    """A progress handler that tells sqlite to abort once a point in time has passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def __call__(self) -> int:
        if time.monotonic() > self.at:
            self.expired = True
            return 1
        return 0


def _authorize(
    action: int, _arg1: str | None, _arg2: str | None, _db: str | None, _trigger: str | None
) -> int:
    return sqlite3.SQLITE_DENY if action in _DENIED_ACTIONS else sqlite3.SQLITE_OK


def to_cell(value: Any) -> Cell:
    """Make one sqlite value JSON-safe."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        more = "…" if len(data) > 32 else ""
        return f"<blob {len(data)} bytes: {data[:32].hex()}{more}>"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return f"{value[:MAX_CELL_CHARS]}… [{len(value)} characters, truncated]"
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SchemaObject:
    name: str
    kind: str  # "table" or "view"
    sql: str | None


@dataclass(frozen=True)
class Fetched:
    columns: list[str]
    rows: list[list[Cell]]
    truncated: bool


class ReadOnlyDatabase:
    """One SQLite file, opened read-only for each call."""

    def __init__(self, path: Path, timeout_seconds: float) -> None:
        self.path = path
        self.timeout_seconds = timeout_seconds
        self._uri = path.as_uri() + "?mode=ro"

    @contextmanager
    def connect(self) -> Generator[sqlite3.Connection, None, None]:
        # isolation_level=None: no implicit BEGIN, so each statement is exactly what the caller sent.
        conn = sqlite3.connect(self._uri, uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA query_only=ON")
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
            conn.set_authorizer(_authorize)
            yield conn
        finally:
            conn.close()

    def fetch(
        self,
        conn: sqlite3.Connection,
        sql: str,
        params: Sequence[Any] | Mapping[str, Any],
        max_rows: int,
        deadline: Deadline,
    ) -> Fetched:
        """Run one statement and fetch up to ``max_rows`` rows (one more to tell whether there were more)."""
        conn.set_progress_handler(deadline, PROGRESS_STEP)
        try:
            cursor = conn.execute(sql, params)
            columns = [d[0] for d in cursor.description or ()]
            raw = cursor.fetchmany(max_rows + 1) if cursor.description else []
            cursor.close()
        except sqlite3.OperationalError as exc:
            if deadline.expired:
                raise QueryTimeout(f"exceeded {deadline.seconds:g} seconds") from exc
            raise
        finally:
            conn.set_progress_handler(None, 0)
        rows = [[to_cell(v) for v in row] for row in raw[:max_rows]]
        return Fetched(columns=columns, rows=rows, truncated=len(raw) > max_rows)

    def objects(self, conn: sqlite3.Connection) -> list[SchemaObject]:
        """User tables and views (sqlite's internal tables left out), by name."""
        rows = conn.execute(
            "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view')"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        return [SchemaObject(name=r[0], kind=r[1], sql=r[2]) for r in rows]

    def count_rows(self, conn: sqlite3.Connection, name: str, deadline: Deadline) -> int | None:
        """Row count, or None when counting fails or would outlast the deadline."""
        if deadline.remaining() <= 0:
            return None
        try:
            fetched = self.fetch(conn, f"SELECT count(*) FROM {quote_identifier(name)}", (), 1, deadline)
        except (QueryTimeout, sqlite3.OperationalError):  # too slow, or a view over a table that is gone
            return None
        value = fetched.rows[0][0]
        return value if isinstance(value, int) else None

    def columns_of(self, conn: sqlite3.Connection, name: str) -> list[tuple[Any, ...]]:
        """``pragma_table_info`` rows: (cid, name, type, notnull, dflt_value, pk)."""
        return conn.execute("SELECT * FROM pragma_table_info(?)", (name,)).fetchall()

    def column_names(self, conn: sqlite3.Connection, name: str) -> list[str]:
        """The column names of a table or view, in order."""
        return [str(row[1]) for row in self.columns_of(conn, name)]

    def foreign_keys_of(self, conn: sqlite3.Connection, name: str) -> list[tuple[Any, ...]]:
        """``pragma_foreign_key_list`` rows: (id, seq, table, from, to, on_update, on_delete, match)."""
        return conn.execute("SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq", (name,)).fetchall()

    def indexes_of(self, conn: sqlite3.Connection, name: str) -> list[tuple[str, list[str], bool, str]]:
        """(index name, column names, unique, origin code 'c' | 'u' | 'pk') for each index of a table."""
        found: list[tuple[str, list[str], bool, str]] = []
        for _seq, index, unique, origin, _partial in conn.execute(
            "SELECT * FROM pragma_index_list(?) ORDER BY name", (name,)
        ).fetchall():
            cols = conn.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,)).fetchall()
            found.append(
                (index, [c[0] if c[0] is not None else "<expression>" for c in cols], bool(unique), origin)
            )
        return found
