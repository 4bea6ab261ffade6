"""The peer, measured in the same run: FastMCP 4.x proxying the four demo workers of ours (sql, math, docs,
slides), as a flat aggregating gateway would, run two ways (``benchmarks._fastmcp_peer``):

- ``mounted``: one proxy per worker mounted under its name; FastMCP keeps each worker's process alive;
- ``one config``: one ``create_proxy({"mcpServers": ...})``, FastMCP's documented multi-server proxy, which
  builds its composite (and starts every worker) for each request it serves.

Measured: readiness (sampled with the others, ``_hops.readiness``), the mounted proxy's tools/list bytes vs the
same workers listed directly, and a warm ``evaluate`` on the math worker through each vs straight to the worker.
FastMCP is in the ``bench`` dependency group only; without it the rows are reported as skipped.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path

from mcp import Client, StdioServerParameters

from echelon.examples import demo_config_path, ensure_demo_data
from echelon.servers.core.config import load_config
from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env

from ._measure import Row, Series, interleave, record, skipped
from ._procs import params, tools_bytes

WORKERS = ("sql", "math", "docs", "slides")
INSTALL = "uv sync --group bench, then uv run --group bench python -m benchmarks.hierarchy"
CALL = {"expression": "2**10 + 3"}
QUIET = {"FASTMCP_LOG_LEVEL": "WARNING"}  # its INFO lines would fill the benchmark's terminal


@dataclass(frozen=True)
class Peers:
    """The FastMCP proxy over stdio, both ways."""

    mounted: StdioServerParameters
    one_config: StdioServerParameters


def available() -> bool:
    return importlib.util.find_spec("fastmcp") is not None


def _worker(name: str) -> StdioServerParameters:
    entry = load_config(demo_config_path()).workers[name]
    assert entry.command is not None
    env = inherited_env(OWN_ENV_PREFIXES) | entry.env
    return StdioServerParameters(command=entry.command, args=entry.args, env=env, cwd=entry.cwd)


def peers(tmp: Path) -> Peers | None:
    """The proxies, over the demo workers (their demo data made first); None without FastMCP."""
    if not available():
        return None
    ensure_demo_data()
    servers: dict[str, dict[str, object]] = {}
    for name in WORKERS:
        worker = _worker(name)
        servers[name] = {"command": worker.command, "args": worker.args, "env": worker.env or {}}
        if worker.cwd is not None:
            servers[name]["cwd"] = str(worker.cwd)
    config = tmp / "fastmcp-peer.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    module = ["-m", "benchmarks._fastmcp_peer", str(config)]
    return Peers(mounted=params([*module, "--each"], QUIET), one_config=params(module, QUIET))


def skipped_rows() -> list[Row]:
    why = f"FastMCP not installed: {INSTALL}"
    return [skipped(m, why) for m in ("peer readiness", "peer tools/list bytes", "peer warm call")]


def readiness_rows(bare: Series, mounted: Series, one_config: Series) -> list[Row]:
    return [
        Row(
            "peer readiness, mounted",
            mounted,
            bare,
            note="FastMCP starts every worker at its first tools/list",
        ),
        Row("peer readiness, one config", one_config, bare),
    ]


async def tools_list(target: StdioServerParameters, workers: dict[str, int]) -> Row:
    """The proxy's tools/list bytes vs the same four workers' tools/list bytes together."""
    async with Client(target) as client:
        tools = (await client.list_tools()).tools
    direct = Series(f"{len(WORKERS)} workers, direct", "B", [float(sum(workers[n] for n in WORKERS))])
    return Row(
        "peer tools/list bytes",
        Series("FastMCP proxy", "B", [float(tools_bytes(tools))]),
        direct,
        note=f"{len(tools)} tools, named <worker>_<tool>",
    )


async def warm_call(calls: int, target: StdioServerParameters, measure: str) -> Row:
    """``calls`` interleaved pairs: the math worker's ``evaluate`` direct, then the same call through the proxy."""
    direct = Series("direct to the math worker", "ms")
    proxied = Series("through the FastMCP proxy", "ms")
    async with Client(_worker("math")) as worker, Client(target) as proxy:

        async def call(client: Client, name: str) -> float:
            started = time.perf_counter()
            result = await client.call_tool(name, CALL)
            elapsed = (time.perf_counter() - started) * 1000
            if result.is_error:
                raise RuntimeError(f"{name} failed: {result.content}")
            return elapsed

        await call(worker, "evaluate")  # the math worker's forkserver starts at its first calculation
        await call(proxy, "math_evaluate")
        await interleave(
            calls,
            [
                record(direct, lambda: call(worker, "evaluate")),
                record(proxied, lambda: call(proxy, "math_evaluate")),
            ],
        )
    return Row(measure, proxied, direct)
