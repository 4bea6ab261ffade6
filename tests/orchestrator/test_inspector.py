"""The MCP Inspector CLI, a third-party client, lists and calls the orchestrator's tools over stdio and HTTP."""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._inspector import inspect_server, require_inspector
from tests._servers import ORCHESTRATOR_TOOLS, REPO, http_server
from tests.orchestrator.test_durability import hierarchy, script

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
ADD = script(("Add", "add", {"a": 2, "b": 3}))


def orchestrator_env(tmp: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k.startswith("ECHELON_")},  # the test's run database
        "ECHELON_CONFIG": str(hierarchy(tmp)),  # not --config: the Inspector takes that flag as its own
        "ECHELON_MODEL": "python:tests._e2e_model:build_script_runner",
        "PYTHONPATH": str(REPO),  # the test model lives in tests/
    }


def check_listing(listed: dict[str, Any]) -> None:
    tools = {tool["name"]: tool for tool in listed["tools"]}
    assert set(tools) == ORCHESTRATOR_TOOLS
    for name, tool in tools.items():
        assert tool["description"] == inspect.cleandoc(tool["description"]), name
        assert "readOnlyHint" in tool["annotations"], name
    assert "request" in tools["delegate"]["inputSchema"]["required"]


def check_delegation(called: dict[str, Any]) -> None:
    assert called.get("isError") is not True, called
    result = called["structuredContent"]
    assert result["status"] == "ok", result
    assert result["phases"][0]["steps"][0]["calls"][0]["result"] == {"value": 5.0}
    assert json.loads(called["content"][0]["text"])["run_id"] == result["run_id"]


async def test_the_inspector_lists_and_calls_the_orchestrators_tools_over_stdio(tmp_path: Path) -> None:
    require_inspector()
    env = orchestrator_env(tmp_path)
    server = [sys.executable, "-m", "echelon.servers.orchestrator"]
    check_listing(await inspect_server(server, "--method", "tools/list", env=env))
    called = await inspect_server(
        server,
        "--method",
        "tools/call",
        "--tool-name",
        "delegate",
        "--tool-args-json",
        json.dumps({"request": ADD}),
        env=env,
    )
    check_delegation(called)


@pytest.mark.parametrize("era", ["legacy", "modern"])
async def test_the_inspector_lists_and_calls_the_orchestrators_tools_over_http(
    tmp_path: Path, era: str
) -> None:
    require_inspector()
    async with http_server(["-m", "echelon.servers.orchestrator"], env=orchestrator_env(tmp_path)) as url:
        check_listing(await inspect_server([url], "--method", "tools/list", era=era))
        called = await inspect_server(
            [url],
            "--method",
            "tools/call",
            "--tool-name",
            "delegate",
            "--tool-args-json",
            json.dumps({"request": ADD}),
            era=era,
        )
    check_delegation(called)
