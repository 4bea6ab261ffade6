"""Hierarchy overheads, measured (not asserted): ``uv run python -m benchmarks.hierarchy``.

1. Readiness: spawn -> initialize -> tools/list of the orchestrator vs a bare MCP server (target ratio <= 1.2).
2. Context size: bytes of the orchestrator's tools/list vs every demo worker's tools/list together (target <= 10%).
3. Warm delegation overhead: one delegate through three levels of stdio processes with scripted models, vs three
   raw stdio round trips to a worker (target <= 3x).
4. Result size: bytes of a one-phase DelegationResult whose one call is a 5-row run_query, vs the tool result's
   bytes (each tool result carried once: the result holds it once plus the envelope around it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from echelon.examples import demo_config_path
from echelon.servers.core.config import load_config
from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env

ROOT = Path(__file__).resolve().parents[1]
BARE = "from mcp.server.mcpserver import MCPServer\ns = MCPServer('bare')\n@s.tool()\ndef ping() -> str:\n    '''ping'''\n    return 'pong'\ns.run()"


def _params(args: list[str], env: dict[str, str] | None = None) -> StdioServerParameters:
    base = inherited_env(OWN_ENV_PREFIXES) | {"PYTHONPATH": str(ROOT)}
    return StdioServerParameters(command=sys.executable, args=args, env=base | (env or {}), cwd=ROOT)


async def _ready_seconds(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - started
    return elapsed


async def readiness(runs: int) -> tuple[float, float]:
    bare, orch = [], []
    for _ in range(runs):  # interleaved, so machine noise hits both alike
        bare.append(await _ready_seconds(_params(["-c", BARE])))
        orch.append(await _ready_seconds(_params(["-m", "echelon.servers.orchestrator"])))
    return statistics.median(bare), statistics.median(orch)


async def tools_bytes() -> tuple[int, int]:
    async with Client(_params(["-m", "echelon.servers.orchestrator"])) as client:
        orchestrator = len(json.dumps([t.model_dump(mode="json") for t in (await client.list_tools()).tools]))
    config = load_config(demo_config_path())
    total = 0
    for worker in config.workers.values():
        assert worker.command is not None
        params = StdioServerParameters(
            command=worker.command, args=worker.args, env=inherited_env(OWN_ENV_PREFIXES)
        )
        async with Client(params) as client:
            total += len(json.dumps([t.model_dump(mode="json") for t in (await client.list_tools()).tools]))
    return orchestrator, total


def _toy_config(tmp: Path) -> Path:
    py = json.dumps(sys.executable)
    file = tmp / "bench.toml"
    file.write_text(
        f'[orchestrator]\nsynthesis = false\n[managers.numbers]\ndescription = "Arithmetic"\nplanner = "router"\n'
        f'workers = ["calc"]\n[workers.calc]\ncommand = {py}\nargs = ["-m", "tests._toy_servers", "calc"]\n'
        f"cwd = {json.dumps(str(ROOT))}\n"
    )
    return file


async def delegation_overhead(calls: int, tmp: Path) -> tuple[float, float]:
    raw: list[float] = []
    async with Client(_params(["-m", "tests._toy_servers", "calc"])) as client:
        await client.call_tool("add", {"a": 1, "b": 2})
        for _ in range(calls):
            started = time.perf_counter()
            for _ in range(3):
                await client.call_tool("add", {"a": 1, "b": 2})
            raw.append(time.perf_counter() - started)
    env = {"ECHELON_MODEL": "python:benchmarks._scripted:build"}
    nested: list[float] = []
    params = _params(["-m", "echelon.servers.orchestrator", "--config", str(_toy_config(tmp))], env)
    async with Client(params) as client:
        await client.call_tool("delegate", {"request": "add 1 and 2"})  # warm: managers and workers started
        for _ in range(calls):
            started = time.perf_counter()
            result = await client.call_tool("delegate", {"request": "add 1 and 2"})
            nested.append(time.perf_counter() - started)
            assert not result.is_error and (result.structured_content or {}).get("status") == "ok", result
    return statistics.median(raw), statistics.median(nested)


async def result_bytes(tmp: Path) -> tuple[int, int]:
    """(bytes of the tool's structured result, bytes of the DelegationResult that carries it)."""
    from echelon.examples import ensure_demo_data

    database = ensure_demo_data().database
    py = json.dumps(sys.executable)
    file = tmp / "rows.toml"
    file.write_text(
        f'[orchestrator]\nsynthesis = false\n[managers.data]\ndescription = "Data"\nplanner = "router"\n'
        f'workers = ["sql"]\n[workers.sql]\ncommand = {py}\n'
        f'args = ["-m", "echelon.servers.workers.sql", "--database", {json.dumps(str(database))}]\n'
    )
    env = {"ECHELON_MODEL": "python:benchmarks._scripted:build_rows"}
    async with Client(_params(["-m", "echelon.servers.orchestrator", "--config", str(file)], env)) as client:
        answer = await client.call_tool("delegate", {"request": "five rows"})
    result = answer.structured_content or {}
    assert result.get("status") == "ok", result
    (call,) = [c for p in result["phases"] for s in p["steps"] for c in s["calls"]]
    return len(json.dumps(call["result"])), len(json.dumps(result))


async def main_async(runs: int, calls: int) -> None:
    import tempfile

    rows: list[tuple[str, str, str, str, str]] = []
    bare, orch = await readiness(runs)
    rows.append(
        (
            "readiness (spawn->tools/list)",
            f"{bare * 1000:.0f} ms bare",
            f"{orch * 1000:.0f} ms",
            f"{orch / bare:.2f}",
            "<= 1.2",
        )
    )
    orch_bytes, flat = await tools_bytes()
    rows.append(("tools/list bytes", f"{flat} flat", f"{orch_bytes}", f"{orch_bytes / flat:.1%}", "<= 10%"))
    with tempfile.TemporaryDirectory() as tmp:
        raw, nested = await delegation_overhead(calls, Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        tool_bytes, carried = await result_bytes(Path(tmp))
    rows.append(
        ("result bytes (5-row query)", f"{tool_bytes} tool", f"{carried}", f"{carried / tool_bytes:.1f}x", "")
    )
    rows.append(
        (
            "warm delegate vs 3 raw calls",
            f"{raw * 1000:.1f} ms raw",
            f"{nested * 1000:.1f} ms",
            f"{nested / raw:.2f}x",
            "<= 3x",
        )
    )
    widths = [
        max(len(r[i]) for r in [("measure", "baseline", "echelon", "ratio", "target"), *rows])
        for i in range(5)
    ]
    for row in [("measure", "baseline", "echelon", "ratio", "target"), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(
        f"(medians; readiness over {runs} interleaved spawns, delegation over {calls} calls; {os.cpu_count()} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    anyio.run(main_async, args.runs, args.calls)


if __name__ == "__main__":
    main()
