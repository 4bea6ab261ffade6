"""Sizes, each against its floor: the context a host pays for (tools/list bytes), what a result carries, and the
memory of the demo hierarchy (``benchmarks.memory``). Sizes barely vary between runs, so one sample each is
taken unless asked otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters

from echelon.examples import demo_config_path, ensure_demo_data
from echelon.servers.core.config import load_config
from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env

from ._hops import ok
from ._measure import Row, Series, Target
from ._procs import ORCHESTRATOR, params, tools_bytes


async def worker_bytes() -> dict[str, int]:
    """Each demo worker's tools/list bytes, listed directly (every tool it serves)."""
    sizes: dict[str, int] = {}
    for name, worker in load_config(demo_config_path()).workers.items():
        assert worker.command is not None
        target = StdioServerParameters(
            command=worker.command, args=worker.args, env=inherited_env(OWN_ENV_PREFIXES)
        )
        async with Client(target) as client:
            sizes[name] = tools_bytes((await client.list_tools()).tools)
    return sizes


async def tools_list(workers: dict[str, int]) -> Row:
    """The orchestrator's tools/list vs every demo worker's together (what a flat host would load)."""
    async with Client(params(["-m", ORCHESTRATOR])) as client:
        orchestrator = tools_bytes((await client.list_tools()).tools)
    flat = Series(f"{len(workers)} demo workers, flat", "B", [float(sum(workers.values()))])
    return Row(
        "tools/list bytes",
        Series("orchestrator", "B", [float(orchestrator)]),
        flat,
        Target(0.10, text="<= 0.1x (10%)"),
        extra={"workers": workers},
    )


async def result_bytes(tmp: Path) -> Row:
    """A one-phase DelegationResult whose one call is a 5-row ``run_query`` vs that tool result's bytes."""
    database = ensure_demo_data().database
    py = json.dumps(sys.executable)
    file = tmp / "rows.toml"
    file.write_text(
        f'[orchestrator]\nsynthesis = false\n[managers.data]\ndescription = "Data"\nplanner = "router"\n'
        f'workers = ["sql"]\n[workers.sql]\ncommand = {py}\n'
        f'args = ["-m", "echelon.servers.workers.sql", "--database", {json.dumps(str(database))}]\n'
    )
    env = {"ECHELON_MODEL": "python:benchmarks._scripted:build_rows"}
    async with Client(params(["-m", ORCHESTRATOR, "--config", str(file)], env)) as client:
        result = ok(await client.call_tool("delegate", {"request": "five rows"}))
    (call,) = [c for p in result["phases"] for s in p["steps"] for c in s["calls"]]
    return Row(
        "result bytes (5-row query)",
        Series("DelegationResult", "B", [float(len(json.dumps(result)))]),
        Series("the tool's result", "B", [float(len(json.dumps(call["result"])))]),
        note="each tool result is carried once, plus the envelope around it",
    )


async def memory(runs: int) -> list[Row]:
    """Total RSS and PSS of the demo hierarchy with every level started (``benchmarks.memory.measure``) vs as many
    processes that only import the MCP server SDK (the floor)."""
    from .memory import measure

    rss = Series("demo hierarchy, total", "MB")
    pss = Series("demo hierarchy, total", "MB")
    rss_floor = Series("floor x processes", "MB")
    pss_floor = Series("floor x processes", "MB")
    counts: list[int] = []
    for _ in range(runs):
        floor, *processes = await measure()
        counts.append(len(processes))
        rss.samples.append(sum(p[2] for p in processes))
        pss.samples.append(sum(p[3] for p in processes))
        rss_floor.samples.append(len(processes) * floor[2])
        pss_floor.samples.append(len(processes) * floor[3])
    note = f"{counts[-1]} processes; floor = a process that only imports mcp.server.mcpserver"
    return [
        Row(
            "RSS of the demo hierarchy",
            rss,
            rss_floor,
            Target(600, on="value", strict=True, text="< 600 MB"),
            note,
        ),
        Row("PSS of the demo hierarchy", pss, pss_floor),
    ]
