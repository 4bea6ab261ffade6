"""The manager: one domain, its workers, a planner, a step executor and synthesis. Transport-free logic; the MCP
server in ``server.py`` exposes it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel, Field

from ..core.config import ManagerConfig
from ..core.envelope import ErrorInfo, PhaseContext, PhaseResult, StepResult, Usage, clip
from ..core.executor import NodeEvent, envelope_callbacks, run_dag
from ..core.grounding import GroundedAnswer, asks_for_figures, generate_grounded_answer, states_a_figure
from ..core.llm import Message, Model, ModelError, ModelRequest, StructuredOutputError
from ..core.plan import PlanNode, Step, StepPlan
from ..core.pool import ConnectionPool
from ..core.prompts import load_prompt
from ._discovery import WorkerInfo, discover
from ._steps import StepRunner, tool_data
from .planners import PLANNERS, StepPlanner, WorkerRouterPlanner

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


class Synthesis(GroundedAnswer):
    """A manager's synthesized answer for a phase."""

    goal_met: bool
    missing: str = ""


class PhasePlanPreview(BaseModel):
    """What ``plan_phase`` returns: the steps the manager would run, nothing executed."""

    manager: str
    planner: str
    steps: list[Step]
    rationale: str = ""
    usage: Usage = Field(default_factory=Usage)


class Manager:
    """A domain manager: plans a phase into steps, runs them on its workers, and synthesizes one answer."""

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
    ) -> None:
        self.key = key
        self.config = config
        self.pool = pool
        self.model = model
        self.worker_descriptions = dict(worker_descriptions)
        self.worker_tools = dict(worker_tools or {})
        self.planner = planner or PLANNERS[config.planner](
            model, manager=key, description=config.description, max_steps=config.max_steps
        )
        self._workers: dict[str, WorkerInfo] | None = None

    async def workers(self, *, refresh: bool = False) -> dict[str, WorkerInfo]:
        """Discovery: the workers' live tool schemas (started concurrently on first use)."""
        if self._workers is None or refresh or any(w.error for w in self._workers.values()):
            self._workers = await discover(self.pool, self.worker_descriptions, self.worker_tools)
        return self._workers

    async def _plan(
        self, phase: PlanNode, context: PhaseContext, usage: Usage, errors: list[ErrorInfo]
    ) -> tuple[StepPlan, str] | None:
        """Plan with the configured planner; if its answers stay invalid, fall back to the router, and for a manager
        with a single available worker to one step with the phase's goals. Failed attempts are kept in ``errors``."""
        workers = await self.workers()
        unavailable = [w for w in workers.values() if w.error]
        errors.extend(
            ErrorInfo(where=f"{self.key}.{w.name}", message=w.error or "", kind="unavailable")
            for w in unavailable
        )
        if len(unavailable) == len(workers):  # nothing could carry out a step; a planner would only guess
            return None
        planners = [self.planner]
        if not isinstance(self.planner, WorkerRouterPlanner):
            planners.append(
                WorkerRouterPlanner(self.model, manager=self.key, description=self.config.description)
            )
        for planner in planners:
            try:
                planned = await planner.plan(phase, context, workers)
            except StructuredOutputError as exc:
                usage.add_tokens(exc.usage, self.model.name)
                errors.append(
                    ErrorInfo(where=f"{self.key}.{type(planner).__name__}", message=str(exc), kind="planning")
                )
                continue
            except ModelError as exc:  # the model itself is unreachable: the steps would need it too
                errors.append(
                    ErrorInfo(where=f"{self.key}.{type(planner).__name__}", message=str(exc), kind="planning")
                )
                return None
            usage.add_tokens(planned.usage, self.model.name)
            return planned.plan, type(planner).__name__
        available = [w.name for w in workers.values() if not w.error]
        if len(available) == 1:
            step = Step(name=phase.name, worker=available[0], goals=phase.goals, notes=phase.notes)
            return StepPlan(
                steps=[step], rationale="the phase as one step for the only worker"
            ), "single-worker"
        return None

    async def plan_phase(self, phase: PlanNode, context: PhaseContext) -> PhasePlanPreview:
        """The steps this manager would run for ``phase``; nothing is executed."""
        usage, errors = Usage(), list[ErrorInfo]()
        planned = await self._plan(phase, context, usage, errors)
        if planned is None:
            raise ModelError("; ".join(e.message for e in errors) or "no plan")
        plan, planner = planned
        return PhasePlanPreview(
            manager=self.key, planner=planner, steps=plan.steps, rationale=plan.rationale, usage=usage
        )

    async def execute_phase(
        self, phase: PlanNode, context: PhaseContext, progress: Progress | None = None
    ) -> PhaseResult:
        """Plan, run the steps as a DAG, and synthesize. Failures are kept in the result, never raised."""
        started = time.perf_counter()
        result = PhaseResult(phase=phase.name, manager=self.key, status="failed")
        workers = await self.workers()
        planned = await self._plan(phase, context, result.usage, result.errors)
        if planned is None:
            reasons = "; ".join(e.message for e in result.errors)
            result.output = f"The {self.key} manager could not plan this phase: {reasons}"
            result.missing = phase.goals
            result.usage.wall_seconds = time.perf_counter() - started
            return result
        steps = await self._run_steps(planned[0], phase, context, workers, progress)
        result.steps = list(steps.values())
        for step in result.steps:
            result.usage.add(step.usage)
            result.provenance.extend(step.provenance)
            result.artifacts.extend(step.artifacts)
            result.errors.extend(step.errors)
        await self._synthesize(phase, context, result, {s.name: s.notes for s in planned[0].steps})
        result.data = {"steps": {s.step: s.data for s in result.steps if s.data}}
        result.usage.wall_seconds = time.perf_counter() - started
        return result

    async def _run_steps(
        self,
        plan: StepPlan,
        phase: PlanNode,
        context: PhaseContext,
        workers: dict[str, WorkerInfo],
        progress: Progress | None,
    ) -> dict[str, StepResult]:
        runner = StepRunner(
            manager=self.key,
            pool=self.pool,
            model=self.model,
            workers=workers,
            max_tool_calls=self.config.max_tool_calls,
        )

        async def on_event(event: NodeEvent) -> None:
            if progress is not None and event.kind != "started":
                await progress(event.done, event.total, f"{self.key}: step {event.node!r} {event.kind}")

        async def run(step: Step, inputs: Mapping[str, StepResult]) -> StepResult:
            return await runner.run(step, phase, context, inputs)

        callbacks = envelope_callbacks(
            run,
            lambda step, output, error: StepResult(
                step=step.name, worker=step.worker, status="failed", output=output, errors=[error]
            ),
            where=self.key,
            on_event=on_event,
        )
        return await run_dag(plan.steps, callbacks)

    async def _synthesize(
        self, phase: PlanNode, context: PhaseContext, result: PhaseResult, notes: Mapping[str, str]
    ) -> None:
        data = {s.step: tool_data(s) for s in result.steps}
        steps_text = "\n\n".join(_step_text(s, notes.get(s.step, ""), data[s.step]) for s in result.steps)
        request = ModelRequest(
            system=load_prompt("manager_synthesis", manager=self.key),
            messages=[
                Message(
                    role="user",
                    content=f"User request: {context.request or '(not given)'}\nPhase: {phase.name}\n"
                    f"Goals: {phase.goals}\nNotes: {phase.notes}\n"
                    f"Context from earlier phases:\n{context.render(limit=1500)}\n\nStep results:\n{steps_text}",
                )
            ],
            max_tokens=1024,
        )
        try:
            synthesis, tokens = await generate_grounded_answer(
                self.model,
                request,
                Synthesis,
                needs_figures=_needs_figures(phase, result, any(data.values())),
            )
        except ModelError as exc:
            if isinstance(exc, StructuredOutputError):
                result.usage.add_tokens(exc.usage, self.model.name)
            # Nothing done is lost: without a synthesis the step outputs are the answer.
            result.errors.append(ErrorInfo(where=f"{self.key}.synthesis", message=str(exc), kind="synthesis"))
            result.output = steps_text
            result.status = "partial" if any(s.status != "failed" for s in result.steps) else "failed"
            return
        result.usage.add_tokens(tokens, self.model.name)
        result.output = synthesis.answer
        # A goal is not met on the model's word alone when every tool call that should have produced data failed.
        backed = not result.provenance or any(not r.is_error for r in result.provenance)
        result.goal_met = synthesis.goal_met and backed
        if not backed:
            result.missing = "every tool call failed, so the answer is not backed by data"
        else:
            result.missing = "" if result.goal_met else (synthesis.missing or "not stated")
        ok_steps = [s for s in result.steps if s.status == "ok"]
        if result.goal_met and len(ok_steps) == len(result.steps):
            result.status = "ok"
        elif ok_steps or result.goal_met:
            result.status = "partial"
        else:
            result.status = "failed"


def _needs_figures(phase: PlanNode, result: PhaseResult, has_data: bool) -> bool:
    """Whether the phase's answer must state figures: its goals ask for them and its tools returned data. A phase
    that made a file (a deck) answers with the file; its figures are in it."""
    return has_data and asks_for_figures(phase.goals) and not result.artifacts


def _step_text(step: StepResult, notes: str, data: str) -> str:
    """One step's results for synthesis: the tools' own ``data`` first, as a small model's summary can garble it."""
    label = "The step's summary (the data above is right where they differ)" if data else "The step's summary"
    # Next to data, a summary without figures ("Mountain West") only tempts synthesis to answer as tersely.
    summary = "" if data and not states_a_figure(step.output) else f"\n{label}: {clip(step.output, 3000)}"
    return (
        f"Step {step.step!r} ({step.worker}, {step.status}; {_calls_summary(step)}):"
        + (f"\nIts notes: {notes}" if notes else "")
        + data
        + summary
        + "".join(f"\nfile: {a.path}" for a in step.artifacts)
    )


def _calls_summary(step: StepResult) -> str:
    """How the step's tool calls went, so synthesis can tell data from a model's guess."""
    failed = sum(1 for r in step.provenance if r.is_error)
    return f"{len(step.provenance)} tool calls, {failed} failed"
