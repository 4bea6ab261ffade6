"""figure_grounding on a computation: the figures a tool declares as data must come from the request or results."""

from __future__ import annotations

import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.catalog import discover
from echelon.servers.core.loop import run_tool_loop
from echelon.servers.core.policies import FigureGrounding, RunState
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.core.toolset import WorkerToolset
from echelon.servers.workers.math import build_server

pytestmark = pytest.mark.anyio

GIVEN = "Revenue was 9409.5 in 2024 and 10438 in 2025. How fast did it grow?"


async def run(model: ScriptedModel) -> list[tuple[str, str]]:
    async with ConnectionPool({"math": Target.in_process(build_server())}) as pool:
        workers = await discover(pool, {"math": "computations"})
        toolset = WorkerToolset([workers["math"]], ToolCaller(pool), Budget.start(Limits()), step="S")
        outcome = await run_tool_loop(
            model,
            system="You compute.",
            prompt=GIVEN,
            toolset=toolset,
            policies=[FigureGrounding()],
            state=RunState(given=GIVEN),
            max_tool_calls=3,
            where="test.S",
        )
    model.assert_consumed()
    return [(r.outcome, r.error or "") for r in outcome.records]


async def test_a_computation_on_figures_nobody_gave_is_refused_and_on_given_ones_is_made() -> None:
    model = ScriptedModel(
        [
            tool_call("growth_rate", values=[100000, 120000]),
            tool_call("growth_rate", values=[9409.5, 10438]),
            "Revenue grew 10.9%.",
        ]
    )
    records = await run(model)
    assert records[0][0] == "refused" and "100000, 120000 are in neither" in records[0][1]
    assert records[1] == ("ok", "")


async def test_constants_of_a_computation_are_not_claims() -> None:
    # percentiles are not declared as data: only the series is checked. (No sympy tool here: those compute in a
    # forkserver that would outlive the test inside the test process.)
    model = ScriptedModel(
        [
            tool_call("statistics", values=[9409.5, 10438], percentiles=[10, 90]),
            tool_call("percent_change", old=9409.5, new=10438),
            "Done.",
        ]
    )
    assert [outcome for outcome, _ in await run(model)] == ["ok", "ok"]


async def test_the_math_worker_declares_which_arguments_take_data() -> None:
    async with ConnectionPool({"math": Target.in_process(build_server())}) as pool:
        tools = {t.name: t for t in (await discover(pool, {"math": ""}))["math"].tools}
    assert tools["growth_rate"].figure_arguments == ["values"]
    assert tools["percent_change"].figure_arguments == ["old", "new"]
    assert tools["evaluate"].figure_arguments == []
