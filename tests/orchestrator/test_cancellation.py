"""Cancelling a delegation reaches the worker's call; no process of the tree survives; progress flows in order.

The whole hierarchy runs as real processes over stdio: this test -> orchestrator -> manager -> worker.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters

from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def hierarchy(tmp: Path) -> Path:
    py, root = json.dumps(sys.executable), json.dumps(str(REPO))
    config = tmp / "echelon.toml"
    config.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {py}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {root}
"""
    )
    return config


@asynccontextmanager
async def orchestrator(tmp: Path, **env: str) -> AsyncGenerator[Client]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "echelon.servers.orchestrator", "--config", str(hierarchy(tmp))],
        env={
            **{k: v for k, v in os.environ.items() if k.startswith("ECHELON_")},  # the test's run database
            "ECHELON_MODEL": "python:tests._e2e_model:build_tool_runner",
            "PYTHONPATH": str(REPO),
            **env,
        },
        cwd=str(REPO),
    )
    async with Client(params) as client:
        yield client


def request(tool: str, **arguments: object) -> str:
    return json.dumps({"tool": tool, "arguments": arguments})


_EARLIER: set[int] = set()


@pytest.fixture(autouse=True)
def _earlier_processes() -> None:
    """The processes pytest already had when the test began (an earlier test's forkserver): not this test's."""
    _EARLIER.clear()
    _EARLIER.update(p.pid for p in psutil.Process().children(recursive=True))


def tree() -> list[psutil.Process]:
    """The processes this test started, all levels down."""
    return [p for p in psutil.Process().children(recursive=True) if p.pid not in _EARLIER]


async def wait_for_file(path: Path) -> str:
    """The text another process writes to ``path``, once it is there (the caller bounds the wait)."""
    file = anyio.Path(path)
    while not await file.exists() or not await file.read_text():  # noqa: ASYNC110 - no file events to wait on
        await anyio.sleep(0.05)
    return await file.read_text()


async def cancel_during(client: Client, call: str, tool: str) -> list[psutil.Process]:
    """Start ``delegate(call)``, cancel it once the worker's ``tool`` is running; the processes it ran on."""
    running = anyio.Event()

    async def progress(_value: float, _total: float | None, message: str | None) -> None:
        if message and f"calc.{tool}" in message:
            running.set()

    processes: list[psutil.Process] = []
    async with anyio.create_task_group() as tg:

        async def delegate() -> None:
            await client.call_tool("delegate", {"request": call}, progress_callback=progress)

        tg.start_soon(delegate)
        await running.wait()
        processes = tree()
        tg.cancel_scope.cancel()
    return processes


def commands(processes: list[psutil.Process]) -> list[str]:
    return [" ".join(p.cmdline()[1:3]) for p in processes]


async def test_a_cancelled_delegation_cancels_the_workers_call_and_no_process_survives(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "cancelled"
    with anyio.fail_after(90):
        async with orchestrator(tmp_path) as client:
            processes = await cancel_during(client, request("wait", seconds=120, marker=str(marker)), "wait")
            assert await wait_for_file(marker) == "cancelled"  # the worker's own call was cancelled
            # The session stays usable after a cancelled call.
            assert (await client.call_tool("list_managers", {})).is_error is False
    assert len(processes) == 3, commands(processes)  # orchestrator, manager, worker
    _gone, alive = psutil.wait_procs(processes, timeout=20)
    assert not alive, commands(alive)


async def test_a_worker_blocked_in_a_thread_does_not_survive_its_host(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with anyio.fail_after(90):
        async with orchestrator(tmp_path) as client:
            processes = await cancel_during(
                client, request("block", seconds=120, marker=str(marker)), "block"
            )
            worker = int(await wait_for_file(marker))
    assert worker in {p.pid for p in processes}
    _gone, alive = psutil.wait_procs(processes, timeout=20)
    assert not alive, commands(alive)


async def test_a_host_that_closes_mid_call_leaves_no_process_behind(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with anyio.fail_after(90):
        async with orchestrator(tmp_path) as client, anyio.create_task_group() as tg:

            async def delegate() -> None:
                await client.call_tool(
                    "delegate", {"request": request("block", seconds=120, marker=str(marker))}
                )

            tg.start_soon(delegate)
            await wait_for_file(marker)
            processes = tree()
            tg.cancel_scope.cancel()  # the host goes away: its stdin closes with the client
    _gone, alive = psutil.wait_procs(processes, timeout=20)
    assert not alive, commands(alive)


async def test_progress_from_three_levels_arrives_in_order_with_heartbeats_during_a_slow_tool(
    tmp_path: Path,
) -> None:
    messages: list[str] = []
    values: list[float] = []

    async def progress(value: float, _total: float | None, message: str | None) -> None:
        values.append(value)
        messages.append(message or "")

    with anyio.fail_after(90):
        async with orchestrator(tmp_path, ECHELON_HEARTBEAT_SECONDS="0.3") as client:
            answer = await client.call_tool(
                "delegate", {"request": request("wait", seconds=2)}, progress_callback=progress
            )
    assert not answer.is_error
    expected = [
        "planning phases",
        "phase 1/1 numbers › planning steps",
        "phase 1/1 numbers › step 1/1 › calc.wait",
        "phase 1/1 numbers › step 1/1 Call finished",
        "phase 1/1 Run finished",
        "done: ok",
    ]
    positions = [messages.index(m) for m in expected]
    assert positions == sorted(positions), messages
    beats = [m for m in messages if m.startswith("phase 1/1 numbers › step 1/1 › calc.wait (still running")]
    assert len(beats) >= 2, messages  # heartbeats from the manager while the worker's call ran
    assert values == sorted(values)


async def test_the_spans_of_one_delegation_across_three_processes_share_one_trace(tmp_path: Path) -> None:
    spans_file = tmp_path / "spans.jsonl"
    with anyio.fail_after(90):
        async with orchestrator(tmp_path, ECHELON_TRACES_FILE=str(spans_file)) as client:
            answer = await client.call_tool("delegate", {"request": request("add", a=2, b=3)})
    assert not answer.is_error
    spans = [json.loads(line) for line in spans_file.read_text().splitlines()]
    (run,) = [s for s in spans if s["name"] == "echelon.run"]
    in_trace = [s for s in spans if s["trace_id"] == run["trace_id"]]
    services = {s["service"] for s in in_trace}
    assert {"echelon", "echelon-manager-numbers", "calc"} <= services, services
    names = {s["name"] for s in in_trace}
    assert {"echelon.phase", "echelon.step", "echelon.model step", "echelon.tool_call calc.add"} <= names, (
        names
    )
    step = next(s for s in in_trace if s["name"] == "echelon.step")
    assert step["attributes"]["echelon.status"] == "ok"
