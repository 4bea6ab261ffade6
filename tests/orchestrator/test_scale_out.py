"""Scale-out on real processes behind a real nginx (``docs/scaling.md``): stateless manager replicas, one killed
mid-phase, and two orchestrator replicas sharing one PostgreSQL run database, one killed mid-run."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import psutil
import pytest
from mcp import Client

from tests._nginx import binary as nginx_binary
from tests._nginx import load_balancer
from tests._postgres import new_database
from tests._runs import SCRIPT_MODEL, numbers_hierarchy, script, stdio_orchestrator, structured, wait_for_file
from tests._servers import REPO, http_server

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.e2e,
    pytest.mark.skipif(
        nginx_binary() is None, reason="nginx is not installed: apt-get install nginx (.ci/run does)"
    ),
]


def hierarchy(tmp: Path, managers_url: str | None = None) -> Path:
    """The numbers manager over a calc worker; declared at ``managers_url`` when it is served elsewhere."""
    return numbers_hierarchy(tmp / ("orchestrator.toml" if managers_url else "echelon.toml"), managers_url)


def host_port(url: str) -> str:
    return urlsplit(url).netloc


def serving(port_of: str) -> psutil.Process:
    """The server process of this test listening on ``host:port``."""
    port = port_of.rsplit(":", 1)[1]
    (found,) = [p for p in psutil.Process().children() if f"--port {port}" in " ".join(p.cmdline())]
    return found


def kill_tree(process: psutil.Process) -> None:
    tree = [process, *process.children(recursive=True)]
    os.kill(process.pid, signal.SIGKILL)
    psutil.wait_procs(tree, timeout=20)  # its children follow it (``_lifeline``)


@asynccontextmanager
async def replicas(stack: AsyncExitStack, args: list[str], env: dict[str, str]) -> AsyncGenerator[list[str]]:
    """Two replicas of one server, started together; yields their ``host:port``."""
    urls = [await stack.enter_async_context(http_server(args, env=env, startup_timeout=60)) for _ in range(2)]
    yield [host_port(u) for u in urls]


async def test_a_manager_replica_killed_mid_phase_leaves_the_phase_to_the_other_replica(
    tmp_path: Path,
) -> None:
    config = hierarchy(tmp_path)
    serve = [
        "-m",
        "echelon.clients.cli",
        "--config",
        str(config),
        "serve",
        "manager",
        "numbers",
        "--stateless",
    ]
    marker = tmp_path / "waiting"
    with anyio.fail_after(180):
        async with AsyncExitStack() as stack:
            upstreams = await stack.enter_async_context(
                replicas(stack, serve, {"ECHELON_MODEL": SCRIPT_MODEL})
            )
            balanced = await stack.enter_async_context(load_balancer(upstreams))
            async with stdio_orchestrator(hierarchy(tmp_path, balanced)) as (client, _pid):
                request = script(("Wait", "wait_once", {"marker": str(marker), "seconds": 300}))
                running = structured(
                    await client.call_tool("delegate", {"request": request, "wait_seconds": 0})
                )
                worker_pid = int(await wait_for_file(marker))
                (busy,) = [u for u in upstreams if worker_pid in {c.pid for c in serving(u).children(True)}]
                kill_tree(serving(busy))
                result = structured(
                    await client.call_tool("run_result", {"run_id": running["run_id"], "wait_seconds": 120})
                )
    assert result["status"] == "ok", result
    (replan,) = result["replans"]
    assert replan["failed"] == ["Wait"]
    first, second = result["phases"]
    assert "not repeated: execute_phase" in first["errors"][0]["message"]
    assert first["status"] == "failed" and second["status"] == "ok"


async def runs_listing(config: Path) -> str:
    """What ``echelon runs`` prints on this machine for ``config`` (the run database from the environment)."""
    done = await anyio.run_process(
        [sys.executable, "-m", "echelon.clients.cli", "--config", str(config), "runs"], cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


async def test_two_orchestrators_on_one_postgresql_share_runs_and_the_survivor_finishes_a_killed_ones_run(
    tmp_path: Path, postgres_base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHELON_RUNS_DATABASE", new_database(postgres_base))
    config = hierarchy(tmp_path)
    serve = ["-m", "echelon.clients.cli", "--config", str(config), "serve", "orchestrator", "--stateless"]
    counter, marker = tmp_path / "count", tmp_path / "waiting"
    request = script(
        ("Count", "count", {"counter": str(counter)}),
        ("Wait", "wait_once", {"marker": str(marker), "seconds": 300}),
    )
    with anyio.fail_after(240):
        async with AsyncExitStack() as stack:
            upstreams = await stack.enter_async_context(
                replicas(stack, serve, {"ECHELON_MODEL": SCRIPT_MODEL})
            )
            balanced = await stack.enter_async_context(load_balancer(upstreams))
            async with Client(balanced) as client:
                running = structured(
                    await client.call_tool("delegate", {"request": request, "wait_seconds": 0})
                )
                run_id = running["run_id"]
                worker_pid = int(await wait_for_file(marker))  # Count is done; Wait is running
                (busy,) = [u for u in upstreams if worker_pid in {c.pid for c in serving(u).children(True)}]
                (other,) = [u for u in upstreams if u != busy]
                async with Client(f"http://{other}/mcp") as direct:
                    seen = structured(await direct.call_tool("run_status", {"run_id": run_id}))
                listed = await runs_listing(config)
                kill_tree(serving(busy))
                result = structured(
                    await client.call_tool("run_result", {"run_id": run_id, "wait_seconds": 120})
                )
    assert seen["status"] == "running"
    assert run_id in listed
    assert result["status"] == "ok", result
    assert [p["phase"] for p in result["phases"]] == ["Count", "Wait"]
    assert counter.read_text() == "1"  # the finished phase was not run again
