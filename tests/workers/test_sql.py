"""The SQL worker in-process: every tool, and every way a caller can get it wrong."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from echelon.servers.workers.sql import build_server
from echelon.servers.workers.sql.server import main
from tests.workers._calls import call, call_error
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio
SQL_TOOLS = {
    "list_tables",
    "describe_table",
    "run_query",
    "aggregate",
    "find_values",
    "compare_periods",
    "analyze_query",
    "translate_query",
}

INFINITE_CTE = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return make_database(tmp_path / "shop.db")


@pytest.fixture
def server(database: Path) -> MCPServer:
    return build_server(database, row_limit=5, timeout_seconds=1.0)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# --- startup ---------------------------------------------------------------------------------------------------


def test_build_server_names_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        build_server(missing)
    assert not missing.exists()


def test_build_server_rejects_bad_limits(database: Path) -> None:
    with pytest.raises(ValueError, match="row_limit"):
        build_server(database, row_limit=0)
    with pytest.raises(ValueError, match="timeout_seconds"):
        build_server(database, timeout_seconds=0)


def test_main_exits_with_the_missing_path_in_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.sqlite"
    with pytest.raises(SystemExit) as exit_info:
        main(["--database", str(missing)])
    assert exit_info.value.code == 2
    assert str(missing) in capsys.readouterr().err


async def test_every_tool_has_a_description_and_described_arguments(server: MCPServer) -> None:
    async with Client(server) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == SQL_TOOLS
    for tool in tools.values():
        assert tool.description, tool.name
        assert tool.output_schema is not None, tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name}"


# --- schema ----------------------------------------------------------------------------------------------------


async def test_list_tables_gives_tables_and_views_with_row_counts(server: MCPServer) -> None:
    out = await call(server, "list_tables")
    assert out["database"] == "shop.db"
    assert out["tables"] == [
        {"name": "big_orders", "kind": "view", "row_count": 10},
        {"name": "customers", "kind": "table", "row_count": 3},
        {"name": "orders", "kind": "table", "row_count": 12},
    ]


async def test_describe_table_gives_columns_keys_indexes_and_samples(server: MCPServer) -> None:
    out = await call(server, "describe_table", table="ORDERS")
    assert out["name"] == "orders" and out["kind"] == "table" and out["row_count"] == 12
    columns = {c["name"]: c for c in out["columns"]}
    assert list(columns) == ["id", "customer_id", "total", "created"]
    assert columns["id"] == {
        "name": "id",
        "type": "INTEGER",
        "nullable": False,
        "primary_key": True,
        "default": None,
    }
    assert columns["customer_id"]["nullable"] is False
    assert columns["total"]["nullable"] is True and columns["total"]["type"] == "REAL"
    assert out["foreign_keys"] == [
        {
            "columns": ["customer_id"],
            "references_table": "customers",
            "references_columns": ["id"],
            "on_update": "NO ACTION",
            "on_delete": "CASCADE",
        }
    ]
    assert out["indexes"] == [
        {
            "name": "idx_orders_customer",
            "columns": ["customer_id", "created"],
            "unique": False,
            "origin": "create_index",
        }
    ]
    assert out["sample_rows"] == [
        [1, 1, 40.0, "2024-01-01"],
        [2, 2, 80.0, "2024-02-01"],
        [3, 3, 120.0, "2024-03-01"],
    ]
    assert out["sql"].startswith("CREATE TABLE orders")


async def test_describe_table_shows_defaults_unique_indexes_and_blobs(server: MCPServer) -> None:
    out = await call(server, "describe_table", table="customers")
    columns = {c["name"]: c for c in out["columns"]}
    assert columns["region"]["default"] == "'north'"
    assert columns["name"]["nullable"] is False
    assert {
        "name": "idx_customers_name",
        "columns": ["name"],
        "unique": True,
        "origin": "create_index",
    } in out["indexes"]
    assert out["sample_rows"][0] == [1, "Ada", "north", "<blob 2 bytes: 0102>"]


async def test_describe_table_describes_views(server: MCPServer) -> None:
    out = await call(server, "describe_table", table="big_orders")
    assert out["kind"] == "view" and out["row_count"] == 10
    assert [c["name"] for c in out["columns"]] == ["id", "customer_id", "total", "created"]


async def test_describe_table_unknown_table_lists_tables_and_a_close_match(server: MCPServer) -> None:
    message = await call_error(server, "describe_table", table="order")
    assert "no such table: order" in message
    assert "Did you mean 'orders'?" in message
    assert "big_orders, customers, orders" in message


# --- run_query -------------------------------------------------------------------------------------------------


async def test_run_query_returns_columns_rows_and_timing(server: MCPServer) -> None:
    out = await call(
        server,
        "run_query",
        sql="SELECT c.name, count(*) AS n, sum(o.total) AS total FROM customers c "
        "JOIN orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY c.name",
    )
    assert out["columns"] == ["name", "n", "total"]
    assert out["rows"] == [["Ada", 4, 880.0], ["Bob", 4, 1040.0], ["Cy", 4, 1200.0]]
    assert out["row_count"] == 3 and out["truncated"] is False and out["limit"] == 5
    assert out["elapsed_ms"] >= 0


async def test_run_query_truncates_at_the_row_limit(server: MCPServer) -> None:
    out = await call(server, "run_query", sql="SELECT id FROM orders ORDER BY id")
    assert out["rows"] == [[1], [2], [3], [4], [5]]
    assert out["truncated"] is True and out["row_count"] == 5


async def test_run_query_limit_argument_lowers_but_never_raises_the_cap(server: MCPServer) -> None:
    lowered = await call(server, "run_query", sql="SELECT id FROM orders", limit=2)
    assert lowered["row_count"] == 2 and lowered["truncated"] is True and lowered["limit"] == 2
    capped = await call(server, "run_query", sql="SELECT id FROM orders", limit=1000)
    assert capped["row_count"] == 5 and capped["limit"] == 5
    exact = await call(server, "run_query", sql="SELECT id FROM customers", limit=3)
    assert exact["row_count"] == 3 and exact["truncated"] is False


async def test_run_query_makes_values_json_safe(server: MCPServer) -> None:
    out = await call(
        server, "run_query", sql="SELECT x'00ff', 1e999, -1e999, NULL, 2.5, 'text', 9007199254740993"
    )
    assert out["rows"] == [
        ["<blob 2 bytes: 00ff>", "Infinity", "-Infinity", None, 2.5, "text", 9007199254740993]
    ]


async def test_run_query_cuts_long_text_and_refuses_huge_values(server: MCPServer) -> None:
    out = await call(server, "run_query", sql="SELECT printf('%.*c', 25000, 'x')")
    cell = out["rows"][0][0]
    assert cell.startswith("x" * 10_000 + "…") and cell.endswith("[25000 characters, truncated]")
    message = await call_error(server, "run_query", sql="SELECT length(randomblob(200000000))")
    assert "10,000,000 bytes" in message and "too big" in message


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (name) VALUES ('Eve')",
        "UPDATE orders SET total = 0",
        "DELETE FROM orders",
        "CREATE TABLE t (a)",
        "CREATE TEMP TABLE t (a)",
        "DROP TABLE orders",
        "ALTER TABLE orders ADD COLUMN x",
        "ATTACH DATABASE 'other.db' AS other",
        "VACUUM",
    ],
)
async def test_run_query_refuses_writes_at_engine_level(database: Path, server: MCPServer, sql: str) -> None:
    before = fingerprint(database)
    message = await call_error(server, "run_query", sql=sql)
    assert "the database is read-only" in message
    assert "(sqlite: " in message  # the refusal comes from the engine, quoted
    assert fingerprint(database) == before
    assert sorted(p.name for p in database.parent.iterdir()) == ["shop.db"]
    still = await call(server, "run_query", sql="SELECT count(*) FROM orders")
    assert still["rows"] == [[12]]


async def test_run_query_refuses_writes_hidden_in_a_cte_or_disguised(
    database: Path, server: MCPServer
) -> None:
    before = fingerprint(database)
    for sql in (
        "WITH x AS (SELECT 1) DELETE FROM orders",
        "/* select */ insert into customers(name) values ('Mallory')",
        "REPLACE INTO customers (id, name) VALUES (1, 'Zed')",
        f"VACUUM INTO '{database.parent / 'copy.db'}'",
    ):
        assert "read-only" in await call_error(server, "run_query", sql=sql)
    assert fingerprint(database) == before
    assert not (database.parent / "copy.db").exists()


async def test_run_query_unknown_table_lists_the_tables(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT * FROM custmers")
    assert "no such table: custmers" in message
    assert "Did you mean 'customers'?" in message
    assert "big_orders, customers, orders" in message


async def test_run_query_unknown_column_lists_the_tables_columns(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT nme FROM customers")
    assert "no such column: nme" in message
    assert "Did you mean 'name'?" in message
    assert "customers(id, name, region, photo)" in message
    assert "orders(" not in message  # only the tables the query names


async def test_run_query_syntax_error_says_where(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT id,\n  name FORM customers")
    assert 'near "customers": syntax error' in message
    assert "line 2, column 13" in message
    assert "  name FORM customers\n" in message
    lines = message.splitlines()
    caret_line = lines[lines.index("    name FORM customers") + 1]
    assert caret_line.index("^") == lines[lines.index("    name FORM customers")].index("customers")
    assert caret_line.strip() == "^" * len("customers")


async def test_run_query_incomplete_statement_says_where(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT * FROM customers WHERE")
    assert "incomplete input" in message and "line 1, column 25" in message


async def test_run_query_syntax_error_located_when_sqlglot_accepts_it(server: MCPServer) -> None:
    # sqlglot parses DISTINCT ON; sqlite does not, so the position comes from sqlite's near "..." token.
    message = await call_error(server, "run_query", sql="SELECT DISTINCT ON (id) id FROM customers")
    assert 'near "ON": syntax error' in message
    assert "line 1, column 17" in message and "\n                  ^^\n" in message + "\n"


async def test_run_query_takes_one_statement_per_call(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT 1; SELECT 2")
    assert "one statement per call" in message
    out = await call(server, "run_query", sql="SELECT 1;  -- trailing comment")
    assert out["rows"] == [[1]]


async def test_run_query_rejects_empty_sql(server: MCPServer) -> None:
    assert "empty" in await call_error(server, "run_query", sql="   ")


async def test_run_query_stops_a_query_that_runs_forever(database: Path) -> None:
    server = build_server(database, timeout_seconds=0.3)
    message = await call_error(server, "run_query", sql=INFINITE_CTE)
    assert "exceeded 0.3 seconds" in message
    # the connection is per call: the next query runs normally
    assert (await call(server, "run_query", sql="SELECT count(*) FROM customers"))["rows"] == [[3]]


async def test_row_counts_give_up_at_the_time_limit(tmp_path: Path) -> None:
    path = make_database(tmp_path / "slow.db")
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE VIEW forever AS {INFINITE_CTE}")
    conn.commit()
    conn.close()
    server = build_server(path, timeout_seconds=0.3)
    tables = {t["name"]: t["row_count"] for t in (await call(server, "list_tables"))["tables"]}
    assert tables["forever"] is None
    described = await call(server, "describe_table", table="forever")
    assert described["row_count"] is None and described["sample_rows"] == []


async def test_a_broken_view_does_not_break_the_listing(tmp_path: Path) -> None:
    path = make_database(tmp_path / "broken.db")
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE gone (a); CREATE VIEW orphan AS SELECT a FROM gone; DROP TABLE gone;")
    conn.close()
    server = build_server(path)
    tables = {t["name"]: t["row_count"] for t in (await call(server, "list_tables"))["tables"]}
    assert tables == {"big_orders": 10, "customers": 3, "orphan": None, "orders": 12}
    message = await call_error(server, "describe_table", table="orphan")
    assert "could not read the database" in message and "no such table: main.gone" in message


async def test_a_database_removed_after_startup_gives_a_clear_error(
    database: Path, server: MCPServer
) -> None:
    await anyio.Path(database).unlink()
    message = await call_error(server, "list_tables")
    assert f"could not read the database {database}" in message
    assert "unable to open database file" in message


# --- analyze_query ---------------------------------------------------------------------------------------------

ANALYZED = """
WITH recent AS (SELECT * FROM orders o WHERE o.created > '2024-06')
SELECT c.name, SUM(r.total) AS spent, COUNT(DISTINCT r.id)
FROM customers c
LEFT JOIN recent r ON r.customer_id = c.id
JOIN regions USING (region)
WHERE c.region = 'north' AND c.id IN (SELECT customer_id FROM vip)
GROUP BY c.name
HAVING SUM(r.total) > 100
ORDER BY spent DESC, c.name
"""


async def test_analyze_query_reports_the_structure(server: MCPServer) -> None:
    out = await call(server, "analyze_query", sql=ANALYZED)
    assert out["statement_type"] == "SELECT" and out["dialect"] == "sqlite"
    assert sorted(out["tables"]) == ["customers", "orders", "regions", "vip"]
    assert out["cte_names"] == ["recent"]
    assert {"customers.name", "customers.id", "customers.region", "orders.created", "vip.customer_id"} <= set(
        out["columns"]
    )
    assert "r.total" in out["columns"]  # a CTE column keeps the CTE's alias
    assert out["joins"] == [
        {"kind": "LEFT", "table": "recent AS r", "condition": "r.customer_id = c.id"},
        {"kind": "INNER", "table": "regions", "condition": "USING (region)"},
    ]
    assert {"clause": "WHERE", "condition": "c.region = 'north'"} in out["filters"]
    assert {"clause": "WHERE", "condition": "c.id IN (SELECT customer_id FROM vip)"} in out["filters"]
    assert {"clause": "HAVING", "condition": "SUM(r.total) > 100"} in out["filters"]
    assert {"clause": "WHERE", "condition": "o.created > '2024-06'"} in out["filters"]
    aggregations = [(a["function"], a["argument"], a["distinct"]) for a in out["aggregations"]]
    assert sorted(aggregations) == [
        ("COUNT", "r.id", True),
        ("SUM", "r.total", False),
    ]  # SUM twice, listed once
    assert out["group_by"] == ["c.name"]
    assert out["order_by"] == ["spent DESC", "c.name"]
    assert out["subquery_count"] == 1 and out["subqueries"] == ["SELECT customer_id FROM vip"]
    assert "LEFT JOIN recent AS r" in out["normalized_sql"]


async def test_analyze_query_handles_other_statements_and_dialects(server: MCPServer) -> None:
    update = await call(server, "analyze_query", sql="UPDATE orders SET total = 0 WHERE id = 3")
    assert update["statement_type"] == "UPDATE" and update["tables"] == ["orders"]
    assert update["filters"] == [{"clause": "WHERE", "condition": "id = 3"}]
    assert update["columns"] == ["total", "id"]
    delete = await call(server, "analyze_query", sql="DELETE FROM t WHERE a IN (SELECT b FROM u)")
    assert delete["statement_type"] == "DELETE" and delete["subquery_count"] == 1
    assert sorted(delete["columns"]) == ["a", "u.b"]
    count = await call(server, "analyze_query", sql="SELECT COUNT(*) FROM t CROSS JOIN u", dialect="postgres")
    assert count["aggregations"][0]["argument"] == "*"
    assert count["joins"] == [{"kind": "CROSS", "table": "u", "condition": None}]
    derived = await call(server, "analyze_query", sql="SELECT d.x FROM (SELECT a AS x FROM t) AS d")
    assert derived["subquery_count"] == 1 and derived["tables"] == ["t"]


async def test_analyze_query_parse_error_gives_line_and_column(server: MCPServer) -> None:
    message = await call_error(server, "analyze_query", sql="SELECT a\nFROM t WHERE")
    assert "line 2, column 8" in message
    assert "FROM t WHERE" in message and "^^^^^" in message


async def test_analyze_query_unknown_dialect_lists_dialects(server: MCPServer) -> None:
    message = await call_error(server, "analyze_query", sql="SELECT 1", dialect="sqlight")
    assert "unknown SQL dialect 'sqlight'" in message and "Did you mean 'sqlite'?" in message


async def test_analyze_query_takes_one_statement(server: MCPServer) -> None:
    assert "one statement per call" in await call_error(server, "analyze_query", sql="SELECT 1; SELECT 2")


# --- translate_query -------------------------------------------------------------------------------------------


async def test_translate_query_transpiles_between_dialects(server: MCPServer) -> None:
    out = await call(
        server,
        "translate_query",
        sql="SELECT IFNULL(total, 0) AS t FROM orders LIMIT 5",
        from_dialect="sqlite",
        to_dialect="tsql",
    )
    assert out["from_dialect"] == "sqlite" and out["to_dialect"] == "tsql"
    assert "TOP 5" in out["sql"] and "LIMIT" not in out["sql"]
    assert "ISNULL(total, 0)" in out["sql"] or "COALESCE(total, 0)" in out["sql"]
    assert "\n" in out["sql"]  # pretty-printed
    assert out["warnings"] == []


async def test_translate_query_reports_unsupported_constructs(server: MCPServer) -> None:
    out = await call(
        server,
        "translate_query",
        sql="SELECT * FROM t PIVOT(SUM(v) FOR k IN (1, 2))",
        from_dialect="snowflake",
        to_dialect="sqlite",
    )
    assert out["warnings"] == ["PIVOT unsupported"]
    assert out["sql"].startswith("SELECT")


async def test_translate_query_unknown_dialect_lists_valid_ones(server: MCPServer) -> None:
    message = await call_error(
        server, "translate_query", sql="SELECT 1", from_dialect="sqlite", to_dialect="postgresql"
    )
    assert "unknown SQL dialect 'postgresql'" in message
    assert "Did you mean 'postgres'?" in message
    assert "duckdb" in message and "snowflake" in message and "tsql" in message


async def test_translate_query_parse_error_says_where(server: MCPServer) -> None:
    message = await call_error(
        server, "translate_query", sql="SELECT (1", from_dialect="sqlite", to_dialect="mysql"
    )
    assert "line 1" in message and "column" in message


async def test_run_query_says_what_sqlite_offers_for_another_dialects_function(server: MCPServer) -> None:
    message = await call_error(server, "run_query", sql="SELECT YEAR(created) FROM orders")
    assert (
        "no such function: YEAR (this database is SQLite); use strftime('%Y', col) or substr(col, 1, 4)"
        in message
    )


async def test_run_query_description_lists_the_tables_and_their_columns(server: MCPServer) -> None:
    from mcp import Client

    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    description = tools["run_query"].description or ""
    assert "The database's tables and views (columns):" in description
    assert "orders(id, customer_id, total, created)" in description
    assert "big_orders (view)(" in description
