"""Memory of the demo hierarchy with every level started, without the local model:

    uv run python -m benchmarks.memory

It starts the demo orchestrator over stdio (scripted model, so no model server), then each demo manager as the
orchestrator would and has it start all its workers (``list_workers``), and reads each process's RSS, PSS and USS
(``psutil``). RSS counts pages shared between processes (the Python binary, its shared libraries) once per process;
PSS splits them among the processes that share them, so the PSS column adds up to what the hierarchy really holds.
A baseline process that only imports the MCP SDK's server (``mcp.server.mcpserver``) is measured in the same run:
it is the floor of any Python MCP server. The math worker's forkserver starts at its first calculation, so it is
measured after one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import psutil
from mcp import Client, StdioServerParameters

from echelon.examples import demo_config_path
from echelon.servers.core.config import load_config
from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import mcp.server.mcpserver, sys; sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"


def _env() -> dict[str, str]:
    return inherited_env(OWN_ENV_PREFIXES) | {
        "PYTHONPATH": str(ROOT),
        "ECHELON_MODEL": "python:benchmarks._scripted:build",
    }


def _row(level: str, process: psutil.Process) -> tuple[str, str, float, float, float]:
    info = process.memory_full_info()
    args = [a for a in process.cmdline()[1:] if not a.startswith("/")][:3]
    return level, " ".join(args)[:48], info.rss / 1e6, info.pss / 1e6, info.uss / 1e6


def _tree(match: str) -> list[psutil.Process]:
    found = [p for p in psutil.Process().children() if match in " ".join(p.cmdline())]
    return [q for p in found for q in (p, *p.children(recursive=True))]


async def _floor() -> tuple[str, str, float, float, float]:
    process = await anyio.open_process([sys.executable, "-c", FLOOR])
    assert process.stdout is not None
    await process.stdout.receive()
    row = _row("floor", psutil.Process(process.pid))
    process.terminate()
    await process.wait()
    return row


async def measure() -> list[tuple[str, str, float, float, float]]:
    config_path = demo_config_path()
    config = load_config(config_path)
    rows = [await _floor()]
    orchestrator = StdioServerParameters(
        command=sys.executable, args=["-m", "echelon.servers.orchestrator"], env=_env(), cwd=ROOT
    )
    async with Client(orchestrator) as client:
        await client.call_tool("list_managers", {})
        await client.call_tool("list_runs", {})  # the run database (DBOS) is started
        rows += [_row("orchestrator", p) for p in _tree("echelon.servers.orchestrator")]
    for key, manager in config.managers.items():
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "echelon.servers.managers", "--name", key, "--config", str(config_path)],
            env=_env() | {"ECHELON_TOOL_CACHE_DIR": "off"},  # list every worker live: all of them start
            cwd=ROOT,
        )
        async with Client(params) as client:
            await client.call_tool("list_workers", {})
            if "math" in manager.workers:
                await client.call_tool("execute_phase", _math_phase())
            rows += [_row(f"manager {key}", p) for p in _tree("echelon.servers.managers")]
    return rows


def _math_phase() -> dict[str, object]:
    step = {
        "name": "Sum",
        "worker": "math",
        "goals": "2+2",
        "tool": "evaluate",
        "arguments": {"expression": "2+2"},
    }
    phase = {"name": "Sum", "worker": "data", "goals": "2+2", "steps": [{**step, "pinned": True}]}
    return {"phase": {**phase, "synthesis": False}}


def main() -> None:
    rows = anyio.run(measure)
    floor, processes = rows[0], rows[1:]
    print(f"{'level':22s} {'process':48s} {'RSS MB':>8s} {'PSS MB':>8s} {'USS MB':>8s}")
    for level, args, rss, pss, uss in rows:
        print(f"{level:22s} {args:48s} {rss:8.1f} {pss:8.1f} {uss:8.1f}")
    total_rss = sum(r[2] for r in processes)
    total_pss = sum(r[3] for r in processes)
    print(f"{'total':22s} {len(processes):>2d} processes{'':36s} {total_rss:8.1f} {total_pss:8.1f}")
    print(
        f"floor: {len(processes)} processes x {floor[2]:.1f} MB RSS ({floor[3]:.1f} PSS) for importing the MCP "
        f"server SDK alone = {len(processes) * floor[2]:.0f} MB RSS; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
