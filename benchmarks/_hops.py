"""What echelon's levels cost, each against what it stands for, sampled in turn (``_measure.interleave``).

- readiness: spawn -> tools/list of the orchestrator vs a bare MCP server (and the peer, when given);
- cold first delegation vs spawning the servers it needs one by one, and which processes it started;
- a warm delegate (three levels) vs three raw round trips to the worker, and the CPU each level spends on it;
- four independent 1 s phases in one delegate vs one raw 1 s call: do the phases overlap?
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from tests._runs import script

from ._measure import Row, Series, Target, interleave, record
from ._procs import (
    BARE,
    CALC,
    MANAGER,
    ORCHESTRATOR,
    PARALLEL,
    child,
    cpu_seconds,
    descendants,
    orchestrator,
    params,
    ready_seconds,
    toy_config,
)

ADD = {"request": "add 1 and 2"}
CPU_DELEGATES = 20  # per CPU sample: psutil's clock ticks are 10 ms, so per-delegate figures need a few calls


def ok(result: CallToolResult) -> dict[str, Any]:
    """A delegate's DelegationResult, after checking the run was ``ok``."""
    content = result.structured_content or {}
    if result.is_error or content.get("status") != "ok":
        raise RuntimeError(f"delegate did not succeed: {result.content}")
    return content


async def readiness(
    runs: int, others: dict[str, StdioServerParameters] | None = None
) -> tuple[Series, Series, dict[str, Series]]:
    """Seconds to the first tools/list of a bare server, the orchestrator (demo config) and each of ``others``,
    interleaved round by round."""
    bare = Series("bare MCP server", "s")
    orch = Series("orchestrator (demo config)", "s")
    series = {name: Series(name, "s") for name in others or {}}
    steps = [
        record(bare, lambda: ready_seconds(params(["-c", BARE]))),
        record(orch, lambda: ready_seconds(params(["-m", ORCHESTRATOR]))),
    ]
    for name, target in (others or {}).items():
        steps.append(record(series[name], partial(ready_seconds, target)))
    await interleave(runs, steps)
    return bare, orch, series


async def cold(runs: int, tmp: Path) -> list[Row]:
    """A fresh orchestrator's first delegate (its tool cache empty) vs readiness of the orchestrator, the manager
    and the worker, spawned one after another; and the processes the orchestrator has started by then."""
    config = toy_config(tmp / "cold.toml")
    spawned = Series("orchestrator, manager, worker ready in turn", "s")
    first = Series("spawn -> first delegate done", "s")
    needed = Series("needed: orchestrator, 1 manager, 1 worker", "processes")
    counted = Series("under the orchestrator, and itself", "processes")
    seen: list[list[str]] = []

    def fresh() -> dict[str, str]:
        return {"ECHELON_TOOL_CACHE_DIR": tempfile.mkdtemp(prefix="tools-", dir=tmp)}

    async def one_by_one() -> None:
        env = fresh()
        manager = ["-m", MANAGER, "--name", "numbers", "--config", str(config)]
        started = time.perf_counter()
        async with AsyncExitStack() as stack:
            for target in (orchestrator(config, env=env), params(manager, env), params(CALC, env)):
                await (await stack.enter_async_context(Client(target))).list_tools()
            spawned.samples.append(time.perf_counter() - started)

    async def first_delegate() -> None:
        started = time.perf_counter()
        async with Client(orchestrator(config, env=fresh())) as client:
            await client.list_tools()
            ok(await client.call_tool("delegate", ADD))
            first.samples.append(time.perf_counter() - started)
            labels = descendants(child(f"{ORCHESTRATOR} --config {config}"))
        seen.append(labels)
        counted.samples.append(1 + len(labels))
        needed.samples.append(3)

    await interleave(runs, [one_by_one, first_delegate])
    expected = Counter({MANAGER: 1, "tests._toy_servers": 1})
    unneeded = sorted({label for labels in seen for label in Counter(labels) - expected})
    processes = Row(
        "processes after the first delegate",
        counted,
        needed,
        Target(1.0),
        note="started: "
        + "; ".join(", ".join(s) for s in _distinct(seen))
        + (f"; unneeded: {', '.join(unneeded)}" if unneeded else "; nothing unneeded"),
        extra={"descendants": seen},
    )
    return [Row("cold first delegation", first, spawned, Target(1.0)), processes]


async def warm(calls: int, cpu_runs: int, tmp: Path) -> list[Row]:
    """One warm delegate vs three raw round trips to the worker (``calls`` pairs), then the CPU time each level
    spends per delegate (``cpu_runs`` samples of ``CPU_DELEGATES`` delegates; the raw worker's per call as the
    worker's baseline)."""
    config = toy_config(tmp / "warm.toml")
    raw = Series("3 raw stdio calls to the worker", "ms")
    nested = Series("1 delegate, 3 levels", "ms")
    per_call = Series("worker, per raw call", "ms")
    levels = {name: Series(f"{name}, per delegate", "ms") for name in ("orchestrator", "manager", "worker")}
    async with Client(params(CALC)) as calc, Client(orchestrator(config)) as orch:
        await calc.call_tool("add", {"a": 1, "b": 2})
        ok(await orch.call_tool("delegate", ADD))  # the manager and its worker are started
        top = child(f"{ORCHESTRATOR} --config {config}")
        manager = child(MANAGER, top)
        processes = {"orchestrator": top, "manager": manager, "worker": child("tests._toy_servers", manager)}
        raw_worker = child(" ".join(CALC[1:]))

        async def three_raw() -> float:
            started = time.perf_counter()
            for _ in range(3):
                await calc.call_tool("add", {"a": 1, "b": 2})
            return (time.perf_counter() - started) * 1000

        async def one_delegate() -> float:
            started = time.perf_counter()
            ok(await orch.call_tool("delegate", ADD))
            return (time.perf_counter() - started) * 1000

        async def raw_cpu() -> None:
            before = cpu_seconds(raw_worker)
            for _ in range(CPU_DELEGATES):
                await calc.call_tool("add", {"a": 1, "b": 2})
            per_call.samples.append((cpu_seconds(raw_worker) - before) * 1000 / CPU_DELEGATES)

        async def delegates_cpu() -> None:
            before = {name: cpu_seconds(p) for name, p in processes.items()}
            for _ in range(CPU_DELEGATES):
                ok(await orch.call_tool("delegate", ADD))
            for name, p in processes.items():
                levels[name].samples.append((cpu_seconds(p) - before[name]) * 1000 / CPU_DELEGATES)

        await interleave(calls, [record(raw, three_raw), record(nested, one_delegate)])
        await interleave(cpu_runs, [raw_cpu, delegates_cpu])
    note = f"user+system CPU over {CPU_DELEGATES} warm delegates per sample (psutil)"
    queue = "each delegate is a DBOS workflow on a queue polled every 0.05 s; its end is an event in the process (_durable.py)"
    return [
        Row("warm delegate vs 3 raw calls", nested, raw, Target(3.0), note=queue),
        Row("CPU per delegate: orchestrator", levels["orchestrator"], note=note),
        Row("CPU per delegate: manager", levels["manager"]),
        Row("CPU per delegate: worker", levels["worker"], per_call),
    ]


async def parallel(runs: int, tmp: Path) -> Row:
    """One delegate of four independent phases, each a 1 s ``wait`` on the calc worker, vs one raw 1 s call."""
    config = toy_config(tmp / "parallel.toml")
    request = {"request": script(*((f"Wait {i}", "wait", {"seconds": 1.0}) for i in range(1, 5)))}
    warmup = {"request": script(*((f"Wait {i}", "wait", {"seconds": 0.01}) for i in range(1, 5)))}
    one = Series("1 raw 1 s call", "s")
    four = Series("4 x 1 s phases, 1 delegate", "s")
    async with Client(params(CALC)) as calc, Client(orchestrator(config, PARALLEL)) as orch:
        await calc.call_tool("wait", {"seconds": 0.01})
        _phases(ok(await orch.call_tool("delegate", warmup)))

        async def raw_wait() -> float:
            started = time.perf_counter()
            await calc.call_tool("wait", {"seconds": 1.0})
            return time.perf_counter() - started

        async def four_phases() -> float:
            started = time.perf_counter()
            result = ok(await orch.call_tool("delegate", request))
            elapsed = time.perf_counter() - started
            _phases(result)
            return elapsed

        await interleave(runs, [record(one, raw_wait), record(four, four_phases)])
    return Row(
        "4 independent 1 s phases (wall)",
        four,
        one,
        Target(1.25, on="value", text="<= 1.25 s"),
        note="four phases with no depends_on; serial would be >= 4 s",
    )


def _phases(result: dict[str, Any]) -> None:
    phases = result.get("phases", [])
    if len(phases) != 4 or any(p.get("status") != "ok" for p in phases):
        raise RuntimeError(
            f"expected four ok phases, got {[(p.get('name'), p.get('status')) for p in phases]}"
        )


def _distinct(seen: list[list[str]]) -> list[list[str]]:
    return [list(s) for s in dict.fromkeys(tuple(s) for s in seen)]
