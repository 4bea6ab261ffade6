"""Durable runs across real processes: an orchestrator killed mid-run is finished by the next one on the same
database, without re-running what finished; cancel_run stops the run and the processes below it; a run's record
holds no secret."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client

from echelon.servers.core.runs import database_url
from echelon.servers.core.runs._reader import RunReader
from tests._runs import script, stdio_orchestrator, structured, wait_for_file
from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
SECRET = "s3cret-token-0123456789"


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
args = ["-m", "tests._toy_servers", "calc", "--api-token", "{SECRET}"]
cwd = {root}
env = {{ CALC_TOKEN = "{SECRET}" }}

[managers.broken]
description = "A manager whose only worker cannot start"
workers = ["gone"]

[workers.gone]
command = {py}
args = ["-c", "import sys; print('starting with --api-token {SECRET}', file=sys.stderr); sys.exit(3)", "--api-token", "{SECRET}"]
"""
    )
    return config


@asynccontextmanager
async def orchestrator(tmp: Path, config: Path | None = None) -> AsyncGenerator[tuple[Client, int]]:
    env = {"ANTHROPIC_API_KEY": "sk-ant-test-never-sent-0123456789abcdef"}
    async with stdio_orchestrator(config or hierarchy(tmp), env) as (client, pid):
        yield client, pid


async def killed_mid_run(tmp_path: Path, counter: Path) -> str:
    """Start a two-phase run (Count, then a 300 s Wait) and SIGKILL its orchestrator once Count has finished and
    Wait is running; every process below it is gone on return. Returns the run id."""
    marker = tmp_path / "waiting"
    request = script(
        ("Count", "count", {"counter": str(counter)}),
        ("Wait", "wait_once", {"marker": str(marker), "seconds": 300}),
    )
    run_id, tree = "", list[psutil.Process]()
    with suppress(Exception):  # the orchestrator is killed under the client
        async with orchestrator(tmp_path) as (client, pid):
            running = structured(await client.call_tool("delegate", {"request": request, "wait_seconds": 0}))
            run_id = running["run_id"]
            await wait_for_file(marker)  # the first phase finished; the second is running
            tree = psutil.Process(pid).children(recursive=True)
            os.kill(pid, signal.SIGKILL)
    psutil.wait_procs(tree, timeout=20)
    assert run_id
    return run_id


async def test_a_run_whose_orchestrator_was_killed_is_finished_by_the_next_without_rerunning_finished_phases(
    tmp_path: Path, runs_backend: str
) -> None:
    counter = tmp_path / "count"
    with anyio.fail_after(120):
        run_id = await killed_mid_run(tmp_path, counter)
        async with orchestrator(tmp_path) as (client, _pid):
            result = structured(await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 60}))
    assert result["status"] == "ok", result
    assert [p["phase"] for p in result["phases"]] == ["Count", "Wait"]
    assert counter.read_text() == "1"  # the finished phase was not run again
    reader = RunReader(database_url())
    try:
        view = await reader.get(run_id)
    finally:
        reader.close()
    assert view is not None and [p.state for p in view.phases] == ["ok", "ok"]


async def test_cancel_run_stops_the_run_and_every_process_below_it(tmp_path: Path, runs_backend: str) -> None:
    marker = tmp_path / "pid"
    request = script(("Block", "block", {"seconds": 300, "marker": str(marker)}))
    with anyio.fail_after(120):
        async with orchestrator(tmp_path) as (client, pid):
            running = structured(await client.call_tool("delegate", {"request": request, "wait_seconds": 0}))
            await wait_for_file(marker)
            below = psutil.Process(pid).children(recursive=True)
            assert len(below) == 2  # the manager and its worker, blocked in a thread
            cancelled = structured(await client.call_tool("cancel_run", {"run_id": running["run_id"]}))
            _gone, alive = psutil.wait_procs(below, timeout=30)
            final = structured(await client.call_tool("run_status", {"run_id": running["run_id"]}))
    assert cancelled["status"] in ("cancelled", "running") and final["status"] == "cancelled"
    assert not alive, [p.cmdline() for p in alive]


async def test_a_runs_record_holds_no_api_key_and_no_token_of_a_worker(tmp_path: Path) -> None:
    request = json.dumps(
        {
            "phases": [
                {"name": "Sum", "tool": "add", "arguments": {"a": 2, "b": 3}},
                {"name": "Broken", "tool": "add", "arguments": {"a": 1, "b": 1}, "manager": "broken"},
            ]
        }
    )
    with anyio.fail_after(60):
        async with orchestrator(tmp_path) as (client, _pid):
            result = structured(await client.call_tool("delegate", {"request": request, "wait_seconds": 30}))
            record = (await client.read_resource(f"echelon://runs/{result['run_id']}")).contents[0].text  # type: ignore[union-attr]
    assert result["status"] == "partial"  # the broken worker's error, with its command line, is in the record
    assert any("exited with code 3" in e["message"] for e in result["errors"]), result["errors"]
    assert "[redacted]" in json.dumps(result["errors"])
    database = database_url().removeprefix(
        "sqlite:///"
    )  # the SQLite file (the default backend) holds no secret
    files = [Path(f) for f in (database, database + "-wal")]
    stored = b"".join(f.read_bytes() for f in files if f.exists())
    for text in (record, json.dumps(result), stored.decode("utf-8", "replace")):
        assert SECRET not in text
        assert "sk-ant-test" not in text


def other_hierarchy(tmp: Path) -> Path:
    """A hierarchy of other managers than ``hierarchy``'s, for an orchestrator sharing its run database."""
    folder = tmp / "other"
    folder.mkdir(exist_ok=True)
    config = folder / "echelon.toml"
    config.write_text(
        f"""
[managers.letters]
description = "Words"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {json.dumps(str(REPO))}
"""
    )
    return config


async def wait_for_recovery_cycle(executor_pid: int) -> None:
    """Until the orchestrator with ``executor_pid`` has looked for stopped orchestrators' runs at least once:
    its heartbeat changes only after its first look."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url())
    first: float | None = None
    try:
        while True:
            with engine.connect() as c:
                beat = c.execute(
                    sa.text("SELECT heartbeat_at FROM echelon_executors WHERE pid = :pid"),
                    {"pid": executor_pid},
                ).scalar()
            if beat is not None and first is not None and beat > first:
                return
            first = first if first is not None else beat
            await anyio.sleep(0.2)
    finally:
        engine.dispose()


async def test_an_orchestrator_of_another_hierarchy_on_the_same_database_never_takes_its_runs(
    tmp_path: Path,
) -> None:
    counter = tmp_path / "count"
    with anyio.fail_after(150):
        run_id = await killed_mid_run(tmp_path, counter)
        async with orchestrator(tmp_path, other_hierarchy(tmp_path)) as (client, pid):
            await wait_for_recovery_cycle(pid)
            status = structured(await client.call_tool("run_status", {"run_id": run_id}))
            refused = await client.call_tool("resume_run", {"run_id": run_id})
        assert status["status"] == "running"  # still the stopped orchestrator's, waiting for its own kind
        assert refused.is_error and "another hierarchy" in str(refused.content)
        async with orchestrator(tmp_path) as (client, _pid):
            result = structured(await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 60}))
    assert result["status"] == "ok", result
    assert counter.read_text() == "1"


async def test_a_queued_run_is_left_for_its_own_hierarchy_by_another_hierarchys_orchestrator(
    tmp_path: Path,
) -> None:
    config = hierarchy(tmp_path)
    config.write_text(config.read_text() + "\n[runs]\nconcurrency = 1\n")
    marker, counter = tmp_path / "waiting", tmp_path / "count"
    tree = list[psutil.Process]()
    with anyio.fail_after(150):
        with suppress(Exception):  # the orchestrator is killed under the client
            async with orchestrator(tmp_path, config) as (client, pid):
                busy = script(("Wait", "wait_once", {"marker": str(marker), "seconds": 300}))
                await client.call_tool("delegate", {"request": busy, "wait_seconds": 0})
                await wait_for_file(marker)  # the one run slot is taken
                waiting = script(("Count", "count", {"counter": str(counter)}))
                queued = structured(
                    await client.call_tool("delegate", {"request": waiting, "wait_seconds": 0})
                )
                tree = psutil.Process(pid).children(recursive=True)
                os.kill(pid, signal.SIGKILL)
        psutil.wait_procs(tree, timeout=20)
        async with orchestrator(tmp_path, other_hierarchy(tmp_path)) as (client, pid):
            await wait_for_recovery_cycle(pid)  # it has polled the queues for seconds by now
            status = structured(await client.call_tool("run_status", {"run_id": queued["run_id"]}))
        assert status["status"] in ("queued", "running"), status
        assert not counter.exists()
        async with orchestrator(tmp_path, config) as (client, _pid):
            arguments = {"run_id": queued["run_id"], "wait_seconds": 60}
            result = structured(await client.call_tool("run_result", arguments))
    assert result["status"] == "ok", result
    assert counter.read_text() == "1"
