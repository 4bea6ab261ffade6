"""The orchestrator's logic: plan phases, route each to a manager over MCP, pass results along, answer.

It never calls a worker: every phase goes to a manager's ``execute_phase`` through ``ManagerClient``. One
delegation spends one ``Budget`` (checked before every model call here, handed down to every manager). A phase
whose manager fails is planned anew for the remaining work (``max_replans``); a finished phase is never lost
because another failed or hung. Transport-free; ``server.py`` exposes it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping

from pydantic import BaseModel, Field

from ..core.budget import Budget, BudgetExhausted, Limits
from ..core.calls import ToolCaller
from ..core.config import HierarchyConfig
from ..core.contracts import ManagerClient, PhaseContext, PriorResult
from ..core.envelope import AnswerPart, DelegationResult, ErrorInfo, PhaseResult, ReplanRecord, Usage
from ..core.executor import NodeEvent, envelope_callbacks, run_dag
from ..core.llm import Model, ModelError
from ..core.plan import Plan, PlanNode, Step
from ..core.policies import RunState, build_policies
from ..core.pool import ConnectionPool
from ..core.progress import SILENT, Progress
from ..core.prompts import load_prompt
from ..core.synthesis import FinalAnswer, roll_up, synthesize
from ._fit import FittedPlan, fit_plan
from ._prompts import fallback_text, grounded_answers, replan_request, synthesis_content
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

    def manager(self, key: str) -> ManagerClient:
        return ManagerClient(self.caller, key)

    async def make_plan(self, request: str, budget: Budget) -> tuple[FittedPlan, Usage]:
        """The StrategicPlanner's plan for ``request``, fitted to it (``_fit``)."""
        plan, tokens = await self.planner.plan(request, self.managers, model=budget.model(self.model))
        usage = Usage()
        usage.add_tokens(tokens, self.model.name)
        return fit_plan(plan, self.config.managers), usage

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
    ) -> DelegationResult:
        """Answer ``request`` through the hierarchy. Failures are kept in the result; finished phases are kept."""
        started = time.perf_counter()
        full = request if not context else f"{request}\n\nContext from the user: {context}"
        result = DelegationResult(request=request, run_id=run_id or uuid.uuid4().hex[:12], status="failed")
        applied = self.config.limits.merged(limits)
        budget = Budget.start(applied)
        try:
            await self._delegate(full, applied, budget, result, progress)
        finally:
            result.usage.wall_seconds = time.perf_counter() - started
        await progress.say(f"done: {result.status}")
        return result

    async def _delegate(
        self, request: str, limits: Limits, budget: Budget, result: DelegationResult, progress: Progress
    ) -> None:
        if len(request) > limits.max_request_chars:
            result.output = (
                f"The request is {len(request):,} characters long; the limit is {limits.max_request_chars:,} "
                "(max_request_chars). Shorten it, or raise the limit in [limits] or delegate(limits=...)."
            )
            result.errors.append(ErrorInfo(where="orchestrator", message=result.output, kind="request"))
            return
        try:
            async with progress.activity("planning phases"):
                fitted, plan_usage = await self.make_plan(request, budget)
        except (ModelError, BudgetExhausted) as exc:
            kind = "budget" if isinstance(exc, BudgetExhausted) else "planning"
            result.errors.append(ErrorInfo(where="orchestrator.planner", message=str(exc), kind=kind))
            result.output = f"Could not plan this request: {exc}"
            return
        result.usage.add(plan_usage)
        plan = fitted.plan
        result.plan = plan.model_dump(mode="json")
        result.primary_manager = plan.primary_worker
        if fitted.dropped:
            await progress.say(f"left out {', '.join(fitted.dropped)}: the request asks for no file")
        await progress.say(f"plan: {', '.join(f'{p.name} -> {p.worker}' for p in plan.phases)}")
        phases = await self._run_phases(request, plan.phases, fitted.expects, {}, budget, progress)
        phases = await self._replan(request, plan, phases, budget, result, progress)
        result.phases = list(phases.values())
        for phase_result in result.phases:
            result.usage.add(phase_result.usage)
            result.artifacts.extend(phase_result.artifacts)
            result.errors.extend(phase_result.errors)
        answered = await self._answer(request, plan, budget, result)
        if "file" in plan.asks_for and not result.artifacts:
            answered = False
            result.errors.append(
                ErrorInfo(
                    where="orchestrator",
                    message="the request asks for a file and none was made",
                    kind="unanswered",
                )
            )
        effective = [p for p in result.phases if not _replaced(p, result.replans)]
        result.status = roll_up([p.status for p in effective], answered=answered, errors=result.errors)

    async def _run_phases(
        self,
        request: str,
        phases: list[PlanNode],
        expects: Mapping[str, list[AnswerPart]],
        done: Mapping[str, PhaseResult],
        budget: Budget,
        progress: Progress,
    ) -> dict[str, PhaseResult]:
        """Run ``phases`` as a DAG; each gets the results it depends on (and everything in ``done``)."""
        total = len(phases)
        progress.set_total(total)
        position = {p.name: i for i, p in enumerate(phases, 1)}

        async def run_phase(phase: PlanNode, inputs: Mapping[str, PhaseResult]) -> PhaseResult:
            prior = [PriorResult.of(r) for r in [*done.values(), *inputs.values()] if r.status != "failed"]
            context = PhaseContext(request=request, expects=list(expects.get(phase.name, [])), prior=prior)
            where = progress.child(f"phase {position[phase.name]}/{total} {phase.worker}")
            return await self.manager(phase.worker).execute_phase(
                phase,
                context,
                budget=budget,
                progress=where,
                cap_seconds=self.config.orchestrator.phase_timeout_seconds,
            )

        async def on_event(event: NodeEvent) -> None:
            if event.kind != "started":
                progress.finished_one()
            await progress.say(f"phase {position[event.node]}/{total} {event.node} {event.kind}")

        callbacks = envelope_callbacks(
            run_phase,
            lambda phase, output, error: PhaseResult(
                phase=phase.name, manager=phase.worker, status="failed", output=output, errors=[error]
            ),
            where="orchestrator",
            on_event=on_event,
        )
        return await run_dag(phases, callbacks, deadline=budget.deadline)

    async def _replan(
        self,
        request: str,
        plan: Plan,
        phases: dict[str, PhaseResult],
        budget: Budget,
        result: DelegationResult,
        progress: Progress,
    ) -> dict[str, PhaseResult]:
        """Plan the remaining work anew when phases failed, at most ``max_replans`` times."""
        for _ in range(self.config.orchestrator.max_replans):
            if not any(p.status == "failed" and not _skipped(p) for p in phases.values()):
                return phases
            if budget.seconds_left <= 0 or any(e.kind == "budget" for p in phases.values() for e in p.errors):
                return phases  # a limit stopped the run: planning anew would only spend more
            done = {name: p for name, p in phases.items() if p.status != "failed"}
            failed = [p for p in phases.values() if p.status == "failed"]
            reason = "; ".join(f"{p.phase} ({p.manager}): {_why(p)}" for p in failed)
            try:
                async with progress.activity("replanning after a failed phase"):
                    fitted, usage = await self.make_plan(replan_request(request, done, failed), budget)
            except (ModelError, BudgetExhausted) as exc:
                result.errors.append(
                    ErrorInfo(where="orchestrator.replan", message=str(exc), kind="planning")
                )
                return phases
            result.usage.add(usage)
            new = _renamed(fitted.plan.phases, phases)
            result.replans.append(
                ReplanRecord(failed=[p.phase for p in failed], reason=reason, phases=[p.name for p in new])
            )
            result.errors.append(
                ErrorInfo(where="orchestrator", message=f"planned anew after {reason}", kind="replanned")
            )
            expects = {
                n.name: fitted.expects.get(o.name, []) for n, o in zip(new, fitted.plan.phases, strict=True)
            }
            again = await self._run_phases(request, new, expects, done, budget, progress)
            phases = {**phases, **again}
        return phases

    async def _answer(self, request: str, plan: Plan, budget: Budget, result: DelegationResult) -> bool:
        """Set the final answer; True when it answers (a synthesis that stood, or the only phase's met goals)."""
        effective = [p for p in result.phases if not _replaced(p, result.replans)]
        if not effective:
            return False
        primary = next((p for p in reversed(effective) if p.manager == plan.primary_worker), effective[-1])
        if not self.config.orchestrator.synthesis or len(effective) == 1:
            others = [p for p in effective if p is not primary]
            result.output = primary.output + "".join(
                f"\n\n[{p.phase} ({p.manager})]\n{p.output}" for p in others
            )
            return all(p.goal_met for p in effective)
        state = RunState(
            given="",
            records=result.calls(),
            expects=[a for a in plan.asks_for if a != "file"],
            artifacts=result.artifacts,
        )
        outcome = await synthesize(
            budget.model(self.model),
            system=load_prompt("orchestrator_synthesis"),
            content=synthesis_content(request, effective),
            evidence=grounded_answers(request, effective),
            output_type=FinalAnswer,
            policies=build_policies(self.config.orchestrator.policies),
            state=state,
            where="orchestrator.synthesis",
        )
        result.usage.add_tokens(outcome.usage, self.model.name)
        if outcome.error is not None:
            result.errors.append(outcome.error)
            result.output = fallback_text(effective)
            return False
        result.output = outcome.answer
        return all(p.goal_met for p in effective)


def _skipped(result: PhaseResult) -> bool:
    return any(e.kind == "skipped" for e in result.errors)


def _why(result: PhaseResult) -> str:
    return result.errors[-1].message if result.errors else result.output


def _replaced(result: PhaseResult, replans: list[ReplanRecord]) -> bool:
    """Whether ``result`` failed and was planned anew."""
    return any(result.phase in r.failed for r in replans)


def _renamed(phases: list[PlanNode], taken: Mapping[str, PhaseResult]) -> list[PlanNode]:
    """``phases`` under names no earlier phase of the delegation has, their dependencies renamed alike."""
    names: dict[str, str] = {}
    for phase in phases:
        name, n = phase.name, 1
        while name in taken or name in names.values():
            n += 1
            name = f"{phase.name} ({n})"
        names[phase.name] = name
    return [
        p.model_copy(update={"name": names[p.name], "depends_on": [names.get(d, d) for d in p.depends_on]})
        for p in phases
    ]
