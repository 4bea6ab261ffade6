"""Step planners as a manager uses them: ToolLoopPlanner runs a phase as one tool loop over every worker."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from echelon.servers.core.config import parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server
from tests._toy_servers import build_calc_server, build_deck_server

pytestmark = pytest.mark.anyio


def config(planner: str) -> object:
    return parse_config(
        {
            "managers": {
                "office": {
                    "description": "Numbers and decks",
                    "workers": ["calc", "deck"],
                    "planner": planner,
                }
            },
            "workers": {"calc": {"command": "unused"}, "deck": {"command": "unused"}},
        },
        file="toy.toml",
    )


async def test_the_tool_loop_planner_asks_no_planning_call_and_lets_the_loop_pick_the_worker(
    tmp_path: object,
) -> None:
    targets = {
        "calc": Target.in_process(build_calc_server()),
        "deck": Target.in_process(build_deck_server(str(tmp_path))),
    }
    model = ScriptedModel([tool_call("calc.add", a=2, b=3), "2 + 3 = 5"])
    server = build_server(config("toolloop"), "office", model=model, worker_targets=targets)  # type: ignore[arg-type]
    with anyio.fail_after(30):
        async with Client(server) as client:
            answer = await client.call_tool(
                "execute_phase", {"phase": {"name": "Sum", "worker": "office", "goals": "add 2 and 3"}}
            )
    result = PhaseResult.model_validate(answer.structured_content)
    (step,) = result.steps
    assert (step.worker, step.status) == ("calc", "ok")
    assert [(c.worker, c.tool, c.outcome) for c in step.calls] == [("calc", "add", "ok")]
    assert result.output == "2 + 3 = 5"
    assert len(model.requests) == 2  # the tool call and the answer: no plan, no synthesis
    tools = {t.name for t in model.requests[0].tools}
    assert {"calc.add", "deck.make_deck"} <= tools
    model.assert_consumed()


def test_the_tool_loop_planner_is_named_in_config_by_its_alias() -> None:
    manager = config("toolloop").managers["office"]  # type: ignore[attr-defined]
    assert manager.planner == "ToolLoopPlanner"
