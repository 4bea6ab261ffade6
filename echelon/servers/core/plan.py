"""Plan models: the phase/step DAG that planners emit and workflow files store.

A phase (orchestrator level) and a step (manager level) share one node shape, ``{name, worker, goals, notes,
depends_on}``; ``depends_on`` makes the plan a DAG. Validation here checks the graph itself (unique names, known
dependencies, no cycles); whether ``worker`` names something real is checked by the level that knows its workers.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator, model_validator

from .envelope import AnswerPart


class PlanNode(BaseModel):
    """A phase or a step: what to achieve, who does it, and what it waits for."""

    name: str = Field(min_length=1, description="Short unique name")
    # Before ``worker``: a model writing the fields in order states what is to be done before it chooses who does
    # it, so the choice can follow the goal rather than the goal being fitted to a choice already made.
    goals: str = Field(min_length=1, description="What this node must achieve")
    worker: str = Field(
        min_length=1, description="The manager (for a phase) or worker (for a step) that does it"
    )
    notes: str = Field(default="", description="Hints and constraints")
    depends_on: list[str] = Field(default_factory=list, description="Names of nodes whose results it needs")

    @field_validator("name", "worker")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


N = TypeVar("N", bound=PlanNode)


PlannerName = Literal["StrategicDecomposerPlanner", "WorkerRouterPlanner", "ToolLoopPlanner"]
PLANNER_ALIASES: dict[str, PlannerName] = {
    "strategicdecomposerplanner": "StrategicDecomposerPlanner",
    "decomposer": "StrategicDecomposerPlanner",
    "workerrouterplanner": "WorkerRouterPlanner",
    "router": "WorkerRouterPlanner",
    "toolloopplanner": "ToolLoopPlanner",
    "toolloop": "ToolLoopPlanner",
}


def planner_name(value: Any) -> Any:
    """A planner name as written in a config or workflow file ('router', 'WorkerRouterPlanner', ...)."""
    if isinstance(value, str):
        return PLANNER_ALIASES.get(value.lower().replace("_", "").replace("-", ""), value)
    return value


class Step(PlanNode):
    """A manager step. Where the right call is obvious, the planner may name it; otherwise a tool loop decides."""

    tool: str | None = Field(default=None, description="Optional: the one tool to call")
    arguments: dict[str, Any] | None = Field(default=None, description="Arguments for that tool")
    pinned: bool = Field(
        default=False,
        description="A workflow's step: make exactly this call; if it fails, no model tries instead",
    )


class PhaseSpec(PlanNode):
    """A phase as a manager receives it: a plan's node, or a workflow's, which may pin its steps (run as they are,
    without the manager's planner), pin the planner, or ask for no synthesis (the tools' results are the answer)."""

    steps: list[Step] | None = Field(default=None, description="Pinned steps, run in this order")
    planner: PlannerName | None = Field(default=None, description="The manager's planner for this phase")
    synthesis: bool = Field(
        default=True, description="False: the phase's answer is its tools' results as they are"
    )

    @field_validator("planner", mode="before")
    @classmethod
    def _planner_alias(cls, value: Any) -> Any:
        return planner_name(value)


def check_dag(nodes: list[PlanNode], *, kind: str) -> None:
    """Raise ValueError naming the problem when node names repeat, a dependency is unknown, or there is a cycle."""
    names = [n.name for n in nodes]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {kind}s are named {name!r}; names must be unique")
        seen.add(name)
    for node in nodes:
        for dep in node.depends_on:
            if dep not in seen:
                raise ValueError(
                    f"{kind} {node.name!r} depends on {dep!r}, which is not a {kind} of this plan "
                    f"(the {kind}s are: {', '.join(names)})"
                )
            if dep == node.name:
                raise ValueError(f"{kind} {node.name!r} depends on itself")
    order = topological_order(nodes)
    if len(order) != len(nodes):
        stuck = sorted(set(names) - {n.name for n in order})
        raise ValueError(f"the {kind}s {', '.join(stuck)} depend on each other in a cycle")


def topological_order(nodes: list[N]) -> list[N]:
    """Nodes in an order where every node follows its dependencies; nodes in a cycle are left out."""
    by_name = {n.name: n for n in nodes}
    done: set[str] = set()
    order: list[N] = []
    progress = True
    while progress:
        progress = False
        for node in nodes:
            if node.name not in done and all(d in done or d not in by_name for d in node.depends_on):
                done.add(node.name)
                order.append(node)
                progress = True
    return order


class Plan(BaseModel):
    """The orchestrator's plan: what the request asks the answer to state, and phases routed to managers."""

    asks_for: list[AnswerPart] = Field(
        default_factory=list,
        description="What the request asks the answer to state: a figure, a name (which one), a file",
    )
    phases: list[PlanNode] = Field(min_length=1)
    primary_worker: str = Field(description="The manager whose answer matters most")
    rationale: str = ""

    @model_validator(mode="after")
    def _valid_graph(self) -> Plan:
        check_dag(list(self.phases), kind="phase")
        return self


class StepPlan(BaseModel):
    """A manager's plan for one phase: steps over its workers."""

    steps: list[Step] = Field(min_length=1)
    rationale: str = ""

    @model_validator(mode="after")
    def _valid_graph(self) -> StepPlan:
        check_dag(list(self.steps), kind="step")
        return self


class PlanDocument(BaseModel):
    """The JSON document planners emit and workflow files store: ``{"plan": {...}}``."""

    plan: Plan


class StepPlanDocument(BaseModel):
    """A manager planner's JSON document: ``{"plan": {"steps": [...]}}``."""

    plan: StepPlan
