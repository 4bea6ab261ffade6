"""The orchestrator keeps what finished, bounds what hangs, plans anew what failed, and stops at its limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.llm import ModelError, ModelRequest
from echelon.servers.core.target import Target
from echelon.servers.core.testing import FunctionModel, ScriptedModel, tool_call
from echelon.servers.managers.server import build_server as build_manager
from echelon.servers.orchestrator.server import build_server as build_orchestrator
from tests._toy_servers import build_calc_server
from tests.orchestrator._hierarchy import adding_model, build_hierarchy, looping_model, toy_config

pytestmark = pytest.mark.anyio


def phases(*pairs: tuple[str, str]) -> dict[str, Any]:
    nodes = [{"name": name, "worker": worker, "goals": f"{name}"} for name, worker in pairs]
    return {"plan": {"phases": nodes, "primary_worker": pairs[0][1]}}


async def delegate(server: MCPServer[Any], **arguments: Any) -> DelegationResult:
    with anyio.fail_after(60):
        async with Client(server) as client:
            answer = await client.call_tool("delegate", {"request": "add", **arguments})
    assert not answer.is_error, answer.content
    return DelegationResult.model_validate(answer.structured_content)


def three_managers(numbers: Any, backup: Any, orchestrator: Any) -> MCPServer[Any]:
    config = toy_config(
        extra={"managers": {"backup": {"description": "Arithmetic, another way", "workers": ["calc"]}}}
    )
    targets = {
        key: Target.in_process(
            build_manager(
                config, key, model=model, worker_targets={"calc": Target.in_process(build_calc_server())}
            )
        )
        for key, model in (("numbers", numbers), ("backup", backup))
    }
    return build_orchestrator(config, model=orchestrator, manager_targets=targets)


def down(request: ModelRequest) -> str:
    raise ModelError("the numbers manager's model is unavailable")


async def test_a_phase_whose_manager_fails_is_planned_anew_and_the_new_plan_answers() -> None:
    orchestrator = ScriptedModel([phases(("Sum", "numbers")), phases(("Sum another way", "backup"))])
    backup = adding_model(2, 3, {"answer": "2 + 3 = 5", "goal_met": True})
    result = await delegate(three_managers(FunctionModel(down), backup, orchestrator))
    assert [p.phase for p in result.phases] == ["Sum", "Sum another way"]
    assert [p.status for p in result.phases] == ["failed", "ok"]
    (replan,) = result.replans
    assert replan.failed == ["Sum"] and replan.phases == ["Sum another way"]
    assert "unavailable" in replan.reason
    assert result.status == "ok" and result.output == "2 + 3 = 5"
    assert any(e.kind == "replanned" for e in result.errors)
    context = orchestrator.requests[1].messages[-1].content
    assert "These phases failed or could not run:\n- Sum (numbers)" in context


async def test_replanning_is_bounded() -> None:
    orchestrator = ScriptedModel([phases(("Sum", "numbers")), phases(("Sum", "numbers"))])
    result = await delegate(three_managers(FunctionModel(down), ScriptedModel([]), orchestrator))
    assert len(result.replans) == 1 and result.status == "failed"
    assert [p.phase for p in result.phases] == ["Sum", "Sum (2)"]
    orchestrator.assert_consumed()


def meeting_server(arrived: list[str], both: anyio.Event) -> MCPServer[Any]:
    """A worker whose ``meet`` returns only once two calls are in it at the same time (or never)."""
    server = MCPServer(name="gate")

    @server.tool()
    async def meet(who: str) -> dict[str, str]:
        """Wait for the other caller."""
        arrived.append(who)
        if len(arrived) == 2:
            both.set()
        await both.wait()
        return {"met": who}

    return server


async def test_independent_phases_run_at_the_same_time(tmp_path: Path) -> None:
    arrived: list[str] = []
    both = anyio.Event()
    gate = meeting_server(arrived, both)

    def meeting(who: str) -> ScriptedModel:
        plan = {"plan": {"steps": [{"name": who, "worker": "calc", "goals": "meet"}]}}
        return ScriptedModel([plan, tool_call("meet", who=who), f"{who} met."])

    config = toy_config(
        extra={"managers": {"other": {"description": "Also arithmetic", "workers": ["calc"]}}}
    )
    targets = {
        key: Target.in_process(
            build_manager(config, key, model=meeting(key), worker_targets={"calc": Target.in_process(gate)})
        )
        for key in ("numbers", "other")
    }
    plan = phases(("A", "numbers"), ("B", "other"))
    server = build_orchestrator(config, model=ScriptedModel([plan]), manager_targets=targets)
    result = await delegate(server)  # sequential phases would wait forever in meet: fail_after ends the test
    assert sorted(arrived) == ["numbers", "other"]
    assert [p.status for p in result.phases] == ["ok", "ok"]


async def test_a_phase_still_running_at_the_deadline_ends_the_run_partial_and_the_other_is_kept(
    tmp_path: Path,
) -> None:
    stuck = ScriptedModel(
        [
            {"plan": {"steps": [{"name": "Wait", "worker": "deck", "goals": "wait"}]}},
            tool_call("make_deck", title="t", bullets=[]),
        ]
    )

    async def never(request: ModelRequest) -> str:
        await anyio.sleep_forever()
        return ""

    plan = {"plan": {"asks_for": ["file"], **phases(("Sum", "numbers"), ("Deck", "content"))["plan"]}}
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([plan, phases(("Sum", "numbers"))]),
        numbers=looping_model(2, 3, "2 + 3 = 5"),
        content=FunctionModel(never),
    )
    result = await delegate(server, limits={"deadline_seconds": 2})
    by_phase = {p.phase: p for p in result.phases}
    assert by_phase["Sum"].status == "ok" and by_phase["Sum"].output == "2 + 3 = 5"
    assert by_phase["Deck"].status == "failed"
    assert {e.kind for e in by_phase["Deck"].errors} & {"timeout", "budget"}
    assert result.status == "partial"
    del stuck


async def test_each_limit_that_runs_out_ends_the_run_partial_with_the_limit_named(tmp_path: Path) -> None:
    numbers = ScriptedModel(
        [{"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add"}]}}, tool_call("add", a=1, b=2)]
    )
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([phases(("Sum", "numbers"))]),
        numbers=numbers,
        content=ScriptedModel([]),
    )
    result = await delegate(server, limits={"max_model_calls": 3})
    assert result.status == "partial"
    assert any(e.kind == "budget" and "max_model_calls" in e.message for e in result.errors)
    assert result.usage.llm_calls == 3 and result.usage.tool_calls == 1

    numbers = ScriptedModel(
        [
            {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add"}]}},
            tool_call("add", a=1, b=2),
            tool_call("add", a=2, b=2),  # refused: no tool call left; the loop ends, synthesis answers
            {"answer": "1 + 2 = 3", "goal_met": True},
        ]
    )
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([phases(("Sum", "numbers"))]),
        numbers=numbers,
        content=ScriptedModel([]),
    )
    result = await delegate(server, limits={"max_tool_calls": 1})
    assert any(e.kind == "budget" and "max_tool_calls" in e.message for e in result.errors)
    assert result.usage.tool_calls == 1 and result.status == "partial"

    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([phases(("Sum", "numbers"))]),
        numbers=ScriptedModel([]),
        content=ScriptedModel([]),
    )
    result = await delegate(server, limits={"max_tokens": 1})
    assert result.status == "partial"
    assert any(e.kind == "budget" and "max_tokens" in e.message for e in result.errors)


async def test_a_request_over_the_size_limit_is_refused_before_any_model_call(tmp_path: Path) -> None:
    orchestrator = ScriptedModel([])
    server = build_hierarchy(
        tmp_path, orchestrator=orchestrator, numbers=ScriptedModel([]), content=ScriptedModel([])
    )
    with anyio.fail_after(30):
        async with Client(server) as client:
            answer = await client.call_tool(
                "delegate", {"request": "x" * 2000, "limits": {"max_request_chars": 1000}}
            )
    result = DelegationResult.model_validate(answer.structured_content)
    assert result.status == "failed" and result.errors[0].kind == "request"
    assert "2,000 characters long; the limit is 1,000 (max_request_chars)" in result.output
    assert orchestrator.requests == []
