"""Tool metadata on every server of ours, and a client's ordinary mistakes answered as JSON-RPC errors."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from echelon.examples.documents import generate_documents
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.managers.server import build_server as build_manager
from echelon.servers.workers.docs.server import build_server as build_docs
from echelon.servers.workers.math.server import build_server as build_math
from echelon.servers.workers.slides.server import build_server as build_slides
from echelon.servers.workers.sql.server import build_server as build_sql
from tests._servers import ORCHESTRATOR_TOOLS
from tests.orchestrator._hierarchy import build_hierarchy, toy_config
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio


def every_server(tmp: Path) -> dict[str, MCPServer[Any]]:
    generate_documents(tmp / "docs")
    return {
        "orchestrator": build_hierarchy(
            tmp, orchestrator=ScriptedModel([]), numbers=ScriptedModel([]), content=ScriptedModel([])
        ),
        "manager": build_manager(toy_config(), "numbers", model=ScriptedModel([])),
        "math": build_math(),
        "sql": build_sql(make_database(tmp / "shop.db")),
        "docs": build_docs(tmp / "docs", tmp / "docs.idx"),
        "slides": build_slides(tmp / "out"),
    }


async def test_every_tool_of_every_server_is_described_without_stray_indentation(tmp_path: Path) -> None:
    described: dict[str, str] = {}
    with anyio.fail_after(60):
        for name, server in every_server(tmp_path).items():
            async with Client(server) as client:
                for listed in (await client.list_tools()).tools:
                    described[f"{name}.{listed.name}"] = listed.description or ""
    assert len(described) > 25
    for where, text in described.items():
        assert text, f"{where} has no description"
        assert text == inspect.cleandoc(text), f"{where} keeps its docstring's indentation: {text!r}"
    assert "\n        " not in described["orchestrator.delegate"]


async def test_every_orchestrator_tool_says_whether_it_reads_changes_or_reaches_outside(
    tmp_path: Path,
) -> None:
    server = every_server(tmp_path)["orchestrator"]
    with anyio.fail_after(60):
        async with Client(server) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == ORCHESTRATOR_TOOLS
    for name, listed in tools.items():
        hints = listed.annotations
        assert hints is not None and hints.read_only_hint is not None, f"{name} has no readOnlyHint"
    assert tools["delegate"].annotations.open_world_hint is True  # type: ignore[union-attr]
    assert tools["cancel_run"].annotations.destructive_hint is True  # type: ignore[union-attr]
    assert all(tools[n].annotations.read_only_hint for n in ("plan", "run_status", "run_result", "list_runs"))  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_unknown_tool_prompt_or_resource_is_invalid_params_with_no_traceback_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    server = every_server(tmp_path)["orchestrator"]
    caplog.set_level(logging.INFO)
    errors: dict[str, tuple[int, str]] = {}
    with anyio.fail_after(60):
        async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
            mistakes = {
                "tool": client.call_tool("no_such_tool", {}),
                "prompt": client.get_prompt("no_such_prompt"),
                "resource": client.read_resource("echelon://nothing/here"),
                "run": client.read_resource("echelon://runs/no-such-run"),
            }
            for what, call in mistakes.items():
                with pytest.raises(MCPError) as refused:
                    await call
                errors[what] = (refused.value.error.code, refused.value.error.message)
    assert {code for code, _ in errors.values()} == {-32602}
    assert "'no_such_tool'" in errors["tool"][1] and "delegate" in errors["tool"][1]
    assert "no_such_prompt" in errors["prompt"][1]
    assert "no-such-run" in errors["run"][1]
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [r.getMessage() for r in noisy]
