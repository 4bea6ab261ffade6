"""Run one of our server modules as a real subprocess, over stdio or Streamable HTTP, for end-to-end tests.

    async with http_server(["-m", "echelon.servers.workers.math"]) as url:
        async with Client(url) as client: ...

    async with Client(stdio_params(["-m", "echelon.servers.workers.math"])) as client: ...

The HTTP helper picks a free port, waits until the server accepts connections, and always stops the process.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import anyio
from anyio.abc import Process
from mcp import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
ORCHESTRATOR_TOOLS = {
    "delegate",
    "plan",
    "list_managers",
    "run_status",
    "run_result",
    "cancel_run",
    "list_runs",
    "resume_run",
    "check_workflow",
    "run_workflow",
}
# The demo config offers each example workflow as a tool of its own (echelon/examples/workflows).
DEMO_WORKFLOW_TOOLS = {
    "workflow_" + re.sub(r"[^A-Za-z0-9_]+", "_", p.stem).strip("_").lower()
    for p in (REPO / "echelon" / "examples" / "workflows").iterdir()
    if p.suffix in (".toml", ".json")
}


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stdio_params(args: Sequence[str], env: Mapping[str, str] | None = None) -> StdioServerParameters:
    """Parameters that start ``python <args>`` from the repository root over stdio."""
    return StdioServerParameters(
        command=sys.executable, args=list(args), env=dict(env) if env else None, cwd=str(REPO)
    )


async def stop(process: Process) -> None:
    """Stop ``process``: SIGTERM, up to 10 s to exit, then SIGKILL (call shielded from cancellation)."""
    if process.returncode is None:
        process.terminate()
        with anyio.move_on_after(10):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


async def _accepting(port: int, process: Process, log: IO[bytes]) -> None:
    while True:
        if process.returncode is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-4000:]
            raise RuntimeError(f"server exited with code {process.returncode} before listening:\n{output}")
        try:
            stream = await anyio.connect_tcp("127.0.0.1", port)
        except OSError:
            await anyio.sleep(0.05)
            continue
        await stream.aclose()
        return


@asynccontextmanager
async def http_server(
    args: Sequence[str],
    *,
    startup_timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    path: str = "/mcp",
    host: str = "127.0.0.1",
    output: list[str] | None = None,
) -> AsyncGenerator[str, None]:
    """Start ``python <args> --transport streamable-http --host <host> --port <free>``; yield its loopback URL;
    stop it afterwards.

    ``env`` adds variables to this process's environment; the server's output goes to a log file whose tail is
    shown if it exits before listening, and whose whole text is appended to ``output`` once the server stopped.
    """
    port = free_port()
    command = [
        sys.executable,
        *args,
        "--transport",
        "streamable-http",
        "--host",
        host,
        "--port",
        str(port),
    ]
    with tempfile.NamedTemporaryFile(prefix="server-", suffix=".log") as log:
        process = await anyio.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, **env} if env else None,
        )
        try:
            with anyio.fail_after(startup_timeout):
                await _accepting(port, process, log)
            yield f"http://127.0.0.1:{port}{path}"
        finally:
            with anyio.CancelScope(shield=True):
                await stop(process)
                if output is not None:
                    log.seek(0)
                    output.append(log.read().decode(errors="replace"))
