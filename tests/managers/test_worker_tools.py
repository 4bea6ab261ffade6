"""A worker's ``tools`` allow-list: managers see only those tools, and a list naming a missing tool says so."""

from __future__ import annotations

import pytest
from mcp import Client

from echelon.servers.core.config import parse_config
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.managers.server import build_server
from tests._toy_servers import build_calc_server

pytestmark = pytest.mark.anyio


async def list_workers(tools: list[str] | None) -> dict[str, object]:
    calc: dict[str, object] = {"command": "calc-server"}
    if tools is not None:
        calc["tools"] = tools
    config = parse_config(
        {
            "managers": {"numbers": {"description": "Arithmetic", "workers": ["calc"]}},
            "workers": {"calc": calc},
        },
        file="toy.toml",
    )
    server = build_server(
        config,
        "numbers",
        model=ScriptedModel([]),
        worker_targets={"calc": Target.in_process(build_calc_server())},
    )
    async with Client(server) as client:
        answer = await client.call_tool("list_workers", {})
    assert answer.structured_content is not None
    (worker,) = answer.structured_content["workers"]
    return worker


async def test_managers_see_every_tool_of_a_worker_without_an_allow_list() -> None:
    worker = await list_workers(None)
    assert {t["name"] for t in worker["tools"]} >= {"add", "divide", "evaluate", "pid", "env", "crash"}  # type: ignore[index]


async def test_managers_see_only_the_tools_a_worker_allow_list_names() -> None:
    worker = await list_workers(["add", "divide"])
    assert [t["name"] for t in worker["tools"]] == ["add", "divide"]  # type: ignore[index]
    assert worker["error"] is None


async def test_an_allow_list_naming_a_missing_tool_marks_the_worker_unavailable_with_the_reason() -> None:
    worker = await list_workers(["add", "multiply"])
    assert worker["tools"] == []
    assert worker["error"].startswith(  # type: ignore[union-attr]
        "its tools allow-list names 'multiply', which it does not have (its tools: add, divide, evaluate, pid, "
    )
