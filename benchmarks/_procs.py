"""Processes of a measured hierarchy: how to start one over stdio, its toy config, and finding its processes.

Every server is a ``python`` child started from the repository root with this process's echelon settings
(``ECHELON_*``: the benchmark points the run database and the tool cache at its own temporary folder).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil
from mcp import Client, StdioServerParameters
from pydantic import BaseModel

from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env

ROOT = Path(__file__).resolve().parents[1]
BARE = (
    "from mcp.server.mcpserver import MCPServer\ns = MCPServer('bare')\n@s.tool()\ndef ping() -> str:\n"
    "    '''ping'''\n    return 'pong'\ns.run()"
)
ORCHESTRATOR = "echelon.servers.orchestrator"
MANAGER = "echelon.servers.managers"
CALC = ["-m", "tests._toy_servers", "calc"]
SCRIPTED = "python:benchmarks._scripted:build"
PARALLEL = "python:benchmarks._parallel_model:build"


def params(args: list[str], env: dict[str, str] | None = None) -> StdioServerParameters:
    """``python <args>`` from the repository root, with this process's echelon settings and ``env`` on top."""
    base = inherited_env(OWN_ENV_PREFIXES) | {"PYTHONPATH": str(ROOT)}
    return StdioServerParameters(command=sys.executable, args=args, env=base | (env or {}), cwd=ROOT)


def orchestrator(
    config: Path, model: str = SCRIPTED, env: dict[str, str] | None = None
) -> StdioServerParameters:
    """The orchestrator over stdio on ``config``, every level on the scripted ``model``."""
    return params(["-m", ORCHESTRATOR, "--config", str(config)], {"ECHELON_MODEL": model} | (env or {}))


def toy_config(path: Path, runs: str = "") -> Path:
    """One manager, ``numbers`` (router planner), over the toy calc worker; no synthesis. ``runs``: lines of the
    ``[runs]`` table."""
    py = json.dumps(sys.executable)
    path.write_text(
        f'[orchestrator]\nsynthesis = false\n[managers.numbers]\ndescription = "Arithmetic"\nplanner = "router"\n'
        f'workers = ["calc"]\n[workers.calc]\ncommand = {py}\nargs = ["-m", "tests._toy_servers", "calc"]\n'
        f"cwd = {json.dumps(str(ROOT))}\n" + (f"[runs]\n{runs}\n" if runs else "")
    )
    return path


async def ready_seconds(target: StdioServerParameters) -> float:
    """Seconds from spawn to the answer of the first tools/list (the client's teardown is not counted)."""
    started = time.perf_counter()
    async with Client(target) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed


def tools_bytes(tools: Sequence[BaseModel]) -> int:
    """The size of a tools/list answer's tools, as JSON."""
    return len(json.dumps([t.model_dump(mode="json") for t in tools]))


def child(match: str, parent: psutil.Process | None = None) -> psutil.Process:
    """The one child of ``parent`` (default: this process) whose command line contains ``match``."""
    found = [p for p in (parent or psutil.Process()).children() if match in " ".join(p.cmdline())]
    if len(found) != 1:
        raise RuntimeError(f"expected one child process matching {match!r}, found {len(found)}")
    return found[0]


def descendants(process: psutil.Process) -> list[str]:
    """What runs under ``process``: one short label (module or script) per descendant process."""
    labels: list[str] = []
    for p in process.children(recursive=True):
        try:
            args = p.cmdline()
        except psutil.Error:
            continue
        module = args[args.index("-m") + 1] if "-m" in args[:-1] else " ".join(args[:2])
        labels.append(module)
    return sorted(labels)


def cpu_seconds(process: psutil.Process) -> float:
    """User plus system CPU time of ``process`` itself (not its children)."""
    times = process.cpu_times()
    return times.user + times.system
