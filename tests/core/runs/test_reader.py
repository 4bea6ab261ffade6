"""The run reader: a running phase's start and latest progress, and the run's recorded steps with their times."""

from __future__ import annotations

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


async def read(reader: RunReader, run_id: str, until: str) -> RunView:
    """The run once its phase is in state ``until`` (the caller bounds the wait)."""
    while True:
        view = await reader.get(run_id)
        assert view is not None
        if view.phases and view.phases[0].state == until and (until != "running" or view.phases[0].activity):
            return view
        await anyio.sleep(0.05)


async def test_a_running_phase_has_its_start_and_latest_progress_and_a_finished_run_its_steps_times(
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
                during = await read(reader, running["run_id"], "running")
                gate.set()
                after = await read(reader, running["run_id"], "ok")
            finally:
                reader.close()
    phase = during.phases[0]
    planned = next(c for c in during.checkpoints if c.name == "plan")
    assert phase.started_at is not None and planned.finished_at is not None
    assert phase.started_at == planned.finished_at  # no dependencies: it started when the plan was made
    assert phase.activity in ("planning steps", "step 1/1 › thinking", "step 1/1 › calc.add")
    assert [c.name for c in after.checkpoints] == ["plan", "phase:Sum", "answer"]
    assert all(c.started_at and c.finished_at and c.started_at <= c.finished_at for c in after.checkpoints)
    assert after.phases[0].activity == ""
    assert after.phases[0].started_at == after.checkpoints[1].started_at
