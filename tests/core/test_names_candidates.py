"""A tool says which argument makes its result name each candidate; a "which one" request never gets a call
without it, and is told what to set instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.catalog import discover
from echelon.servers.core.envelope import AnswerPart
from echelon.servers.core.loop import LoopOutcome, run_tool_loop
from echelon.servers.core.policies import PolicyName, RunState, build_policies
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.core.toolset import WorkerToolset
from echelon.servers.workers.sql import build_server
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio


async def test_the_sql_worker_declares_group_by_as_what_names_candidates(tmp_path: Path) -> None:
    server = build_server(make_database(tmp_path / "shop.db"))
    async with ConnectionPool({"sql": Target.in_process(server)}) as pool:
        tools = {t.name: t for t in (await discover(pool, {"sql": ""}))["sql"].tools}
    aggregate = tools["aggregate"].names_candidates
    assert aggregate is not None and aggregate.argument == "group_by" and aggregate.many
    assert "customer" in aggregate.values and "total" in aggregate.how
    compared = tools["compare_periods"].names_candidates
    assert compared is not None and compared.argument == "group_by" and not compared.many
    assert tools["run_query"].names_candidates is None


async def loop_on_shop(
    tmp_path: Path,
    model: ScriptedModel,
    asked: str,
    expects: list[AnswerPart],
    policies: list[PolicyName],
    max_tool_calls: int,
) -> LoopOutcome:
    """One tool loop over an in-process sql worker on the shop database, judged for ``asked``."""
    server = build_server(make_database(tmp_path / "shop.db"))
    async with ConnectionPool({"sql": Target.in_process(server)}) as pool:
        workers = await discover(pool, {"sql": "the shop"})
        toolset = WorkerToolset([workers["sql"]], ToolCaller(pool), Budget.start(Limits()), step="S")
        return await run_tool_loop(
            model,
            system="You query.",
            prompt=asked,
            toolset=toolset,
            policies=build_policies(policies),
            state=RunState(given="", expects=expects, asked=asked),
            max_tool_calls=max_tool_calls,
            where="test.S",
        )


async def test_a_which_one_request_gets_no_ungrouped_call_and_is_told_what_to_group_by(
    tmp_path: Path,
) -> None:
    model = ScriptedModel(
        [
            tool_call("aggregate", measure="max(orders.total)", period="all"),
            tool_call("aggregate", measure="sum(orders.total)", period="all", group_by=["customer"], limit=1),
            "Cy spent the most: 1200.",
        ]
    )
    outcome = await loop_on_shop(
        tmp_path, model, "Which customer spent the most?", ["name"], ["loop_guard", "answers_request"], 3
    )
    model.assert_consumed()
    ungrouped, grouped = outcome.records
    assert ungrouped.outcome == "refused" and ungrouped.policy == "answers_request"
    assert ungrouped.error is not None and 'group_by=["customer"]' in ungrouped.error
    assert grouped.outcome == "ok" and outcome.answer == "Cy spent the most: 1200."
    # What the model read after the refusal: the reason, with the argument to set.
    assert 'group_by=["customer"]' in str(model.requests[1].messages[-1].content)


async def test_a_figure_request_may_ask_for_an_overall_figure(tmp_path: Path) -> None:
    model = ScriptedModel(
        [tool_call("aggregate", measure="sum(orders.total)", period="all"), "Customers spent 3120."]
    )
    outcome = await loop_on_shop(
        tmp_path, model, "How much did customers spend?", ["figure"], ["answers_request"], 2
    )
    model.assert_consumed()
    assert [r.outcome for r in outcome.records] == ["ok"] and outcome.answer == "Customers spent 3120."
