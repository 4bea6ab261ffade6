from collections.abc import Mapping

import anyio
import pytest

from echelon.servers.core.executor import DagCallbacks, NodeEvent, run_dag
from echelon.servers.core.plan import PlanNode

pytestmark = pytest.mark.anyio


def node(name: str, *deps: str) -> PlanNode:
    return PlanNode(name=name, worker="w", goals=name, depends_on=list(deps))


def callbacks(run, events: list[NodeEvent] | None = None) -> DagCallbacks[PlanNode, str]:
    async def on_event(event: NodeEvent) -> None:
        if events is not None:
            events.append(event)

    return DagCallbacks(
        run=run,
        on_error=lambda n, exc: f"FAILED {n.name}: {exc}",
        on_skip=lambda n, failed: f"SKIPPED {n.name} (needs {','.join(failed)})",
        failed=lambda r: r.startswith(("FAILED", "SKIPPED")),
        on_event=on_event,
    )


async def test_independent_nodes_run_concurrently() -> None:
    a_started, b_started = anyio.Event(), anyio.Event()

    async def run(n: PlanNode, inputs: Mapping[str, str]) -> str:
        # Each waits for the other to have started: only possible if both run at once.
        (a_started if n.name == "A" else b_started).set()
        await (b_started if n.name == "A" else a_started).wait()
        return n.name

    with anyio.fail_after(5):
        results = await run_dag([node("A"), node("B")], callbacks(run))
    assert results == {"A": "A", "B": "B"}


async def test_dependent_node_receives_the_results_of_its_dependencies() -> None:
    seen: dict[str, dict[str, str]] = {}

    async def run(n: PlanNode, inputs: Mapping[str, str]) -> str:
        seen[n.name] = dict(inputs)
        return f"{n.name}({'+'.join(inputs.values())})"

    results = await run_dag([node("A"), node("B"), node("C", "A", "B")], callbacks(run))
    assert seen["C"] == {"A": "A()", "B": "B()"}
    assert results["C"] == "C(A()+B())"


async def test_a_failing_node_is_kept_as_a_result_and_its_dependents_are_skipped() -> None:
    async def run(n: PlanNode, inputs: Mapping[str, str]) -> str:
        if n.name == "B":
            raise RuntimeError("disk full")
        return n.name

    events: list[NodeEvent] = []
    results = await run_dag([node("A"), node("B"), node("C", "B"), node("D", "A")], callbacks(run, events))
    assert results == {"A": "A", "B": "FAILED B: disk full", "C": "SKIPPED C (needs B)", "D": "D"}
    assert ("skipped", "C") in {(e.kind, e.node) for e in events}
    assert ("failed", "B") in {(e.kind, e.node) for e in events}


async def test_completed_results_are_not_recomputed() -> None:
    ran: list[str] = []

    async def run(n: PlanNode, inputs: Mapping[str, str]) -> str:
        ran.append(n.name)
        return f"new {n.name} from {inputs}"

    results = await run_dag([node("A"), node("B", "A")], callbacks(run), completed={"A": "old A"})
    assert ran == ["B"]
    assert results["A"] == "old A"
    assert "old A" in results["B"]


async def test_cancelling_the_caller_cancels_every_running_node() -> None:
    cancelled: list[str] = []
    started = 0
    both = anyio.Event()

    async def run(n: PlanNode, inputs: Mapping[str, str]) -> str:
        nonlocal started
        started += 1
        if started == 2:
            both.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.append(n.name)
            raise
        return n.name

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def go() -> None:
                await run_dag([node("A"), node("B")], callbacks(run))

            tg.start_soon(go)
            await both.wait()
            tg.cancel_scope.cancel()
    assert sorted(cancelled) == ["A", "B"]
