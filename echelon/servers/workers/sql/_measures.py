"""Business measures from a TOML file (``--measures FILE``), checked against the schema when the server starts.

    [measures.revenue_per_customer]
    table = "orders"
    expression = "sum(total) / count(distinct customer_id)"
    description = "Average spend per buying customer"

An expression is SQLite over one table's columns, made of aggregates only (every column inside an aggregate
function, no subqueries, no window functions), so it can be grouped, filtered and compared like a derived measure.
Every problem is reported with the file, the measure and what to change; a measure that passes is also prepared
once by SQLite, which catches functions SQLite does not have.
"""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path

import sqlglot
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp
from sqlglot.errors import SqlglotError

from echelon.servers.workers.sql._catalog import ROW_ALIAS, Catalog, Measure, column_ref, qualified
from echelon.servers.workers.sql._db import quote_identifier

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# SQLite aggregates sqlglot does not model as aggregate functions.
_SQLITE_AGGREGATES = {"total"}
_FORBIDDEN: tuple[type[exp.Expr], ...] = (exp.Query, exp.Subquery, exp.Window, exp.Placeholder, exp.Parameter)


class MeasureSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str = Field(description="The table (or view) whose rows the expression aggregates")
    expression: str = Field(description="SQLite aggregate expression over the table's columns")
    description: str | None = None


class MeasuresFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measures: dict[str, MeasureSpec]


def _is_aggregate(node: exp.Expr) -> bool:
    if isinstance(node, exp.Min | exp.Max) and node.expressions:
        return False  # min(a, b) / max(a, b) with several arguments are SQLite's scalar functions
    if isinstance(node, exp.AggFunc):
        return True
    return isinstance(node, exp.Anonymous) and str(node.name).lower() in _SQLITE_AGGREGATES


def _check(spec: MeasureSpec, columns: list[str]) -> exp.Expr:
    """The expression with its columns as ``t."column"``; ValueError says what is wrong with it."""
    try:
        tree = sqlglot.parse_one(spec.expression, read="sqlite")
    except SqlglotError as exc:
        raise ValueError(f"expression {spec.expression!r} does not parse as SQLite: {exc}") from None
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN):
            raise ValueError(
                f"expression {spec.expression!r} contains {node.sql(dialect='sqlite')!r}: only aggregates of "
                "the table's own columns are allowed (no subqueries, window functions or parameters)"
            )
    if not any(_is_aggregate(node) for node in tree.walk()):
        raise ValueError(
            f"expression {spec.expression!r} has no aggregate function: use sum, avg, min, max, count, total "
            "or group_concat, e.g. sum(x) / count(distinct y)"
        )
    by_lower = {c.lower(): c for c in columns}
    for node in tree.find_all(exp.Column):
        if node.table and node.table.lower() != spec.table.lower():
            raise ValueError(
                f"column {node.sql()!r} belongs to another table; use columns of {spec.table} only"
            )
        if node.name.lower() not in by_lower:
            raise ValueError(
                f"{node.name!r} is not a column of {spec.table}; its columns are: {', '.join(columns)}"
            )
        if not any(_is_aggregate(a) for a in _ancestors(node)):
            raise ValueError(
                f"column {node.name!r} is outside any aggregate in {spec.expression!r}: wrap it in one, "
                f"e.g. sum({node.name})"
            )

    def qualify(node: exp.Expr) -> exp.Expr:
        return column_ref(by_lower[node.name.lower()]) if isinstance(node, exp.Column) else node

    return tree.transform(qualify)


def _ancestors(node: exp.Expr) -> list[exp.Expr]:
    found: list[exp.Expr] = []
    parent = node.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def load_measures(path: Path, catalog: Catalog, conn: sqlite3.Connection) -> list[Measure]:
    """The measures of ``path``, each checked against ``catalog``; ValueError names the file, measure and fault."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"measures file not found: {path} (pass --measures PATH of an existing file)"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a readable TOML file: {exc}") from None
    try:
        spec = MeasuresFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(
            f"{path}: {problems}. Expected [measures.NAME] tables with table, expression and optional description"
        ) from None
    tables = {name.lower(): name for name in catalog.tables}
    measures: list[Measure] = []
    for key, item in spec.measures.items():
        where = f"{path}: [measures.{key}]"
        if not _NAME.match(key):
            raise ValueError(
                f"{where}: a measure name is letters, digits and underscores, starting with a letter"
            )
        if key in catalog.measures:
            raise ValueError(
                f"{where}: the name is taken by a measure derived from the schema; choose another"
            )
        table = tables.get(item.table.strip().lower())
        if table is None:
            raise ValueError(
                f"{where}: no table {item.table!r}; tables: {', '.join(catalog.tables) or '(none)'}"
            )
        try:
            expression = _check(item.model_copy(update={"table": table}), catalog.tables[table].columns)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        # As written first (the message then quotes the user's own terms), then as it will run.
        for sql in dict.fromkeys((item.expression, expression.sql(dialect="sqlite"))):
            try:
                conn.execute(f"SELECT {sql} FROM {quote_identifier(table)} AS {ROW_ALIAS} WHERE 0").fetchall()
            except sqlite3.Error as exc:
                raise ValueError(f"{where}: SQLite refuses expression {sql!r}: {exc}") from None
        measures.append(Measure(key, table, expression, qualified(expression, table), item.description))
    return measures
