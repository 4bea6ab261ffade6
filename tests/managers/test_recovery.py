"""A manager's recovery: a step whose worker keeps failing moves to another worker with the tool; a manager
handed a nearly spent budget stops after the calls it has."""

from __future__ import annotations

import sys

import anyio
import pytest
from mcp import Client

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.config import parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server
from tests._servers import REPO
from tests._toy_servers import build_calc_server

pytestmark = pytest.mark.anyio
PHASE = {"name": "Sum", "worker": "numbers", "goals": "add 2 and 3"}


def config(workers: list[str]) -> object:
    return parse_config(
        {
            "managers": {"numbers": {"description": "Arithmetic", "workers": workers}},
            "workers": {name: {"command": "unused"} for name in workers},
        },
        file="toy.toml",
    )


@pytest.mark.e2e
async def test_a_step_whose_worker_keeps_failing_is_reassigned_to_another_worker_with_the_tool() -> None:
    broken = Target(
        command=sys.executable, args=["-m", "tests._toy_servers", "calc", "--broken"], cwd=str(REPO)
    )
    targets = {"calc": broken, "spare": Target.in_process(build_calc_server())}
    plan = {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add 2 and 3"}]}}
    model = ScriptedModel(
        [plan, tool_call("add", a=2, b=3), "It failed.", tool_call("add", a=2, b=3), "2 + 3 = 5"]
    )
    server = build_server(config(["calc", "spare"]), "numbers", model=model, worker_targets=targets)  # type: ignore[arg-type]
    with anyio.fail_after(90):
        async with Client(server) as client:
            answer = await client.call_tool("execute_phase", {"phase": PHASE})
    result = PhaseResult.model_validate(answer.structured_content)
    (step,) = result.steps
    assert (step.worker, step.reassigned_from, step.status) == ("spare", "calc", "ok")
    assert [(c.worker, c.outcome) for c in step.calls] == [("calc", "failed"), ("spare", "ok")]
    assert step.calls[0].attempts == 3  # add is idempotent: retried, each retry recorded
    assert len(step.calls[0].retries) == 2
    assert any(e.kind == "reassigned" and "moved from calc to spare" in e.message for e in result.errors)
    assert result.status == "ok" and result.output == "2 + 3 = 5"
    model.assert_consumed()


async def test_a_manager_given_a_nearly_spent_budget_stops_after_the_calls_it_has() -> None:
    plan = {"plan": {"steps": [{"name": "Add", "worker": "calc", "goals": "add 2 and 3"}]}}
    model = ScriptedModel([plan, tool_call("add", a=2, b=3), "never asked"])
    targets = {"calc": Target.in_process(build_calc_server())}
    server = build_server(config(["calc"]), "numbers", model=model, worker_targets=targets)  # type: ignore[arg-type]
    handed = Budget.start(Limits())
    handed.charge(model_calls=Limits().max_model_calls - 2, tokens=0, tool_calls=0)  # two model calls left
    async with Client(server) as client:
        answer = await client.call_tool("execute_phase", {"phase": PHASE}, meta=handed.to_meta())
    result = PhaseResult.model_validate(answer.structured_content)
    assert result.usage.llm_calls == 2 and result.usage.tool_calls == 1
    assert result.status == "partial"
    assert any(e.kind == "budget" and "max_model_calls" in e.message for e in result.errors)
    assert len(model.requests) == 2
