"""Before planning, a manager looks up the values the request names in its workers' data: the planner, every step
and the synthesis read them as the data writes them, and the lookup is kept in the phase's result."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.config import parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server
from echelon.servers.workers.sql import build_server as build_sql_server
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio

ADA_TOTAL = {
    "name": "Total",
    "worker": "sql",
    "goals": "Ada's total",
    "tool": "aggregate",
    "arguments": {
        "measure": "sum(orders.total)",
        "period": "all",
        "filters": [{"dimension": "customer", "value": "Ada"}],
    },
}


async def run_phase(tmp_path: Path, model: ScriptedModel, request: str) -> PhaseResult:
    config = parse_config(
        {
            "managers": {"shop": {"description": "The shop's data", "workers": ["sql"], "planner": "router"}},
            "workers": {"sql": {"command": "sql-server"}},
        },
        file="shop.toml",
    )
    targets = {"sql": Target.in_process(build_sql_server(make_database(tmp_path / "shop.db")))}
    server = build_server(config, "shop", model=model, worker_targets=targets)
    phase = {"name": "Spend", "worker": "shop", "goals": request}
    async with Client(server) as client:
        answer = await client.call_tool("execute_phase", {"phase": phase, "context": {"request": request}})
    assert not answer.is_error, answer.content
    return PhaseResult.model_validate(answer.structured_content)


async def test_the_values_a_request_names_reach_the_planner_as_the_data_writes_them(tmp_path: Path) -> None:
    model = ScriptedModel([{"step": ADA_TOTAL}, {"answer": "ada spent 880.", "goal_met": True}])
    result = await run_phase(tmp_path, model, "How much did ada spend?")
    model.assert_consumed()
    (lookup,) = result.lookups
    assert (lookup.worker, lookup.tool, lookup.outcome) == ("sql", "find_values", "ok")
    planning, synthesis = (str(r.messages[-1].content) for r in model.requests)
    assert "'Ada' (customers.name)" in planning and '"dimension": "customer", "value": "Ada"' in planning
    assert "'Ada'" in synthesis
    assert result.status == "ok" and [c.tool for c in result.calls()] == ["aggregate"]


async def test_a_request_naming_no_stored_value_adds_nothing_to_the_plan(tmp_path: Path) -> None:
    step = {**ADA_TOTAL, "arguments": {"measure": "sum(orders.total)", "period": "all"}}
    model = ScriptedModel([{"step": step}, {"answer": "Customers spent 3120.", "goal_met": True}])
    result = await run_phase(tmp_path, model, "How much did customers spend?")
    model.assert_consumed()
    assert [c.outcome for c in result.lookups] == ["ok"]
    assert "names these values" not in str(model.requests[0].messages[-1].content)


async def test_a_step_reading_all_rows_when_the_request_names_one_is_told_the_filter_that_selects_it(
    tmp_path: Path,
) -> None:
    unfiltered = {**ADA_TOTAL, "arguments": {"measure": "sum(orders.total)", "period": "all"}}
    model = ScriptedModel(
        [
            {"step": unfiltered},
            tool_call("aggregate", **ADA_TOTAL["arguments"]),
            "Ada spent 880.",
        ]
    )
    result = await run_phase(tmp_path, model, "How much did ada spend?")
    model.assert_consumed()
    refused, made = result.calls()
    assert (refused.outcome, refused.policy) == ("refused", "keeps_named_values")
    assert refused.error is not None and '"dimension": "customer", "value": "Ada"' in refused.error
    assert made.outcome == "ok" and made.arguments["filters"] == [{"dimension": "customer", "value": "Ada"}]
    assert result.status == "ok"
