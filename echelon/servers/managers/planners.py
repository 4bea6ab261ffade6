"""A manager's planners: phase -> steps over its workers.

``StrategicDecomposerPlanner`` splits a phase into several steps (a DAG); ``WorkerRouterPlanner`` is the cheap path:
one step with one worker and, where obvious, the one tool call. Both see the workers' live tool schemas, and a plan
naming an unknown worker or tool is sent back to the model with the error.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel

from ..core.catalog import WorkerInfo, render_catalog
from ..core.contracts import PhaseContext
from ..core.grounding import Grounding
from ..core.llm import (
    Message,
    Model,
    ModelRequest,
    Purpose,
    SendBack,
    TokenUsage,
    generate_structured,
    schema_with_choices,
)
from ..core.plan import PlanNode, Step, StepPlan, StepPlanDocument
from ..core.prompts import few_shot, load_prompt
from ._prompts import context_text

logger = logging.getLogger(__name__)


class PlannedSteps(BaseModel):
    """A planner's output and what it cost."""

    plan: StepPlan
    usage: TokenUsage


class StepPlanner(ABC):
    """Turns a phase into steps for a manager's workers."""

    prompt: ClassVar[str]
    document: ClassVar[type[BaseModel]]
    purpose: ClassVar[Purpose]

    def __init__(self, model: Model, *, manager: str, description: str, max_steps: int = 6) -> None:
        self.model = model
        self.manager = manager
        self.description = description
        self.max_steps = max_steps

    @abstractmethod
    def to_plan(self, document: BaseModel) -> StepPlan:
        """The steps a validated ``document`` (an instance of ``self.document``) describes."""

    async def plan(
        self,
        phase: PlanNode,
        context: PhaseContext,
        workers: dict[str, WorkerInfo],
        *,
        model: Model | None = None,
    ) -> PlannedSteps:
        """Plan the steps for ``phase`` (with ``model`` instead of the planner's own, e.g. a budgeted one); an
        answer naming an unknown worker or tool goes back to the model."""
        request = self._request(phase, context, workers)
        given = Grounding(request.messages[-1].content)
        document, usage = await generate_structured(
            model or self.model,
            request,
            self.document,
            validate=lambda doc: self.check_steps(self.to_plan(doc).steps, workers, given=given),
            repair=lambda raw: self.repair(raw, workers, given=given),
        )
        return PlannedSteps(plan=self.to_plan(document), usage=usage)

    def repair(self, raw: Any, workers: dict[str, WorkerInfo], *, given: Grounding) -> Any:
        """Fix known, unambiguous slips in the parsed JSON before validation: list items of a planned call that
        writes content and hold figures not in ``given`` (the phase and its context) are left out, and the step's
        notes say so."""
        for step in _step_dicts(raw):
            worker = workers.get(str(step.get("worker")))
            if worker is None or not worker.writes_content(step.get("tool")):
                continue
            if isinstance(step.get("arguments"), dict):
                step["arguments"], dropped = given.drop_missing(step["arguments"])
                if dropped:
                    logger.info(
                        "step %r: left out items with figures not given: %s", step.get("name"), dropped
                    )
                    note = f"Left out, as their figures were not given: {'; '.join(dropped)}"
                    step["notes"] = f"{step.get('notes') or ''} ({note})".strip()
        return raw

    def _request(
        self, phase: PlanNode, context: PhaseContext, workers: dict[str, WorkerInfo]
    ) -> ModelRequest:
        available = [w for w in workers.values() if not w.error]
        system = load_prompt(
            self.prompt,
            manager=self.manager,
            description=self.description,
            worker_names=", ".join(w.name for w in available),
            max_steps=self.max_steps,
        )
        user = (
            f"Workers:\n{render_catalog(workers)}\n\nPhase: {phase.name}\nGoals: {phase.goals}\n"
            f"Notes: {phase.notes}\nContext: {context_text(context, limit=2500)}"
        )
        return ModelRequest(
            system=system,
            messages=[*few_shot(self.prompt), Message(role="user", content=user)],
            output_schema=schema_with_choices(self.document, {"Step.worker": [w.name for w in available]})
            if available
            else None,
            purpose=self.purpose,
        )

    def check_steps(
        self, steps: list[Step], workers: dict[str, WorkerInfo], *, given: Grounding | None = None
    ) -> None:
        """Raise SendBack naming the first step that uses an unknown or unavailable worker or tool, or whose
        planned call writes figures that are not in ``given`` (the phase and its context)."""
        available = {name: w for name, w in workers.items() if not w.error}
        if len(steps) > self.max_steps:
            raise SendBack(f"the plan has {len(steps)} steps; at most {self.max_steps} are allowed")
        for step in steps:
            worker = available.get(step.worker)
            if worker is None:
                raise SendBack(
                    f"step {step.name!r} names worker {step.worker!r}, which is not one of your workers "
                    f"(use one of: {', '.join(available) or 'none available'})"
                )
            if step.tool is not None and worker.tool(step.tool) is None:
                raise SendBack(
                    f"step {step.name!r} names tool {step.tool!r}, which worker {step.worker!r} does not have "
                    f"(its tools: {', '.join(t.name for t in worker.tools)}); or set tool to null"
                )
            checked = step.arguments and worker.writes_content(step.tool)
            invented = given.missing(step.arguments) if given is not None and checked else []
            if invented:
                raise SendBack(
                    f"step {step.name!r}: its arguments hold figures that are not in the phase or its context: "
                    f"{', '.join(invented)}. Use only the figures given there (rounding is fine) and leave out "
                    "any figure that is not known"
                )


def _step_dicts(raw: Any) -> list[dict[str, Any]]:
    """The step objects of a planner's parsed JSON: ``{"step": {...}}`` or ``{"plan": {"steps": [...]}}``."""
    if not isinstance(raw, dict):
        return []
    if isinstance(raw.get("step"), dict):
        return [raw["step"]]
    plan = raw.get("plan")
    steps = plan.get("steps") if isinstance(plan, dict) else None
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


class StrategicDecomposerPlanner(StepPlanner):
    """Phase -> several steps over the manager's workers, as a DAG."""

    prompt = "decomposer_planner"
    document = StepPlanDocument
    purpose = "plan_steps"

    def to_plan(self, document: BaseModel) -> StepPlan:
        assert isinstance(document, StepPlanDocument)
        return document.plan

    def repair(self, raw: Any, workers: dict[str, WorkerInfo], *, given: Grounding) -> Any:
        """Drop tool and worker names from ``depends_on``: small models list the tools a step uses there. They are
        never steps, so dropping them keeps the model's meaning; any other unknown name is still sent back."""
        raw = super().repair(raw, workers, given=given)
        steps = _step_dicts(raw)
        step_names = {s.get("name") for s in steps}
        not_steps = {t.name for w in workers.values() for t in w.tools} | set(workers)
        for step in steps:
            deps = step.get("depends_on")
            if isinstance(deps, list):
                kept = [d for d in deps if d in step_names or d not in not_steps]
                if len(kept) != len(deps):
                    logger.info("step %r: dropped tool/worker names from depends_on", step.get("name"))
                    step["depends_on"] = kept
        return raw


class RoutedStep(BaseModel):
    """The router's JSON document: ``{"step": {...}}``."""

    step: Step


class WorkerRouterPlanner(StepPlanner):
    """Phase -> one step with one worker (and, where obvious, one tool call): one cheap model call."""

    prompt = "router_planner"
    document = RoutedStep
    purpose = "route_step"

    def to_plan(self, document: BaseModel) -> StepPlan:
        assert isinstance(document, RoutedStep)
        step = document.step.model_copy(update={"depends_on": []})
        return StepPlan(steps=[step], rationale="routed to one worker")


ALL_WORKERS = "*"
"""A step's worker meaning: every available worker of the manager (its tools as ``worker.tool``)."""


class ToolLoopPlanner(StepPlanner):
    """Phase -> one step over ALL the manager's workers' tools, with no planning call: the step's tool loop picks
    the worker by picking a tool, with each tool's arguments held to its schema. One model decision fewer per
    phase than routing first, which matters most where every call costs seconds (a small local model)."""

    prompt = "router_planner"  # unused: this planner asks no model
    document = RoutedStep
    purpose = "route_step"

    def to_plan(self, document: BaseModel) -> StepPlan:  # pragma: no cover - never asks a model
        raise NotImplementedError

    async def plan(
        self,
        phase: PlanNode,
        context: PhaseContext,
        workers: dict[str, WorkerInfo],
        *,
        model: Model | None = None,
    ) -> PlannedSteps:
        step = Step(name=phase.name, worker=ALL_WORKERS, goals=phase.goals, notes=phase.notes)
        return PlannedSteps(
            plan=StepPlan(steps=[step], rationale="one tool loop over every worker"), usage=TokenUsage()
        )


PLANNERS: dict[str, type[StepPlanner]] = {
    "StrategicDecomposerPlanner": StrategicDecomposerPlanner,
    "WorkerRouterPlanner": WorkerRouterPlanner,
    "ToolLoopPlanner": ToolLoopPlanner,
}
