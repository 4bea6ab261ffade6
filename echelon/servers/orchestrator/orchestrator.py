"""The orchestrator's logic: plan phases, route each to a manager over MCP, pass results along, answer.

It never calls a worker: every phase goes to a manager's ``execute_phase`` through ``ManagerClient``. The steps
of a delegation (plan, phase, answer) are methods here; ``_delegation`` runs them in order, as checkpointed steps
of a durable run (``_durable``). Transport-free; ``server.py`` exposes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import anyio
from pydantic import BaseModel, Field

from ..core import telemetry
from ..core.budget import Budget, BudgetExhausted
from ..core.calls import ToolCaller
from ..core.config import HierarchyConfig
from ..core.contracts import ManagerClient, PhaseContext
from ..core.envelope import DelegationResult, ErrorInfo, PhaseResult, Usage
from ..core.llm import Model, ModelError
from ..core.nesting import level_of
from ..core.plan import PhaseSpec, Plan, PlanNode, Step
from ..core.policies import RunState, build_policies
from ..core.pool import ConnectionPool
from ..core.progress import SILENT, Progress
from ..core.prompts import load_prompt
from ..core.synthesis import FinalAnswer, synthesize
from ._checkpoints import Checkpoints, Immediate
from ._delegation import AnswerStep, Delegation, PlanStep, RunInput
from ._deliverables import asks_for_file, needs_decision
from ._fit import FittedPlan, fit_plan
from ._prompts import fallback_text, grounded_answers, synthesis_content
from .planner import PhasePlanner, StrategicPlanner


class PhasePreview(BaseModel):
    """One phase of a previewed plan and the steps its manager would run."""

    phase: PlanNode
    planner: str | None = None
    steps: list[Step] = Field(default_factory=list)
    error: str | None = None


class PlanPreview(BaseModel):
    """What ``plan`` returns: phases and, for each, the manager's steps; nothing executed."""

    request: str
    asks_for: list[str] = Field(default_factory=list)
    primary_worker: str
    rationale: str
    dropped: list[str] = Field(
        default_factory=list, description="Phases left out: the request asks for no file"
    )
    phases: list[PhasePreview]
    usage: Usage


class Orchestrator:
    """Plans phases, runs them through managers as a DAG, and answers."""

    def __init__(
        self,
        config: HierarchyConfig,
        *,
        pool: ConnectionPool,
        model: Model,
        planner: PhasePlanner | None = None,
        caller: ToolCaller | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.model = model
        self.caller = caller or ToolCaller(pool, call_timeout=config.orchestrator.phase_timeout_seconds)
        self.planner = planner or StrategicPlanner(model, max_phases=config.orchestrator.max_phases)
        self.managers = {key: m.description for key, m in config.managers.items()}
        self.level = level_of(config, "orchestrator")  # its place in a chain of nested hierarchies
        self._in_flight: dict[str, int] = {}

    def manager(self, key: str) -> ManagerClient:
        return ManagerClient(self.caller, key)

    async def make_plan(
        self, request: str, budget: Budget, *, replanning: bool = False
    ) -> tuple[FittedPlan, Usage]:
        """The StrategicPlanner's plan for ``request``, fitted to it (``_fit``); ``replanning``: ``request`` is the
        planner's account of what is done and what failed, not the user's words."""
        plan, tokens = await self.planner.plan(request, self.managers, model=budget.model(self.model))
        usage = Usage()
        usage.add_tokens(tokens, self.model.name, self.model.price)
        wants_file = None
        if self.config.orchestrator.deliverables == "question" and needs_decision(plan, self.config.managers):
            wants_file, decided = await asks_for_file(budget.model(self.model), request)
            usage.add_tokens(decided, self.model.name, self.model.price)
        return fit_plan(
            plan, self.config.managers, wants_file, request=None if replanning else request
        ), usage

    async def preview(self, request: str, limits: Mapping[str, object] | None = None) -> PlanPreview:
        """The phases and each manager's steps, nothing executed."""
        budget = Budget.start(self.config.limits.merged(limits))
        fitted, usage = await self.make_plan(request, budget)
        previews: list[PhasePreview] = []
        for phase in fitted.plan.phases:
            context = PhaseContext(request=request, expects=fitted.expects.get(phase.name, []))
            try:
                steps = await self.manager(phase.worker).plan_phase(phase, context, budget=budget)
            except RuntimeError as exc:
                previews.append(PhasePreview(phase=phase, error=str(exc)))
                continue
            usage.add(steps.usage)
            previews.append(PhasePreview(phase=phase, planner=steps.planner, steps=steps.steps))
        plan = fitted.plan
        return PlanPreview(
            request=request,
            asks_for=list(plan.asks_for),
            primary_worker=plan.primary_worker,
            rationale=plan.rationale,
            dropped=fitted.dropped,
            phases=previews,
            usage=usage,
        )

    async def delegate(
        self,
        request: str,
        context: str | None = None,
        *,
        limits: Mapping[str, object] | None = None,
        progress: Progress = SILENT,
        run_id: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> DelegationResult:
        """Answer ``request`` through the hierarchy, its steps kept by ``checkpoints`` (default: not kept).
        Failures are kept in the result; finished phases are kept."""
        run = RunInput(
            run_id=run_id or uuid.uuid4().hex[:12],
            request=request,
            context=context,
            limits=dict(limits or {}),
        )
        return await Delegation(self, run, checkpoints or Immediate(), progress)()

    # -- the steps of a delegation (``_delegation``): each returns a model the run keeps as JSON --------------

    async def plan_step(
        self, request: str, budget: Budget, progress: Progress, *, replanning: bool = False
    ) -> PlanStep:
        """Plan ``request``; a planner that gives no valid plan is an error in the step, not an exception."""
        try:
            async with progress.activity("planning phases"):
                fitted, usage = await self.make_plan(request, budget, replanning=replanning)
        except (ModelError, BudgetExhausted) as exc:
            kind = "budget" if isinstance(exc, BudgetExhausted) else "planning"
            return PlanStep(error=ErrorInfo(where="orchestrator.planner", message=str(exc), kind=kind))
        return PlanStep(plan=fitted.plan, dropped=fitted.dropped, expects=fitted.expects, usage=usage)

    async def phase_step(
        self, phase: PhaseSpec, context: PhaseContext, budget: Budget, progress: Progress
    ) -> PhaseResult:
        """One phase, carried out by its manager. A phase cancelled mid-way (the run was cancelled, or hit its
        deadline) stops its manager's process too when no other phase is using it: its workers stop with it, also
        one blocked in a thread, which no cancellation reaches. The next phase starts the manager anew."""
        key = phase.worker
        self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            with telemetry.span(
                "echelon.phase", **{"echelon.phase": phase.name, "echelon.manager": key}
            ) as current:
                result = await self.manager(key).execute_phase(
                    phase,
                    context,
                    budget=budget,
                    progress=progress,
                    cap_seconds=self.config.orchestrator.phase_timeout_seconds,
                )
                current.set_attribute("echelon.status", result.status)
                return result
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if self._in_flight[key] == 1:
                    await self.pool.restart(key)
            raise
        finally:
            self._in_flight[key] -= 1

    async def answer_step(
        self,
        request: str,
        plan: Plan,
        phases: list[PhaseResult],
        budget: Budget,
        progress: Progress,
        *,
        synthesis: bool,
    ) -> AnswerStep:
        """The final answer: the primary phase's (with the others attached), or a synthesis across phases."""
        primary = next((p for p in reversed(phases) if p.manager == plan.primary_worker), phases[-1])
        met = all(p.goal_met for p in phases)
        if not synthesis or len(phases) == 1:
            others = [p for p in phases if p is not primary]
            output = primary.output + "".join(f"\n\n[{p.phase} ({p.manager})]\n{p.output}" for p in others)
            return AnswerStep(output=output, answered=met)
        # The orchestrator makes no file itself, so its answer must state what was asked whatever files exist.
        calls = [c for p in phases for c in p.calls()]
        state = RunState(
            given="", records=calls, expects=[a for a in plan.asks_for if a != "file"], asked=request
        )
        async with progress.activity("writing the answer"):
            outcome = await synthesize(
                budget.model(self.model),
                system=load_prompt("orchestrator_synthesis"),
                content=synthesis_content(request, phases),
                evidence=grounded_answers(request, phases),
                output_type=FinalAnswer,
                policies=build_policies(self.config.orchestrator.policies),
                state=state,
                where="orchestrator.synthesis",
            )
        usage = Usage()
        usage.add_tokens(outcome.usage, self.model.name, self.model.price)
        if outcome.error is not None:
            return AnswerStep(output=fallback_text(phases), answered=False, usage=usage, error=outcome.error)
        return AnswerStep(output=outcome.answer, answered=met, usage=usage)
