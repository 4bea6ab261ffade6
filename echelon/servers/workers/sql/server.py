"""SQL worker: read-only queries, schema inspection, and sqlglot analysis/translation over one SQLite file."""

# No `from __future__ import annotations` here: tool signatures are read at registration, and one closes
# over build_server arguments.
import argparse
import sqlite3
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from echelon import __version__
from echelon.servers.core.serve import serve_main
from echelon.servers.core.tooling import DATA_FIELDS, answer_client_errors, tool, written_for_models
from echelon.servers.workers.sql import _analysis, _errors
from echelon.servers.workers.sql._aggregate_tools import add_aggregate_tools
from echelon.servers.workers.sql._catalog import Catalog, Measure, build_catalog
from echelon.servers.workers.sql._db import (
    Deadline,
    QueryTimeout,
    ReadOnlyDatabase,
    SchemaObject,
    quote_identifier,
)
from echelon.servers.workers.sql._measures import load_measures
from echelon.servers.workers.sql._models import (
    ColumnInfo,
    ForeignKey,
    IndexInfo,
    QueryAnalysis,
    QueryResult,
    TableDescription,
    TableList,
    TableSummary,
    Translation,
)
from echelon.servers.workers.sql._text import query_text

SAMPLE_ROWS = 3
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
_ORIGINS: dict[str, Literal["create_index", "unique_constraint", "primary_key"]] = {
    "c": "create_index",
    "u": "unique_constraint",
    "pk": "primary_key",
}

INSTRUCTIONS = (
    "Read-only access to one SQLite database. For totals, counts, averages, rankings, time series and changes "
    "between periods call aggregate: it needs no SQL and its measures and group_by names come from the schema. "
    "compare_periods is the older way to compare two periods. Otherwise run_query runs one SELECT (its "
    "description lists the tables and columns); rows are limited and queries are time-limited. This is SQLite: "
    "there is no YEAR() or MONTH(); dates are ISO text, so take the year with substr(date_column, 1, 4). "
    "analyze_query and translate_query only inspect or convert SQL text; they never run it."
)


def build_server(
    database: Path | str,
    *,
    row_limit: int = 500,
    timeout_seconds: float = 5.0,
    measures: Path | str | None = None,
) -> MCPServer:
    """The SQL worker for ``database``. The schema is read once here for the aggregate tool's measures and
    dimensions (and the business measures of the ``measures`` TOML file are checked against it); every call
    opens the file again."""
    path = Path(database).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"SQLite database not found: {path} (pass --database PATH of an existing file)"
        )
    if row_limit < 1:
        raise ValueError(f"row_limit must be at least 1, got {row_limit}")
    if not timeout_seconds > 0:
        raise ValueError(f"timeout_seconds must be positive, got {timeout_seconds}")
    db = ReadOnlyDatabase(path.resolve(), timeout_seconds)
    server = MCPServer("echelon-sql", instructions=INSTRUCTIONS, version=__version__)
    schema = _schema_summary(db)
    catalog, business = _catalog(db, Path(measures).expanduser() if measures is not None else None)

    @contextmanager
    def session() -> Generator[sqlite3.Connection, None, None]:
        """A connection for one call; a failure to open or read the file becomes a ToolError naming it."""
        try:
            with db.connect() as conn:
                yield conn
        except sqlite3.Error as exc:
            raise ToolError(f"could not read the database {path}: {exc}") from None

    def find_object(conn: sqlite3.Connection, table: str) -> SchemaObject:
        objects = db.objects(conn)
        for obj in objects:
            if obj.name.lower() == table.strip().lower():
                return obj
        raise ToolError(_errors.unknown_table(db, conn, table))

    @tool(server, annotations=_READ_ONLY)
    def list_tables() -> TableList:
        """List the tables and views of the database with their row counts."""
        deadline = Deadline(timeout_seconds)
        with session() as conn:
            tables = [
                TableSummary(
                    name=o.name,
                    kind="view" if o.kind == "view" else "table",
                    row_count=db.count_rows(conn, o.name, deadline),
                )
                for o in db.objects(conn)
            ]
        return TableList(database=path.name, tables=tables)

    @tool(server, annotations=_READ_ONLY)
    def describe_table(
        table: Annotated[
            str, Field(description="Table or view name (case-insensitive), as listed by list_tables")
        ],
    ) -> TableDescription:
        """Describe one table or view: columns (type, nullability, primary key, default), foreign keys,
        indexes, row count and a few sample rows."""
        deadline = Deadline(timeout_seconds)
        with session() as conn:
            obj = find_object(conn, table)
            columns = [
                ColumnInfo(
                    name=r[1],
                    type=r[2] or "",
                    nullable=not r[3] and not r[5],
                    primary_key=bool(r[5]),
                    default=r[4],
                )
                for r in db.columns_of(conn, obj.name)
            ]
            keys: dict[int, ForeignKey] = {}
            for fk_id, _seq, ref_table, src, dst, on_update, on_delete, _match in db.foreign_keys_of(
                conn, obj.name
            ):
                key = keys.setdefault(
                    fk_id,
                    ForeignKey(
                        columns=[],
                        references_table=ref_table,
                        references_columns=[],
                        on_update=on_update,
                        on_delete=on_delete,
                    ),
                )
                key.columns.append(src)
                key.references_columns.append(dst if dst is not None else "<primary key>")
            indexes = [
                IndexInfo(name=name, columns=cols, unique=unique, origin=_ORIGINS.get(origin, "create_index"))
                for name, cols, unique, origin in db.indexes_of(conn, obj.name)
            ]
            row_count = db.count_rows(conn, obj.name, deadline)
            try:
                sample = db.fetch(
                    conn, f"SELECT * FROM {quote_identifier(obj.name)}", (), SAMPLE_ROWS, deadline
                ).rows
            except QueryTimeout:
                sample = []
        return TableDescription(
            name=obj.name,
            kind="view" if obj.kind == "view" else "table",
            columns=columns,
            foreign_keys=list(keys.values()),
            indexes=indexes,
            row_count=row_count,
            sample_rows=sample,
            sql=obj.sql,
        )

    @tool(
        server,
        annotations=_READ_ONLY,
        meta={DATA_FIELDS: ["rows"]},
        description="Run one read-only SQL statement and return its rows. The database refuses writes; rows are "
        "capped (the truncated flag says when there were more) and a query running past the time limit is stopped."
        + (f" The database's tables and views (columns): {schema}" if schema else ""),
    )
    def run_query(
        sql: Annotated[str, Field(description="One SQLite statement, normally a SELECT or WITH ... SELECT")],
        limit: Annotated[
            int | None,
            Field(
                ge=0,
                description=f"Maximum rows to return; 0 or omitted: the default, {row_limit} (also the maximum)",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, QueryResult]:
        if not sql.strip():
            raise ToolError("the SQL is empty; pass one statement, e.g. SELECT * FROM some_table")
        max_rows = min(limit or row_limit, row_limit)
        started = time.perf_counter()
        with session() as conn:
            try:
                fetched = db.fetch(conn, sql, (), max_rows, Deadline(timeout_seconds))
            except QueryTimeout:
                raise ToolError(
                    f"the query exceeded {timeout_seconds:g} seconds and was stopped; add a LIMIT or a WHERE "
                    "clause, or check a recursive CTE for a missing termination condition"
                ) from None
            except sqlite3.Error as exc:
                raise ToolError(_errors.explain(exc, sql, db, conn)) from None
        elapsed = (time.perf_counter() - started) * 1000
        result = QueryResult(
            columns=fetched.columns,
            rows=fetched.rows,
            row_count=len(fetched.rows),
            truncated=fetched.truncated,
            limit=max_rows,
            elapsed_ms=round(elapsed, 3),
        )
        return written_for_models(result, query_text(result))

    add_aggregate_tools(server, db, catalog, business, session, find_object, row_limit=row_limit)

    @tool(server, annotations=_READ_ONLY)
    def analyze_query(
        sql: Annotated[str, Field(description="One SQL statement to analyze (it is parsed, not run)")],
        dialect: Annotated[str, Field(description="sqlglot dialect the SQL is written in")] = "sqlite",
    ) -> QueryAnalysis:
        """Explain a SQL statement without running it (what a given query computes or measures): its statement
        type, tables, columns, joins, WHERE/HAVING conditions, aggregations, GROUP BY, ORDER BY, CTEs and
        subqueries."""
        return _analysis.analyze(sql, dialect)

    @tool(server, annotations=_READ_ONLY)
    def translate_query(
        sql: Annotated[str, Field(description="SQL to translate")],
        from_dialect: Annotated[str, Field(description="Dialect of the input, e.g. sqlite, postgres, mysql")],
        to_dialect: Annotated[str, Field(description="Dialect to produce, e.g. duckdb, snowflake, tsql")],
    ) -> Translation:
        """Translate SQL from one dialect to another with sqlglot (pretty-printed); constructs the target
        dialect cannot express are listed as warnings."""
        return _analysis.translate(sql, from_dialect, to_dialect)

    return answer_client_errors(server)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", required=True, type=Path, help="SQLite file to serve (opened read-only)"
    )
    parser.add_argument("--row-limit", type=int, default=500, help="default and maximum rows per query")
    parser.add_argument("--timeout-seconds", type=float, default=5.0, help="time limit per query")
    parser.add_argument(
        "--measures", type=Path, default=None, help="TOML file of business measures for the aggregate tool"
    )


def _build(args: argparse.Namespace) -> MCPServer:
    return build_server(
        args.database, row_limit=args.row_limit, timeout_seconds=args.timeout_seconds, measures=args.measures
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m echelon.servers.workers.sql --database PATH``."""
    serve_main(__doc__ or "SQL worker", _build, _add_args, argv)


def _schema_summary(db: ReadOnlyDatabase, limit: int = 3000) -> str:
    """Tables and views with their columns in one line, so a model writes valid SQL without a look-up first.

    Read once when the server is built; ``describe_table`` stays the authority if the file changes later.
    """
    try:
        with db.connect() as conn:
            parts = [
                f"{o.name}{' (view)' if o.kind == 'view' else ''}({', '.join(db.column_names(conn, o.name))})"
                for o in db.objects(conn)
            ]
    except sqlite3.Error:
        return ""
    text = "; ".join(parts)
    return text if len(text) <= limit else text[:limit] + " ..."


def _catalog(db: ReadOnlyDatabase, measures: Path | None) -> tuple[Catalog, list[Measure]]:
    """Measures and dimensions of the database as it is at start-up, with the business measures of ``measures``
    (also returned alone, for the tool description).

    An unreadable database gives an empty catalog (calls then report the problem), unless measures were asked for.
    """
    try:
        with db.connect() as conn:
            catalog = build_catalog(db, conn)
            business = load_measures(measures, catalog, conn) if measures is not None else []
    except sqlite3.Error as exc:
        if measures is not None:
            raise ValueError(f"cannot read {db.path} to check the measures of {measures}: {exc}") from None
        return Catalog(), []
    # The business's own measures come first: the names it gave are what its questions say ("units sold",
    # "average order value"), and a caller reading the list from the top meets them before the derived ones.
    catalog.measures = {**{m.name: m for m in business}, **catalog.measures}
    return catalog, business
