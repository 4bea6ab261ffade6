"""Twenty hosts at once: the orchestrator served over Streamable HTTP on the toy config, 20 ``mcp.Client``
sessions each sending one delegate at the same moment, vs one delegate alone on the same server.

The toy config's ``[runs] concurrency`` is raised to 20 (the default, 2, would queue 18 of them: that measures
the queue, not the hierarchy). The server is always stopped, whatever happens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
from anyio.abc import Process
from mcp import Client

from tests._servers import stop

from ._hops import ADD, ok
from ._measure import Row, Series
from ._procs import ORCHESTRATOR, ROOT, SCRIPTED, toy_config

CLIENTS = 20


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def http_orchestrator(config: Path, startup_seconds: float = 60.0) -> AsyncGenerator[str]:
    """The orchestrator on ``config`` over Streamable HTTP on a free loopback port; yields its URL once it
    answers tools/list, and stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", ORCHESTRATOR, "--config", str(config)]
    command += ["--transport", "streamable-http", "--host", "127.0.0.1", "--port", str(port)]
    env = os.environ | {"ECHELON_MODEL": SCRIPTED, "PYTHONPATH": str(ROOT)}
    url = f"http://127.0.0.1:{port}/mcp"
    with tempfile.TemporaryFile() as log:
        process = await anyio.open_process(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env
        )
        try:
            with anyio.fail_after(startup_seconds):
                await _answering(url, process)
            yield url
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await stop(process)


async def _answering(url: str, process: Process) -> None:
    """Return once ``url`` answers tools/list (call under ``anyio.fail_after``)."""
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"the orchestrator exited with code {process.returncode} before serving")
        try:
            async with Client(url) as client:
                await client.list_tools()
            return
        except Exception:  # not listening yet
            await anyio.sleep(0.1)


async def concurrent(runs: int, tmp: Path) -> list[Row]:
    """``runs`` rounds of: one delegate alone, then ``CLIENTS`` at once, each from its own client."""
    config = toy_config(tmp / "http.toml", runs=f"concurrency = {CLIENTS}")
    alone = Series("1 delegate alone", "ms")
    p50 = Series(f"{CLIENTS} at once, p50", "ms")
    p95 = Series(f"{CLIENTS} at once, p95", "ms")
    latencies = Series("every concurrent delegate", "ms")
    errors: list[str] = []
    async with http_orchestrator(config) as url, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(Client(url)) for _ in range(CLIENTS)]
        ok(await clients[0].call_tool("delegate", ADD))  # the manager and its worker are started

        async def timed(client: Client, into: list[float]) -> None:
            started = time.perf_counter()
            try:
                ok(await client.call_tool("delegate", ADD))
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            into.append((time.perf_counter() - started) * 1000)

        for _ in range(runs):
            single: list[float] = []
            await timed(clients[0], single)
            alone.samples += single
            round_: list[float] = []
            async with anyio.create_task_group() as group:
                for client in clients:
                    group.start_soon(timed, client, round_)
            latencies.samples += round_
            one_round = Series("round", "ms", round_)
            p50.samples.append(one_round.percentile(50))
            p95.samples.append(one_round.percentile(95))
    total = runs * CLIENTS
    note = f"{len(errors)} errors in {total} delegates" + (f" (first: {errors[0]})" if errors else "")
    extra = {"latencies_ms": latencies.samples, "errors": errors, "concurrency": CLIENTS}
    return [
        Row(f"{CLIENTS} concurrent delegates (HTTP), p50", p50, alone, note=note, extra=extra),
        Row(f"{CLIENTS} concurrent delegates (HTTP), p95", p95, alone),
    ]
