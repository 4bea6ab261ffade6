"""The manager: one domain, its workers, a planner, the step runner and synthesis. Transport-free logic; the MCP
server in ``server.py`` exposes it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from ..core.budget import Budget, BudgetExhausted
from ..core.calls import ToolCaller
from ..core.catalog import WorkerInfo, discover
from ..core.config import ManagerConfig
from ..core.contracts import PhaseContext, PhasePlanPreview
from ..core.envelope import ErrorInfo, PhaseResult, StepResult, Usage
from ..core.evidence import with_data
from ..core.executor import NodeEvent, envelope_callbacks, run_dag
from ..core.llm import Model, ModelError, StructuredOutputError
from ..core.plan import PhaseSpec, PlanNode, Step, StepPlan
from ..core.policies import FigureGrounding, Policy, RunState, build_policies
from ..core.pool import ConnectionPool
from ..core.progress import SILENT, Progress
from ..core.prompts import load_prompt
from ..core.synthesis import PhaseAnswer, roll_up, synthesize
from ._lookups import Lookups, linked_values
from ._prompts import phase_text, steps_fallback_text, synthesis_content
from ._steps import StepRunner
from .planners import ALL_WORKERS, PLANNERS, StepPlanner, WorkerRouterPlanner


class Manager:
    """A domain manager: plans a phase into steps, runs them on its workers, and answers for the phase."""

    def __init__(
        self,
        key: str,
        config: ManagerConfig,
        *,
        pool: ConnectionPool,
        model: Model,
        worker_descriptions: Mapping[str, str],
        worker_tools: Mapping[str, list[str]] | None = None,
        planner: StepPlanner | None = None,
        caller: ToolCaller | None = None,
    ) -> None:
        self.key = key
        self.config = config
        self.pool = pool
        self.caller = caller or ToolCaller(pool)
        self.model = model
        self.worker_descriptions = dict(worker_descriptions)
        self.worker_tools = dict(worker_tools or {})
        self.planner = planner or PLANNERS[config.planner](
            model, manager=key, description=config.description, max_steps=config.max_steps
        )
        self._workers: dict[str, WorkerInfo] | None = None

    def planner_for(self, phase: PhaseSpec, model: Model) -> StepPlanner:
        """The configured planner, or the one the phase pins (a workflow may)."""
        if phase.planner is None or phase.planner == type(self.planner).__name__:
            return self.planner
        return PLANNERS[phase.planner](
            model, manager=self.key, description=self.config.description, max_steps=self.config.max_steps
        )

    def policies(self) -> list[Policy]:
        """Fresh policy objects for one phase, as configured."""
        return build_policies(self.config.policies)

    async def workers(self, *, refresh: bool = False) -> dict[str, WorkerInfo]:
        """Discovery: the workers' live tool schemas (started concurrently on first use)."""
        if self._workers is None or refresh or any(w.error for w in self._workers.values()):
            self._workers = await discover(self.pool, self.worker_descriptions, self.worker_tools)
        return self._workers

    async def _plan(
        self, phase: PhaseSpec, context: PhaseContext, model: Model, usage: Usage, errors: list[ErrorInfo]
    ) -> tuple[StepPlan, str] | None:
        """Plan with the configured planner; if its answers stay invalid, fall back to the router, and for a manager
        with a single available worker to one step with the phase's goals. Failed attempts are kept in ``errors``."""
        workers = await self.workers()
        unavailable = [w for w in workers.values() if w.error]
        errors.extend(
            ErrorInfo(where=f"{self.key}.{w.name}", message=w.error or "", kind="connection")
            for w in unavailable
        )
        if len(unavailable) == len(workers):  # nothing could carry out a step; a planner would only guess
            return None
        planners = [self.planner_for(phase, model)]
        if not isinstance(planners[0], WorkerRouterPlanner):
            planners.append(WorkerRouterPlanner(model, manager=self.key, description=self.config.description))
        for planner in planners:
            where = f"{self.key}.{type(planner).__name__}"
            try:
                planned = await planner.plan(phase, context, workers, model=model)
            except StructuredOutputError as exc:
                usage.add_tokens(exc.usage, self.model.name, self.model.price)
                errors.append(ErrorInfo(where=where, message=str(exc), kind="planning"))
                continue
            except ModelError as exc:  # the model itself is unreachable: the steps would need it too
                errors.append(ErrorInfo(where=where, message=str(exc), kind="planning"))
                return None
            usage.add_tokens(planned.usage, self.model.name, self.model.price)
            return planned.plan, type(planner).__name__
        available = [w.name for w in workers.values() if not w.error]
        if len(available) == 1:
            step = Step(name=phase.name, worker=available[0], goals=phase.goals, notes=phase.notes)
            return StepPlan(
                steps=[step], rationale="the phase as one step for the only worker"
            ), "single-worker"
        return None

    async def _lookups(self, phase: PhaseSpec, context: PhaseContext, budget: Budget) -> Lookups:
        """The values the request and the phase's goals name, as the workers' data stores them (``_lookups``)."""
        text = f"{context.request}\n{phase.goals}".strip()
        return await linked_values(await self.workers(), self.caller, budget, text, manager=self.key)

    async def plan_phase(self, phase: PhaseSpec, context: PhaseContext, budget: Budget) -> PhasePlanPreview:
        """The steps this manager would run for ``phase``; nothing is executed but the lookups."""
        usage, errors = Usage(), list[ErrorInfo]()
        phase = _noted(phase, (await self._lookups(phase, context, budget)).text)
        planned = await self._plan(phase, context, budget.model(self.model), usage, errors)
        if planned is None:
            raise ModelError("; ".join(e.message for e in errors) or "no plan")
        plan, planner = planned
        return PhasePlanPreview(
            manager=self.key, planner=planner, steps=plan.steps, rationale=plan.rationale, usage=usage
        )

    async def execute_phase(
        self, phase: PhaseSpec, context: PhaseContext, budget: Budget, progress: Progress = SILENT
    ) -> PhaseResult:
        """Plan (unless the phase pins its steps), run the steps as a DAG, and answer. Failures are kept in the
        result, never raised."""
        started = time.perf_counter()
        result = PhaseResult(phase=phase.name, manager=self.key, status="failed")
        model = budget.model(self.model)
        lookups = Lookups()
        try:
            if phase.steps:
                planned = StepPlan(steps=phase.steps, rationale="the workflow's pinned steps"), "pinned"
            else:
                async with progress.activity("looking up the values the request names"):
                    lookups = await self._lookups(phase, context, budget)
                result.lookups = lookups.records
                phase = _noted(phase, lookups.text)
                async with progress.activity("planning steps"):
                    planned = await self._plan(phase, context, model, result.usage, result.errors)
        except BudgetExhausted as exc:
            result.errors.append(ErrorInfo(where=f"{self.key}.planning", message=str(exc), kind="budget"))
            planned = None
        if planned is None:
            reasons = "; ".join(e.message for e in result.errors)
            result.output = f"The {self.key} manager could not plan this phase: {reasons}"
            result.missing = phase.goals
            result.status = roll_up([], answered=False, errors=result.errors)
            result.usage.wall_seconds = time.perf_counter() - started
            return result
        plan, result.planner = planned
        state = RunState(
            given="",
            expects=list(context.expects),
            asked=f"{context.request}\n{phase.goals}",
            named_values=lookups.values,
        )
        links = lookups.text
        steps = await self._run_steps(plan, phase, context, model, budget, state, progress, links)
        unfed = _unfed(steps.values())
        if unfed and not phase.steps:
            again = await self._replanned(
                phase, context, model, budget, state, progress, unfed, result, links
            )
            if again is not None:
                for dropped in steps.values():  # what the first plan's steps spent, and why they failed
                    result.usage.add(dropped.usage)
                    result.errors.extend(dropped.errors)
                plan, steps, reason = again
                result.errors.append(
                    ErrorInfo(where=self.key, message=f"planned anew: {reason}", kind="replanned")
                )
        result.steps = list(steps.values())
        for step in result.steps:
            result.usage.add(step.usage)
            result.artifacts.extend(step.artifacts)
            result.errors.extend(step.errors)
        if phase.synthesis:
            await self._answer(phase, context, plan, model, state, result)
        else:
            self._as_they_are(result)
        result.usage.wall_seconds = time.perf_counter() - started
        return result

    async def _replanned(
        self,
        phase: PhaseSpec,
        context: PhaseContext,
        model: Model,
        budget: Budget,
        state: RunState,
        progress: Progress,
        unfed: list[StepResult],
        result: PhaseResult,
        links: str,
    ) -> tuple[StepPlan, dict[str, StepResult], str] | None:
        """Plan the phase once more when a step computed on figures nothing gave it (its calls were refused and
        it knows nothing): the planner is told so, to get the figures first. The first plan's steps are dropped
        from the result (the caller keeps their errors); the new plan, its steps' results and why it was made, or None
        when no new plan comes."""
        said = "; ".join(f"step {s.step!r} ({s.worker}) was refused its calls" for s in unfed)
        reason = (
            f"{said}: the figures it computed on are not in the phase, its context or an earlier step's "
            "results, so they were made up"
        )
        notes = (
            f"{phase.notes} A plan before this one failed: {reason}. First get those figures with a step on a "
            "worker that holds the data, and list that step in depends_on of the step that computes."
        ).strip()
        retry = phase.model_copy(update={"notes": notes})
        try:
            async with progress.activity("planning steps again"):
                planned = await self._plan(retry, context, model, result.usage, result.errors)
        except BudgetExhausted as exc:
            result.errors.append(ErrorInfo(where=f"{self.key}.planning", message=str(exc), kind="budget"))
            return None
        if planned is None:
            return None
        plan, result.planner = planned
        return (
            plan,
            await self._run_steps(plan, retry, context, model, budget, state, progress, links),
            reason,
        )

    async def _run_steps(
        self,
        plan: StepPlan,
        phase: PlanNode,
        context: PhaseContext,
        model: Model,
        budget: Budget,
        state: RunState,
        progress: Progress,
        links: str,
    ) -> dict[str, StepResult]:
        # The workers the steps use start now, together, rather than each when its step comes; the others never.
        needed = {s.worker for s in plan.steps}
        needed = set(self.pool.targets) if ALL_WORKERS in needed else needed & set(self.pool.targets)
        await self.pool.start(sorted(needed))
        runner = StepRunner(
            manager=self.key,
            caller=self.caller,
            model=model,
            workers=await self.workers(),
            policies=self.policies(),
            state=state,
            budget=budget,
            max_tool_calls=self.config.max_tool_calls,
            step_timeout=self.config.step_timeout_seconds,
            links=links,
        )
        total = len(plan.steps)
        progress.set_total(total)
        position = {s.name: i for i, s in enumerate(plan.steps, 1)}

        async def on_event(event: NodeEvent) -> None:
            if event.kind != "started":
                progress.finished_one()
                await progress.say(f"step {position[event.node]}/{total} {event.node} {event.kind}")

        async def run(step: Step, inputs: Mapping[str, StepResult]) -> StepResult:
            where = progress.child(f"step {position[step.name]}/{total}")
            return await runner.run(step, phase, context, inputs, where)

        callbacks = envelope_callbacks(
            run,
            lambda step, output, error: StepResult(
                step=step.name, worker=step.worker, status="failed", output=output, errors=[error]
            ),
            where=self.key,
            on_event=on_event,
        )
        return await run_dag(plan.steps, callbacks, deadline=budget.deadline)

    def _as_they_are(self, result: PhaseResult) -> None:
        """No synthesis: the phase's answer is its steps' tool results as they are, and no model is asked."""
        result.output = "\n\n".join(s.output for s in result.steps if s.output)
        result.goal_met = bool(result.steps) and all(s.status == "ok" for s in result.steps)
        result.missing = "" if result.goal_met else "a step did not succeed"
        result.status = roll_up(
            [s.status for s in result.steps], answered=result.goal_met, errors=result.errors
        )

    async def _answer(
        self,
        phase: PlanNode,
        context: PhaseContext,
        plan: StepPlan,
        model: Model,
        state: RunState,
        result: PhaseResult,
    ) -> None:
        """The phase's answer: a single step's own answer as it is (it already came from the tool results, judged
        by the same policies), otherwise a synthesis of the steps."""
        backed = any(c.outcome == "ok" for c in result.calls()) or not result.calls()
        only = result.steps[0] if len(result.steps) == 1 else None
        if only is not None and only.status == "ok" and only.usage.llm_calls and only.output.strip():
            result.output = only.output
            result.goal_met = backed and bool(with_data(only.calls))
            result.missing = "" if result.goal_met else "the tools returned no data for it"
        elif only is not None and only.output_from == "tools" and only.usage.llm_calls:
            # The step's model wrote no answer that stood, so its output is the tools' data; a synthesis would
            # ask the same question of the same data again. The data is the goal met; the step stays partial.
            result.output = only.output
            result.goal_met = True
            result.missing = ""
        else:
            outcome = await synthesize(
                model,
                system=load_prompt("manager_synthesis", manager=self.key),
                content=synthesis_content(
                    phase, context, result.steps, {s.name: s.notes for s in plan.steps}
                ),
                # Not the step plan's notes: a model wrote them, and may have written figures nothing returned.
                evidence=phase_text(phase, context),
                output_type=PhaseAnswer,
                policies=self.policies(),
                state=state,
                where=f"{self.key}.synthesis",
            )
            result.usage.add_tokens(outcome.usage, self.model.name, self.model.price)
            if outcome.error is not None:
                result.errors.append(outcome.error)
                result.output = steps_fallback_text(result.steps)
                result.missing = "no synthesized answer: the steps' own outputs are given instead"
                result.status = roll_up(
                    [s.status for s in result.steps], answered=False, errors=result.errors
                )
                return
            result.output = outcome.answer
            # A goal is not met on the model's word alone when every tool call that should have produced data failed.
            result.goal_met = outcome.goal_met and backed
            if not backed:
                result.missing = "every tool call failed, so the answer is not backed by data"
            else:
                result.missing = "" if result.goal_met else (outcome.missing or "not stated")
        result.status = roll_up(
            [s.status for s in result.steps], answered=result.goal_met, errors=result.errors
        )


def _unfed(steps: Iterable[StepResult]) -> list[StepResult]:
    """Steps that know nothing because every call they made was refused for figures nothing gave them."""
    return [
        s
        for s in steps
        if s.output_from == "none"
        and s.calls
        and any(c.policy == FigureGrounding.name for c in s.calls)
        and all(c.outcome == "refused" for c in s.calls)
    ]


def _noted(phase: PhaseSpec, links: str) -> PhaseSpec:
    """``phase`` with what the lookups found in its notes, which the planner reads (and synthesis)."""
    return phase.model_copy(update={"notes": f"{phase.notes}\n{links}".strip()}) if links else phase
