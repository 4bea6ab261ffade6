"""The doctor's checks of a config's hierarchy: every worker and manager started for real and listed."""

from __future__ import annotations

import shlex
import shutil

import anyio

from echelon.servers.core.config import HierarchyConfig, run_prepare
from echelon.servers.core.pool import OWN_ENV_PREFIXES, ConnectionFailed, ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.managers.server import WORKER_ENV

from ._doctor import Check

CONNECT_SECONDS = 120.0  # a first `uvx`/`npx` run downloads its package


async def check_hierarchy(config: HierarchyConfig) -> list[Check]:
    """Start every worker (as its managers would) and every manager (as the orchestrator would), concurrently,
    and check each worker's ``tools`` allow-list against the tools it really has."""
    workers = {n: w for n, w in config.workers.items() if not w.disabled}
    managers = {k: config.manager_target(k) for k in config.managers}
    checks: dict[str, Check] = {}
    try:  # as the orchestrator does before it serves: workers may read what it makes
        await anyio.to_thread.run_sync(run_prepare, config)
    except Exception as exc:
        fix = f"fix {config.prepare} or remove 'prepare' from {config.source}"
        return [
            Check(
                name="prepare",
                status="fail",
                detail=f"{config.prepare}: {type(exc).__name__}: {exc}",
                fix=fix,
            )
        ]
    async with (
        ConnectionPool(
            dict(workers), env_prefixes=WORKER_ENV, connect_timeout=CONNECT_SECONDS
        ) as worker_pool,
        ConnectionPool(
            managers, env_prefixes=OWN_ENV_PREFIXES, connect_timeout=CONNECT_SECONDS
        ) as manager_pool,
        anyio.create_task_group() as tg,
    ):
        for name, worker in workers.items():
            tg.start_soon(_check_worker, worker_pool, name, worker.tools, checks)
        for key in managers:
            tg.start_soon(_check_manager, manager_pool, key, checks)
    order = [f"worker {n}" for n in workers] + [f"manager {k}" for k in managers]
    return [checks[name] for name in order]


async def _check_worker(
    pool: ConnectionPool, name: str, allowed: list[str] | None, checks: dict[str, Check]
) -> None:
    label, key = f"worker {name}", f"workers.{name}"
    target = pool.targets[name]
    missing_command = _missing_command(target)
    if missing_command:
        checks[label] = Check(
            name=label,
            status="fail",
            detail=f"command {missing_command!r} not found on PATH",
            fix=f"install it, or fix {key}.command",
        )
        return
    try:
        tools = [t.name for t in await pool.list_tools(name)]
    except (ConnectionFailed, OSError) as exc:
        checks[label] = Check(name=label, status="fail", detail=str(exc), fix=_start_fix(target, key))
        return
    unknown = [t for t in allowed or [] if t not in tools]
    if unknown:
        checks[label] = Check(
            name=label,
            status="fail",
            detail=f"its tools allow-list names {', '.join(map(repr, unknown))}, which it does not have "
            f"(its tools: {', '.join(tools)})",
            fix=f"remove {', '.join(map(repr, unknown))} from {key}.tools or fix the spelling",
        )
        return
    offered = f"; offers {len(allowed)} (tools allow-list)" if allowed is not None else ""
    checks[label] = Check(name=label, status="ok", detail=f"{len(tools)} tools{offered}")


async def _check_manager(pool: ConnectionPool, key: str, checks: dict[str, Check]) -> None:
    label = f"manager {key}"
    target = pool.targets[key]
    try:
        tools = await pool.list_tools(key)
    except (ConnectionFailed, OSError) as exc:
        checks[label] = Check(
            name=label, status="fail", detail=str(exc), fix=_start_fix(target, f"managers.{key}")
        )
        return
    checks[label] = Check(
        name=label, status="ok", detail=f"{len(tools)} tools ({', '.join(t.name for t in tools)})"
    )


def _missing_command(target: Target) -> str | None:
    if target.command is None or shutil.which(target.command) is not None:
        return None
    return target.command


def _start_fix(target: Target, key: str) -> str:
    if target.command is None:
        return f"check that the server at {target.url} is running and reachable ({key}.url)"
    command = shlex.join([target.command, *target.args])
    return f"run it yourself to see the whole error: {command}; then fix {key}"
