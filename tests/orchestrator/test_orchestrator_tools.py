from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.llm import ModelError, ModelRequest
from echelon.servers.core.target import Target
from echelon.servers.core.testing import FunctionModel, ScriptedModel
from echelon.servers.orchestrator.server import build_server
from tests._servers import ORCHESTRATOR_TOOLS
from tests.orchestrator._hierarchy import adding_model, build_hierarchy, toy_config

pytestmark = pytest.mark.anyio


async def test_tools_list_and_list_managers_answer_without_starting_any_manager() -> None:
    # Managers that cannot start: any attempt to start one would fail the call.
    unreachable = {k: Target(command="/nonexistent/manager") for k in ("numbers", "content")}
    server = build_server(toy_config(), model=ScriptedModel([]), manager_targets=unreachable)
    async with Client(server) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        listing = await client.call_tool("list_managers", {})
    assert tools == ORCHESTRATOR_TOOLS
    assert not listing.is_error
    data = listing.structured_content or {}
    assert [m["key"] for m in data["managers"]] == ["numbers", "content"]
    assert data["managers"][1]["planner"] == "WorkerRouterPlanner"


async def test_plan_shows_phases_and_each_managers_steps_without_running_anything(tmp_path: Path) -> None:
    plan = {
        "plan": {
            "phases": [{"name": "Sum", "worker": "numbers", "goals": "add"}],
            "primary_worker": "numbers",
        }
    }
    steps = {
        "plan": {
            "steps": [
                {
                    "name": "Add",
                    "worker": "calc",
                    "goals": "add",
                    "tool": "add",
                    "arguments": {"a": 1, "b": 2},
                }
            ]
        }
    }
    numbers = ScriptedModel([steps])
    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([plan]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        answer = await client.call_tool("plan", {"request": "add 1 and 2"})
    preview = answer.structured_content or {}
    assert preview["phases"][0]["phase"]["worker"] == "numbers"
    assert preview["phases"][0]["steps"][0]["tool"] == "add"
    assert preview["usage"]["llm_calls"] == 2
    numbers.assert_consumed()  # planned only: no tool loop, no synthesis


async def test_progress_notifications_reach_the_host_during_delegate(tmp_path: Path) -> None:
    plan = {
        "plan": {
            "phases": [{"name": "Sum", "worker": "numbers", "goals": "add"}],
            "primary_worker": "numbers",
        }
    }
    numbers = adding_model(1, 2, {"answer": "1 + 2 = 3", "goal_met": True}, goals="add")
    messages: list[str] = []
    progress_values: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        progress_values.append(progress)
        messages.append(message or "")

    server = build_hierarchy(
        tmp_path, orchestrator=ScriptedModel([plan]), numbers=numbers, content=ScriptedModel([])
    )
    async with Client(server) as client:
        await client.call_tool("delegate", {"request": "add"}, progress_callback=on_progress)
    assert messages[0] == "planning phases"
    assert "phase 1/1 numbers › step 1/1 › calc.add" in messages
    assert "phase 1/1 numbers › step 1/1 Add finished" in messages
    assert messages[-1] == "done: ok"
    assert progress_values == sorted(progress_values)  # progress only increases


async def test_a_failing_phase_is_reported_and_independent_phases_keep_their_results(tmp_path: Path) -> None:
    plan = {
        "plan": {
            "asks_for": ["file"],
            "phases": [
                {"name": "Sum", "worker": "numbers", "goals": "add"},
                {"name": "Deck", "worker": "content", "goals": "deck"},
            ],
            "primary_worker": "numbers",
        }
    }
    numbers = adding_model(1, 2, {"answer": "1 + 2 = 3", "goal_met": True}, goals="add")
    deck_again = {
        "plan": {"asks_for": ["file"], "phases": [plan["plan"]["phases"][1]], "primary_worker": "content"}
    }

    # The content manager's model service is down: its phase fails, the other one stands.
    def service_down(request: ModelRequest) -> str:
        raise ModelError("local: the model server is unavailable")

    content = FunctionModel(service_down)
    orchestrator = ScriptedModel([plan, deck_again])  # the failed phase is planned anew once, and fails again
    server = build_hierarchy(tmp_path, orchestrator=orchestrator, numbers=numbers, content=content)
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add and deck"})
    result = DelegationResult.model_validate(answer.structured_content)
    assert result.status == "partial"
    by_phase = {p.phase: p for p in result.phases}
    assert by_phase["Sum"].status == "ok" and by_phase["Sum"].output == "1 + 2 = 3"
    assert by_phase["Deck"].status == "failed"
    assert any(e.where == "content.WorkerRouterPlanner" and "unavailable" in e.message for e in result.errors)
