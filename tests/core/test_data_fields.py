"""A tool says which fields of its result hold what it found; the names an answer can take from it come from those."""

from __future__ import annotations

from pathlib import Path

import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.catalog import discover
from echelon.servers.core.evidence import data_values
from echelon.servers.core.loop import run_tool_loop
from echelon.servers.core.policies import RunState
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.core.toolset import WorkerToolset
from echelon.servers.workers.sql import build_server
from tests.workers._shop_db import make_database

pytestmark = pytest.mark.anyio


async def test_the_sql_worker_declares_the_fields_that_hold_its_data(tmp_path: Path) -> None:
    server = build_server(make_database(tmp_path / "shop.db"))
    async with ConnectionPool({"sql": Target.in_process(server)}) as pool:
        tools = {t.name: t for t in (await discover(pool, {"sql": ""}))["sql"].tools}
    assert tools["aggregate"].data_fields == [
        "rows",
        "overall",
        "per_group",
        "last_in_order",
        "highest_percent_change",
        "lowest_percent_change",
    ]
    assert tools["compare_periods"].data_fields == ["groups", "total"]
    assert tools["aggregate"].overall_fields == ["overall", "per_group"]
    assert tools["compare_periods"].overall_fields == ["total"]
    assert tools["run_query"].data_fields == ["rows"]
    assert tools["list_tables"].data_fields == []


async def test_a_call_made_through_the_loop_carries_its_tool_s_data_fields(tmp_path: Path) -> None:
    server = build_server(make_database(tmp_path / "shop.db"))
    model = ScriptedModel(
        [
            tool_call("aggregate", measure="max(orders.total)", period="all"),
            tool_call("aggregate", measure="sum(orders.total)", period="all", group_by=["customer"]),
            "Done.",
        ]
    )
    async with ConnectionPool({"sql": Target.in_process(server)}) as pool:
        workers = await discover(pool, {"sql": "the shop"})
        toolset = WorkerToolset([workers["sql"]], ToolCaller(pool), Budget.start(Limits()), step="S")
        outcome = await run_tool_loop(
            model,
            system="You query.",
            prompt="Who spent most?",
            toolset=toolset,
            policies=[],
            state=RunState(given=""),
            max_tool_calls=3,
            where="test.S",
        )
    model.assert_consumed()
    maximum, by_customer = outcome.records
    assert maximum.data_fields == [
        "rows",
        "overall",
        "per_group",
        "last_in_order",
        "highest_percent_change",
        "lowest_percent_change",
    ]
    assert maximum.overall_fields == ["overall", "per_group"]
    strings, numbers = data_values([maximum])
    assert strings == [] and len(numbers) == 1  # the SQL, the table and the period are not names of the data
    names, _ = data_values([by_customer])
    assert names and all(not n.upper().startswith("SELECT") for n in names)
    assert "data_fields" in maximum.model_dump(mode="json")
    assert "data_fields" not in maximum.model_copy(update={"data_fields": []}).model_dump(mode="json")
