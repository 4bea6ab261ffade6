"""Turn sqlite errors into messages that say what was wrong and how to fix it."""

from __future__ import annotations

import difflib
import re
import sqlite3

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from echelon.servers.workers.sql._analysis import locate_parse_error, locate_token
from echelon.servers.workers.sql._db import MAX_VALUE_BYTES, ReadOnlyDatabase

READ_ONLY = (
    "the database is read-only: it is opened with mode=ro and query_only, so INSERT, UPDATE, DELETE, "
    "CREATE, DROP, ALTER, ATTACH and VACUUM are refused by sqlite itself. "
    "Run a SELECT (or WITH ... SELECT) instead."
)


def _close(word: str, candidates: list[str]) -> str:
    lowered = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean {lowered[found[0]]!r}?" if found else ""


def _referenced_tables(sql: str, existing: list[str]) -> list[str]:
    """Existing tables the statement names (all of them when it cannot be parsed or names none)."""
    by_lower = {name.lower(): name for name in existing}
    try:
        named = [
            t.name.lower() for s in sqlglot.parse(sql, read="sqlite") if s for t in s.find_all(exp.Table)
        ]
    except SqlglotError:
        named = []
    found = list(dict.fromkeys(by_lower[n] for n in named if n in by_lower))
    return found or existing


def unknown_table(db: ReadOnlyDatabase, conn: sqlite3.Connection, name: str) -> str:
    tables = [o.name for o in db.objects(conn)]
    bare = name.split(".")[-1]
    listing = ", ".join(tables) if tables else "(none: the database is empty)"
    return f"no such table: {name}.{_close(bare, tables)} Tables in this database: {listing}"


def unknown_column(db: ReadOnlyDatabase, conn: sqlite3.Connection, name: str, sql: str) -> str:
    tables = _referenced_tables(sql, [o.name for o in db.objects(conn)])
    columns = {t: db.column_names(conn, t) for t in tables}
    every = [c for cols in columns.values() for c in cols]
    listing = "; ".join(f"{t}({', '.join(cols)})" for t, cols in columns.items())
    return f"no such column: {name}.{_close(name.split('.')[-1], every)} Columns: {listing}"


def syntax_error(message: str, sql: str) -> str:
    where = locate_parse_error(sql, "sqlite")
    if where is None:
        near = re.match(r'near "(.*)": syntax error', message, re.S)
        located = locate_token(sql, near.group(1)) if near else None
        where = f"at {located}" if located else None
    return f"SQL syntax error: {message}" + (f"\n{where}" if where else "")


def explain(exc: sqlite3.Error, sql: str, db: ReadOnlyDatabase, conn: sqlite3.Connection) -> str:
    """A message for the caller of run_query."""
    message = str(exc)
    code = getattr(exc, "sqlite_errorname", "")
    if isinstance(exc, sqlite3.ProgrammingError) and "one statement" in message:
        return "run_query takes one statement per call; send each statement in its own call"
    if code in ("SQLITE_READONLY", "SQLITE_AUTH"):
        return f"{READ_ONLY} (sqlite: {message})"
    if match := re.match(r"no such table: (.+)", message):
        return unknown_table(db, conn, match.group(1))
    if match := re.match(r"no such column: (.+)", message):
        return unknown_column(db, conn, match.group(1), sql)
    if "syntax error" in message or message == "incomplete input" or message.startswith("unrecognized token"):
        return syntax_error(message, sql)
    if match := re.match(r"no such function: (\w+)", message):
        return unknown_function(match.group(1))
    if code == "SQLITE_TOOBIG":
        return f"a value would exceed {MAX_VALUE_BYTES:,} bytes, the limit of this server (sqlite: {message})"
    if code == "SQLITE_NOTADB":
        return f"{db.path} is not a SQLite database (sqlite: {message})"
    return f"sqlite error: {message}"


# Functions of other SQL dialects that models reach for, and what SQLite offers instead.
_DIALECT_HINTS = {
    "YEAR": "strftime('%Y', col) or substr(col, 1, 4) for an ISO date text 'YYYY-MM-DD'",
    "MONTH": "strftime('%m', col) or substr(col, 6, 2)",
    "DAY": "strftime('%d', col)",
    "NOW": "date('now') or datetime('now')",
    "GETDATE": "datetime('now')",
    "CURDATE": "date('now')",
    "DATE_TRUNC": "strftime('%Y-%m', col) for a month, substr(col, 1, 4) for a year",
    "EXTRACT": "strftime('%Y', col) and friends",
    "DATEDIFF": "julianday(a) - julianday(b)",
    "TO_CHAR": "strftime(format, col)",
    "CONCAT": "the || operator",
    "LEN": "length(x)",
    "ISNULL": "ifnull(x, y) or coalesce(x, y)",
}


def unknown_function(name: str) -> str:
    """SQLite lacks a function other dialects have: say what to use instead."""
    hint = _DIALECT_HINTS.get(name.upper())
    base = f"no such function: {name} (this database is SQLite)"
    return f"{base}; use {hint} instead" if hint else f"{base}; see https://sqlite.org/lang_corefunc.html"
