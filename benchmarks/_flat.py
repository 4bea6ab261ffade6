"""The flat agent the hierarchy is measured against: one model holding every demo worker's tools.

The same worker commands, arguments and tool allow-lists as the hierarchy file, the core ``run_tool_loop`` with
the policies a manager uses by default, a short neutral system prompt, and a manager step's limits except for
more tool calls (several-step questions need them). It runs in the benchmark's process, which opens the pool.
"""

from __future__ import annotations

import time
import traceback
from datetime import date

import anyio

from echelon.servers.core.budget import Budget
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.catalog import discover
from echelon.servers.core.config import HierarchyConfig, ManagerConfig
from echelon.servers.core.llm import resolve_model
from echelon.servers.core.loop import run_tool_loop
from echelon.servers.core.policies import RunState, build_policies
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.core.toolset import WorkerToolset

from ._runs import SystemRun

MAX_TOOL_CALLS = 8
# What a manager is given when its file says nothing: its policies and its longest worker call.
MANAGER_DEFAULTS = ManagerConfig(description="defaults", workers=["any"])
WORKER_ENV = ("ECHELON_", "XDG_")  # what a manager passes to the workers it starts
SYSTEM = """You are an assistant with the tools of these servers:
{servers}

Use the tools to answer the user's request, and answer from their results: never invent figures, names or files. \
If the tools hold no answer, say so. Today's date is {today}."""


def system_prompt(config: HierarchyConfig, instructions: dict[str, str], today: date) -> str:
    """The flat agent's system prompt: what it is and which servers it has, with each server's own instructions
    (a manager's step sees its worker's the same way)."""
    lines = [f"- {name}: {config.workers[name].description}" for name in instructions]
    text = SYSTEM.format(servers="\n".join(lines), today=today.isoformat())
    extra = [f"How to use {name} (from its own instructions): {i}" for name, i in instructions.items() if i]
    return "\n\n".join([text, *extra])


def flat_workers(config: HierarchyConfig) -> list[str]:
    """Every worker a manager of ``config`` uses, in the order the managers name them."""
    return list(dict.fromkeys(w for m in config.managers.values() for w in m.workers))


async def run_flat(
    request: str,
    *,
    model_name: str,
    config: HierarchyConfig,
    deadline: float,
    max_tool_calls: int = MAX_TOOL_CALLS,
) -> SystemRun:
    """Answer ``request`` with one tool loop over every worker's tools; a crash or a run past ``deadline``
    seconds is reported in the result, never raised."""
    started, clock = time.time(), time.perf_counter()
    run = SystemRun(system="flat", status="crashed", started_at=started)
    try:
        with anyio.fail_after(deadline):
            await _answer(request, run, model_name, config, deadline, max_tool_calls)
    except TimeoutError:
        run.status, run.error = "timeout", f"no answer within {deadline:.0f} s"
    except Exception as exc:  # a crash of one question must not end the benchmark
        run.status = "crashed"
        run.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
    run.wall_seconds = time.perf_counter() - clock
    return run


async def _answer(
    request: str,
    run: SystemRun,
    model_name: str,
    config: HierarchyConfig,
    deadline: float,
    max_tool_calls: int,
) -> None:
    names = flat_workers(config)
    targets: dict[str, Target] = {name: config.workers[name] for name in names}
    descriptions = {name: config.workers[name].description for name in names}
    allowed = {name: tools for name in names if (tools := config.workers[name].tools) is not None}
    budget = Budget.start(config.limits.merged({"deadline_seconds": deadline}))
    model = resolve_model(model_name, role="manager", settings=config.models)
    try:
        async with ConnectionPool(targets, env_prefixes=WORKER_ENV) as pool:
            infos = await discover(pool, descriptions, allowed)
            run.errors += [f"{i.name}: {i.error}" for i in infos.values() if i.error]
            workers = [i for i in infos.values() if not i.error]
            step_timeout = MANAGER_DEFAULTS.step_timeout_seconds
            toolset = WorkerToolset(
                workers,
                ToolCaller(pool, call_timeout=step_timeout),
                budget,
                manager="flat",
                step="answer",
                step_timeout=step_timeout,
            )
            system = system_prompt(config, {i.name: i.instructions for i in workers}, date.today())
            outcome = await run_tool_loop(
                budget.model(model),
                system=system,
                prompt=request,
                toolset=toolset,
                policies=build_policies(MANAGER_DEFAULTS.policies),
                state=RunState(given=request),
                max_tool_calls=max_tool_calls,
                where="flat",
            )
    finally:
        await model.aclose()
    run.answer = outcome.answer
    run.artifacts = [a.path for a in outcome.artifacts]
    run.llm_calls = outcome.usage.llm_calls
    run.input_tokens = outcome.usage.input_tokens
    run.output_tokens = outcome.usage.output_tokens
    run.tool_calls = outcome.usage.tool_calls
    run.errors += [f"{e.where}: {e.message}" for e in outcome.errors]
    run.route = [
        f"{r.worker}.{r.tool}" + ("" if r.outcome == "ok" else f" ({r.outcome})") for r in outcome.records
    ]
    if outcome.stop == "answered":
        run.status = "partial" if outcome.errors else "ok"
    else:
        run.status = "failed" if outcome.stop == "no_answer" else "partial"
        run.errors.append(f"flat: the loop ended without an answer ({outcome.stop})")
