"""The Tasks extension across real processes: an orchestrator over Streamable HTTP, its manager and worker."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from tests._servers import http_server
from tests.orchestrator._tasks_client import CreatedTask, TasksClient, tasks_request, until_done
from tests.orchestrator.test_durability import hierarchy, script

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_delegation_over_http_is_a_task_that_tasks_get_follows_and_tasks_cancel_stops(
    tmp_path: Path,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith("ECHELON_")},  # the test's run database
        "ECHELON_MODEL": "python:tests._e2e_model:build_script_runner",
    }
    args = ["-m", "echelon.servers.orchestrator", "--config", str(hierarchy(tmp_path))]
    with anyio.fail_after(120):
        async with http_server(args, env=env) as url, Client(url, extensions=[TasksClient()]) as client:
            quick = await client.session.call_tool(
                "delegate", {"request": script(("Add", "add", {"a": 2, "b": 3}))}, allow_claimed=True
            )
            slow = await client.session.call_tool(
                "delegate", {"request": script(("Wait", "wait", {"seconds": 300}))}, allow_claimed=True
            )
            assert isinstance(quick, CreatedTask) and isinstance(slow, CreatedTask)
            done = await until_done(client, quick.task_id)
            await tasks_request(client, "tasks/cancel", taskId=slow.task_id)
            stopped = await until_done(client, slow.task_id)
    assert done["status"] == "completed"
    result = DelegationResult.model_validate(done["result"]["structuredContent"])
    assert result.status == "ok" and result.phases[0].status == "ok"
    assert stopped["status"] == "cancelled"
