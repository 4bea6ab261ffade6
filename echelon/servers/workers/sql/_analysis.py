"""sqlglot-based static analysis: structure of a statement, dialect translation and parse-error locations."""

from __future__ import annotations

import difflib
from typing import Any

import sqlglot
from mcp.server.mcpserver.exceptions import ToolError
from sqlglot import exp
from sqlglot.dialects import Dialects
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError, UnsupportedError
from sqlglot.optimizer.scope import Scope, traverse_scope

from echelon.servers.workers.sql._models import Aggregation, Filter, Join, QueryAnalysis, Translation


def dialect_names() -> list[str]:
    return sorted(d.value for d in Dialects if d.value)


def check_dialect(name: str) -> str:
    """The canonical dialect name, or a ToolError listing the valid ones (and the closest)."""
    key = name.strip().lower()
    valid = dialect_names()
    if key in valid:
        return key
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ToolError(f"unknown SQL dialect {name!r}.{hint} Valid dialects: {', '.join(valid)}")


def caret_excerpt(sql: str, line: int, end_col: int, width: int) -> str:
    """``line L, column C``, then the line with ``width`` carets ending at 1-based column ``end_col``."""
    lines = sql.splitlines() or [""]
    text = lines[min(max(line, 1), len(lines)) - 1]
    start = max(end_col - width, 0)
    return f"line {line}, column {start + 1}:\n  {text}\n  {' ' * start}{'^' * max(width, 1)}"


def locate_parse_error(sql: str, dialect: str) -> str | None:
    """Where sqlglot's parser fails on ``sql`` (description, line/column and a caret excerpt), or None."""
    try:
        sqlglot.parse(sql, read=dialect)
    except ParseError as exc:
        if not exc.errors:
            return str(exc)
        err: dict[str, Any] = exc.errors[0]
        line, col = err.get("line"), err.get("col")
        description = str(err.get("description") or "parse error")
        if not isinstance(line, int) or not isinstance(col, int):
            return description
        return f"{description} at {caret_excerpt(sql, line, col, len(str(err.get('highlight') or ' ')))}"
    except TokenError as exc:
        return f"could not tokenize ({exc}); check for an unterminated quote or comment"
    return None


def locate_token(sql: str, token: str) -> str | None:
    """Line/column and caret excerpt of the first occurrence of ``token`` (sqlite's ``near "X"``), or None."""
    index = sql.find(token)
    if index < 0 or not token:
        return None
    before = sql[:index]
    line = before.count("\n") + 1
    col = index - (before.rfind("\n") + 1)
    return caret_excerpt(sql, line, col + len(token), len(token))


def parse_one_statement(sql: str, dialect: str) -> exp.Expr:
    """Parse exactly one statement; a ToolError says where parsing failed."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except (ParseError, TokenError):
        where = locate_parse_error(sql, dialect)
        raise ToolError(f"could not parse the SQL ({dialect}): {where}") from None
    if not statements:
        raise ToolError("the SQL is empty; pass one statement")
    if len(statements) > 1:
        raise ToolError(f"one statement per call, got {len(statements)}; send them one at a time")
    return statements[0]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _conjuncts(condition: exp.Expr) -> list[str]:
    node = condition.unnest()
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node.sql()]


def _qualified_columns(tree: exp.Expr, scopes: list[Scope]) -> list[str]:
    """Columns as table.column: aliases resolved to table names, lone-source columns given their table.

    Columns outside any SELECT (UPDATE ... SET, DELETE ... WHERE) are listed as written."""
    names: list[str] = []
    for scope in scopes:
        selected = scope.selected_sources
        for column in scope.columns:
            # sqlglot also lists a subquery's unqualified columns in the outer scope (possible correlation).
            if isinstance(column.this, exp.Star) or column.find_ancestor(exp.Select) is not scope.expression:
                continue
            qualifier = column.table
            if not qualifier and len(selected) == 1:
                qualifier = next(iter(selected))
            source = scope.sources.get(qualifier) if qualifier else None
            if isinstance(source, exp.Table):
                qualifier = source.name
            names.append(f"{qualifier}.{column.name}" if qualifier else column.name)
    names.extend(c.sql() for c in tree.find_all(exp.Column) if c.find_ancestor(exp.Select) is None)
    return _unique(names)


def _join(join: exp.Join) -> Join:
    words = [w for w in (join.method, join.side, join.kind) if w]
    on, using = join.args.get("on"), join.args.get("using")
    if not words:
        words = ["INNER"] if on is not None or using else ["CROSS"]
    condition = (
        on.sql() if on is not None else (f"USING ({', '.join(u.sql() for u in using)})" if using else None)
    )
    return Join(kind=" ".join(w.upper() for w in words), table=join.this.sql(), condition=condition)


def _aggregation(node: exp.AggFunc) -> Aggregation:
    arg = node.this
    distinct = isinstance(arg, exp.Distinct)
    if isinstance(arg, exp.Distinct):
        argument = ", ".join(e.sql() for e in arg.expressions)
    else:
        argument = arg.sql() if isinstance(arg, exp.Expr) else "*"
    return Aggregation(function=node.sql_name().upper(), argument=argument, distinct=distinct, sql=node.sql())


def analyze(sql: str, dialect: str) -> QueryAnalysis:
    """The structure of one statement: tables, columns, joins, filters, aggregations, grouping, CTEs."""
    dialect = check_dialect(dialect)
    tree = parse_one_statement(sql, dialect)
    cte_names = _unique([cte.alias for cte in tree.find_all(exp.CTE)])
    ctes = {name.lower() for name in cte_names}
    tables = _unique(
        [t.sql() if t.db else t.name for t in tree.find_all(exp.Table) if t.name.lower() not in ctes]
    )
    try:
        scopes = traverse_scope(tree)  # empty for statements without a query (UPDATE, DROP, ...)
    except SqlglotError:
        scopes = []
    filters: list[Filter] = []
    for node in tree.find_all(exp.Where, exp.Having):
        clause = "WHERE" if isinstance(node, exp.Where) else "HAVING"
        filters.extend(Filter(clause=clause, condition=c) for c in _conjuncts(node.this))
    subqueries = [s.expression.sql() for s in scopes if s.is_subquery or s.is_derived_table]
    return QueryAnalysis(
        statement_type=tree.key.upper(),
        dialect=dialect,
        tables=tables,
        columns=_qualified_columns(tree, scopes),
        joins=[_join(j) for j in tree.find_all(exp.Join)],
        filters=filters,
        aggregations=list({a.sql: a for a in map(_aggregation, tree.find_all(exp.AggFunc))}.values()),
        group_by=[e.sql() for g in tree.find_all(exp.Group) for e in g.expressions],
        order_by=[e.sql() for o in tree.find_all(exp.Order) for e in o.expressions],
        cte_names=cte_names,
        subquery_count=len(subqueries),
        subqueries=subqueries,
        normalized_sql=tree.sql(dialect=dialect, pretty=True),
    )


def translate(sql: str, from_dialect: str, to_dialect: str) -> Translation:
    """Transpile with sqlglot; constructs the target cannot express are reported as warnings."""
    source, target = check_dialect(from_dialect), check_dialect(to_dialect)
    if not sql.strip():
        raise ToolError("the SQL is empty; pass one statement to translate")
    warnings: list[str] = []
    try:
        out = sqlglot.transpile(
            sql, read=source, write=target, pretty=True, unsupported_level=ErrorLevel.RAISE
        )
    except UnsupportedError as exc:
        warnings = [line for line in str(exc).splitlines() if line.strip()]
        out = sqlglot.transpile(
            sql, read=source, write=target, pretty=True, unsupported_level=ErrorLevel.IGNORE
        )
    except (ParseError, TokenError):
        raise ToolError(f"could not parse the SQL ({source}): {locate_parse_error(sql, source)}") from None
    return Translation(from_dialect=source, to_dialect=target, sql=";\n\n".join(out), warnings=warnings)
