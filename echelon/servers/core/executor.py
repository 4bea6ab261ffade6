"""The plan executor: the one place where plans run, at both levels (phases in the orchestrator, steps in managers).

Nodes whose ``depends_on`` are met run concurrently; each receives the results of the nodes it depends on. A node
that raises becomes a failed result (the others keep their work); a node whose dependency failed is skipped with a
result that says why; results already known (a resumed run) are never recomputed. Cancelling the caller cancels
every running node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import anyio

from .budget import BudgetExhausted
from .envelope import ErrorInfo, ErrorKind, Result
from .plan import PlanNode

logger = logging.getLogger(__name__)

N = TypeVar("N", bound=PlanNode)
R = TypeVar("R")
E = TypeVar("E", bound=Result)

EventKind = Literal["started", "finished", "failed", "skipped"]


@dataclass(frozen=True)
class NodeEvent:
    """Progress of one node, for progress notifications and journals."""

    kind: EventKind
    node: str
    done: int
    total: int


@dataclass
class DagCallbacks(Generic[N, R]):
    """How the executor turns a node into a result, and what a failure or a skip looks like."""

    run: Callable[[N, Mapping[str, R]], Awaitable[R]]
    on_error: Callable[[N, Exception], R]
    on_skip: Callable[[N, list[str]], R]
    failed: Callable[[R], bool]
    on_event: Callable[[NodeEvent], Awaitable[None]] | None = None
    on_result: Callable[[N, R], Awaitable[None]] | None = None


def envelope_callbacks(
    run: Callable[[N, Mapping[str, E]], Awaitable[E]],
    failed_result: Callable[[N, str, ErrorInfo], E],
    *,
    where: str,
    on_event: Callable[[NodeEvent], Awaitable[None]] | None = None,
) -> DagCallbacks[N, E]:
    """Callbacks for nodes whose results are envelopes (both levels): an exception or a failed dependency becomes
    a failed result made by ``failed_result(node, output, error)``."""

    def on_error(node: N, exc: Exception) -> E:
        message = f"{type(exc).__name__}: {exc}"
        kind: ErrorKind = "error"
        if isinstance(exc, TimeoutError):
            kind = "timeout"
        elif isinstance(exc, BudgetExhausted):
            kind = "budget"
        return failed_result(
            node,
            f"{node.name!r} could not be carried out: {message}",
            ErrorInfo(where=f"{where}.{node.name}", message=message, kind=kind),
        )

    def on_skip(node: N, failed: list[str]) -> E:
        error = ErrorInfo(where=f"{where}.{node.name}", message="dependency failed", kind="skipped")
        return failed_result(node, f"Skipped: it needs {', '.join(failed)}, which failed.", error)

    return DagCallbacks(
        run=run, on_error=on_error, on_skip=on_skip, failed=lambda r: r.status == "failed", on_event=on_event
    )


async def run_dag(
    nodes: Sequence[N],
    callbacks: DagCallbacks[N, R],
    *,
    completed: Mapping[str, R] | None = None,
    max_concurrency: int = 8,
    deadline: float | None = None,
) -> dict[str, R]:
    """Run a validated DAG of nodes; return every node's result by name, in plan order. A node still running at
    ``deadline`` (Unix time) is stopped and fails with a ``TimeoutError``; the others keep their results."""
    results: dict[str, R] = {
        name: r for name, r in (completed or {}).items() if any(n.name == name for n in nodes)
    }
    pending = [n for n in nodes if n.name not in results]
    running: set[str] = set()
    total = len(nodes)
    limiter = anyio.CapacityLimiter(max_concurrency)
    changed = anyio.Event()

    async def emit(kind: EventKind, node: N) -> None:
        if callbacks.on_event is not None:
            await callbacks.on_event(NodeEvent(kind, node.name, len(results), total))

    async def finish(node: N, result: R) -> None:
        nonlocal changed
        results[node.name] = result
        running.discard(node.name)
        if callbacks.on_result is not None:
            await callbacks.on_result(node, result)
        await emit("failed" if callbacks.failed(result) else "finished", node)
        changed.set()

    async def run_one(node: N) -> None:
        inputs = {dep: results[dep] for dep in node.depends_on}
        async with limiter:
            await emit("started", node)
            try:
                with anyio.fail_after(None if deadline is None else max(deadline - time.time(), 0.0)):
                    result = await callbacks.run(node, inputs)
            except TimeoutError:
                result = callbacks.on_error(node, TimeoutError("it was still running at the deadline"))
            except BudgetExhausted as exc:
                result = callbacks.on_error(node, exc)
            except Exception as exc:
                logger.exception("%s failed", node.name)
                result = callbacks.on_error(node, exc)
        await finish(node, result)

    async with anyio.create_task_group() as tg:
        while pending or running:
            progressed = False
            for node in list(pending):
                deps = node.depends_on
                if not all(d in results for d in deps):
                    continue
                pending.remove(node)
                progressed = True
                failed_deps = [d for d in deps if callbacks.failed(results[d])]
                if failed_deps:
                    result = callbacks.on_skip(node, failed_deps)
                    results[node.name] = result
                    if callbacks.on_result is not None:
                        await callbacks.on_result(node, result)
                    await emit("skipped", node)
                    continue
                running.add(node.name)
                tg.start_soon(run_one, node, name=f"node:{node.name}")
            if progressed:
                continue
            if not running:
                # Only possible for a graph that was not validated: dependencies that never complete.
                stuck = ", ".join(n.name for n in pending)
                raise ValueError(f"plan cannot proceed: {stuck} wait for nodes that never run")
            await changed.wait()
            changed = anyio.Event()
    return {n.name: results[n.name] for n in nodes}
