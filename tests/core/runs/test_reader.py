"""The run reader: a running phase's start and latest progress, and the run's recorded steps with their times."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client

from echelon.servers.core.runs import database_url
from echelon.servers.core.runs._reader import RunReader, RunView
from echelon.servers.core.testing import ScriptedModel
from tests.orchestrator._hierarchy import build_hierarchy
from tests.orchestrator.test_runs import ONE_PHASE, gated_numbers, structured

pytestmark = pytest.mark.anyio


async def read(reader: RunReader, run_id: str, until: Callable[[RunView], bool]) -> RunView:
    """The run once ``until`` holds for it (the caller bounds the wait)."""
    while True:
        view = await reader.get(run_id)
        assert view is not None
        if until(view):
            return view
        await anyio.sleep(0.05)


def phase_running(view: RunView) -> bool:
    return bool(view.phases) and view.phases[0].state == "running" and bool(view.phases[0].activity)


async def test_a_running_phase_has_its_start_latest_progress_and_cost_so_far_and_a_finished_run_its_steps_times(
    tmp_path: Path,
) -> None:
    gate = anyio.Event()
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(gate),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(60):
        async with Client(server) as client:
            running = structured(
                await client.call_tool("delegate", {"request": "add 2 and 3", "wait_seconds": 0})
            )
            reader = RunReader(database_url())
            try:
                during = await read(reader, running["run_id"], phase_running)
                (listed,) = await reader.list()
                gate.set()
                after = await read(reader, running["run_id"], lambda view: view.summary.status == "ok")
            finally:
                reader.close()
    phase = during.phases[0]
    planned = next(c for c in during.checkpoints if c.name == "plan")
    assert phase.started_at is not None and planned.finished_at is not None
    assert phase.started_at == planned.finished_at  # no dependencies: it started when the plan was made
    assert phase.activity.startswith(("planning steps", "step 1/1 › thinking", "step 1/1 › calc.add"))
    # Before there is a result, what the run has cost so far comes from its recorded steps (here: the plan's).
    plan_calls = during.summary.llm_calls
    assert plan_calls == 1 and during.summary.tokens > 0 and during.summary.phases_total == 1
    assert (listed.status, listed.llm_calls, listed.tokens, listed.phases_done, listed.phases_total) == (
        "running",
        plan_calls,
        during.summary.tokens,
        0,
        1,
    )
    assert after.summary.llm_calls > plan_calls
    assert [c.name for c in after.checkpoints] == ["plan", "phase:Sum", "answer"]
    assert all(c.started_at and c.finished_at and c.started_at <= c.finished_at for c in after.checkpoints)
    assert after.phases[0].activity == ""
    assert after.phases[0].started_at == after.checkpoints[1].started_at
