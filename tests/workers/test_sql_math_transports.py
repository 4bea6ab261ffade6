"""The SQL and math workers as real processes: over stdio and over Streamable HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests._servers import REPO, http_server, stdio_params
from tests.workers._shop_db import make_database
from tests.workers.test_math import MATH_TOOLS
from tests.workers.test_sql import SQL_TOOLS

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_sql_worker_over_stdio(tmp_path: Path) -> None:
    database = make_database(tmp_path / "shop.db")
    params = stdio_params(
        ["-m", "echelon.servers.workers.sql", "--database", str(database), "--row-limit", "3"]
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            assert {t.name for t in (await client.list_tools()).tools} == SQL_TOOLS
            result = await client.call_tool("run_query", {"sql": "SELECT id FROM orders ORDER BY id"})
            assert not result.is_error
            assert result.structured_content is not None
            assert result.structured_content["rows"] == [[1], [2], [3]]
            assert result.structured_content["truncated"] is True
            refused = await client.call_tool("run_query", {"sql": "DELETE FROM orders"})
            assert refused.is_error


async def test_math_worker_over_stdio() -> None:
    with anyio.fail_after(60):
        async with Client(stdio_params(["-m", "echelon.servers.workers.math"])) as client:
            assert {t.name for t in (await client.list_tools()).tools} == MATH_TOOLS
            result = await client.call_tool("solve", {"equations": "x^2 = 9"})
            assert result.structured_content is not None
            assert [s["values"]["x"] for s in result.structured_content["solutions"]] == ["-3", "3"]


async def test_sql_worker_over_streamable_http(tmp_path: Path) -> None:
    database = make_database(tmp_path / "shop.db")
    async with http_server(["-m", "echelon.servers.workers.sql", "--database", str(database)]) as url:
        with anyio.fail_after(60):
            async with Client(url) as client:
                assert {t.name for t in (await client.list_tools()).tools} == SQL_TOOLS
                result = await client.call_tool("list_tables", {})
                assert result.structured_content is not None
                counts = {t["name"]: t["row_count"] for t in result.structured_content["tables"]}
                assert counts == {"big_orders": 10, "customers": 3, "orders": 12}


async def test_math_worker_over_streamable_http() -> None:
    async with http_server(["-m", "echelon.servers.workers.math"]) as url:
        with anyio.fail_after(60):
            async with Client(url) as client:
                assert {t.name for t in (await client.list_tools()).tools} == MATH_TOOLS
                result = await client.call_tool("evaluate", {"expression": "sqrt(2)^2 + 0.5"})
                assert result.structured_content is not None
                assert result.structured_content["exact"] == "5/2"
                refused = await client.call_tool("evaluate", {"expression": "__import__('os')"})
                assert refused.is_error


async def test_sql_worker_process_fails_fast_on_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-m", "echelon.servers.workers.sql", "--database", str(missing)],
            cwd=REPO,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 2
    assert str(missing) in done.stderr.decode()
    assert not missing.exists()


async def test_http_server_helper_reports_a_server_that_dies_at_startup(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited with code 2") as failed:
        async with http_server(
            ["-m", "echelon.servers.workers.sql", "--database", str(tmp_path / "none.db")]
        ):
            pytest.fail("the server should not have started")
    assert "none.db" in str(failed.value)
