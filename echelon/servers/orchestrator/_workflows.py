"""A workflow as a run's plan: ``for_each`` phases expanded into copies, and each phase's text and pinned calls
filled in from the inputs and the finished phases when it starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core.envelope import PhaseResult, clip
from ..core.plan import PhaseSpec, Plan, PlanNode, Step
from ..core.workflow import Workflow, WorkflowPhase
from ..core.workflow._templates import Scope, references, render


@dataclass(frozen=True)
class Node:
    """One phase to run: a workflow phase, or one ``for_each`` copy of it (with its item)."""

    name: str
    phase: WorkflowPhase
    depends_on: tuple[str, ...]
    item: Any = None
    has_item: bool = False


def expand(workflow: Workflow, inputs: Mapping[str, Any]) -> list[Node]:
    """The phases to run: each ``for_each`` phase as one copy per item, named ``NAME [item]``; a phase that
    depends on a ``for_each`` phase depends on all its copies."""
    copies: dict[str, list[str]] = {}
    nodes: list[Node] = []
    for phase in workflow.phases:
        if phase.for_each is None:
            copies[phase.name] = [phase.name]
            continue
        (ref,) = references(phase.for_each)
        items = list(inputs.get(ref.path[0]) or [])
        copies[phase.name] = [f"{phase.name} [{clip(str(item), 40)}]" for item in items]
    for phase in workflow.phases:
        deps = tuple(name for dep in phase.depends_on for name in copies.get(dep, [dep]))
        if phase.for_each is None:
            nodes.append(Node(phase.name, phase, deps))
            continue
        (ref,) = references(phase.for_each)
        for name, item in zip(copies[phase.name], list(inputs.get(ref.path[0]) or []), strict=True):
            nodes.append(Node(name, phase, deps, item=item, has_item=True))
    return nodes


def plan_of(workflow: Workflow, nodes: list[Node]) -> Plan:
    """The run's plan as a planner would have made it (for the record and the views)."""
    phases = [
        PlanNode(
            name=n.name,
            worker=n.phase.worker,
            goals=n.phase.goals,
            notes=n.phase.notes,
            depends_on=list(n.depends_on),
        )
        for n in nodes
    ]
    primary = workflow.primary_worker or phases[-1].worker
    return Plan(
        asks_for=workflow.asks_for,
        phases=phases,
        primary_worker=primary,
        rationale=workflow.rationale or workflow.description,
    )


def scope(inputs: Mapping[str, Any], done: Mapping[str, PhaseResult], nodes: list[Node], node: Node) -> Scope:
    """What ``node``'s references resolve against; a ``for_each`` phase's result is all its copies' together."""
    outputs: dict[str, str] = {}
    data: dict[str, Any] = {}
    steps: dict[str, dict[str, Any]] = {}
    by_phase: dict[str, list[PhaseResult]] = {}
    for other in nodes:
        if other.name in done:
            by_phase.setdefault(other.phase.name, []).append(done[other.name])
    for name, results in by_phase.items():
        copied = any(n.has_item for n in nodes if n.phase.name == name)
        outputs[name] = "\n\n".join(r.output for r in results) if copied else results[0].output
        data[name] = [r.data for r in results] if copied else results[0].data
        steps[name] = {s.step: s.data for s in results[0].steps} if not copied else {}
    return Scope(
        inputs=inputs, outputs=outputs, data=data, steps=steps, item=node.item, has_item=node.has_item
    )


def phase_spec(node: Node, current: Scope) -> PhaseSpec:
    """``node`` as the manager receives it, every reference filled in (UnresolvedReference if one cannot be)."""
    phase = node.phase
    steps: list[Step] | None = None
    if phase.steps is not None:
        steps = []
        for i, pinned in enumerate(phase.steps):
            name = pinned.name or (pinned.tool if len(phase.steps) == 1 else f"{pinned.tool} {i + 1}")
            steps.append(
                Step(
                    name=name,
                    worker=pinned.worker,
                    goals=f"Call {pinned.tool}",
                    tool=pinned.tool,
                    arguments=render(pinned.arguments, current),
                    pinned=True,
                    depends_on=[steps[-1].name] if steps else [],  # pinned steps run in the order written
                )
            )
    return PhaseSpec(
        name=node.name,
        worker=phase.worker,
        goals=str(render(phase.goals, current)),
        notes=str(render(phase.notes, current)),
        depends_on=list(node.depends_on),
        steps=steps,
        planner=phase.planner,
        synthesis=phase.synthesis,
    )
