"""The orchestrator's logic: plan phases, route each to a manager over MCP, pass results along, answer.

It never calls a worker: every phase goes to a manager's ``execute_phase``. Transport-free; ``server.py`` exposes it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel, Field

from ..core.config import HierarchyConfig
from ..core.envelope import (
    DelegationResult,
    ErrorInfo,
    PhaseContext,
    PhaseResult,
    PriorResult,
    Usage,
    clip,
)
from ..core.executor import NodeEvent, envelope_callbacks, run_dag
from ..core.grounding import GroundedAnswer, generate_grounded_answer
from ..core.llm import Message, Model, ModelError, ModelRequest
from ..core.plan import Plan, PlanNode
from ..core.pool import ConnectionPool, result_text
from ..core.prompts import load_prompt
from .planner import PhasePlanner, StrategicPlanner

Progress = Callable[[float, float | None, str | None], Awaitable[None]]


class FinalAnswer(GroundedAnswer):
    """The orchestrator's synthesized answer."""


class PhasePreview(BaseModel):
    """One phase of a previewed plan and the steps its manager would run."""

    phase: PlanNode
    steps: list[dict[str, object]] = Field(default_factory=list)
    planner: str | None = None
    error: str | None = None


class PlanPreview(BaseModel):
    """What ``plan`` returns: phases and, for each, the manager's steps; nothing executed."""

    request: str
    primary_worker: str
    rationale: str
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
    ) -> None:
        self.config = config
        self.pool = pool
        self.model = model
        self.planner = planner or StrategicPlanner(model, max_phases=config.orchestrator.max_phases)
        self.managers = {key: m.description for key, m in config.managers.items()}

    async def make_plan(self, request: str) -> tuple[Plan, Usage]:
        plan, tokens = await self.planner.plan(request, self.managers)
        usage = Usage()
        usage.add_tokens(tokens, self.model.name)
        return plan, usage

    async def preview(self, request: str) -> PlanPreview:
        """The phases and each manager's steps, nothing executed."""
        plan, usage = await self.make_plan(request)
        previews: list[PhasePreview] = []
        for phase in plan.phases:
            context = PhaseContext(request=request)
            answer = await self.pool.call_tool(
                phase.worker,
                "plan_phase",
                {"phase": phase.model_dump(), "context": context.model_dump()},
            )
            if answer.is_error or answer.structured_content is None:
                previews.append(PhasePreview(phase=phase, error=result_text(answer)))
                continue
            data = answer.structured_content
            usage.add(Usage.model_validate(data.get("usage", {})))
            previews.append(
                PhasePreview(phase=phase, steps=data.get("steps", []), planner=data.get("planner"))
            )
        return PlanPreview(
            request=request,
            primary_worker=plan.primary_worker,
            rationale=plan.rationale,
            phases=previews,
            usage=usage,
        )

    async def delegate(
        self, request: str, context: str | None = None, progress: Progress | None = None
    ) -> DelegationResult:
        """Answer ``request`` through the hierarchy. Failures are kept in the result; finished phases are kept."""
        started = time.perf_counter()
        full_request = request if not context else f"{request}\n\nContext from the user: {context}"
        result = DelegationResult(request=request, run_id=uuid.uuid4().hex[:12], status="failed")
        ticks = 0

        async def report(message: str) -> None:
            nonlocal ticks
            ticks += 1
            if progress is not None:
                await progress(ticks, None, message)

        await report("planning phases")
        try:
            plan, plan_usage = await self.make_plan(full_request)
        except ModelError as exc:
            result.errors.append(ErrorInfo(where="orchestrator.planner", message=str(exc), kind="planning"))
            result.output = f"Could not plan this request: {exc}"
            result.usage.wall_seconds = time.perf_counter() - started
            return result
        result.usage.add(plan_usage)
        result.plan = plan.model_dump()
        result.primary_manager = plan.primary_worker
        await report(f"plan: {', '.join(f'{p.name} -> {p.worker}' for p in plan.phases)}")

        async def run_phase(phase: PlanNode, inputs: Mapping[str, PhaseResult]) -> PhaseResult:
            prior = [
                PriorResult(
                    phase=r.phase,
                    manager=r.manager,
                    output=r.output,
                    data=r.data,
                    artifacts=r.artifacts,
                    missing="" if r.goal_met else (r.missing or "not stated"),
                )
                for r in inputs.values()
            ]
            phase_context = PhaseContext(request=full_request, prior=prior)

            async def forward(progress: float, total: float | None, message: str | None) -> None:
                await report(message or f"{phase.worker}: {progress:g}/{total or '?'}")

            answer = await self.pool.call_tool(
                phase.worker,
                "execute_phase",
                {"phase": phase.model_dump(), "context": phase_context.model_dump()},
                progress_callback=forward,
                read_timeout_seconds=self.config.orchestrator.phase_timeout_seconds,
            )
            if answer.is_error or answer.structured_content is None:
                message = result_text(answer)
                return PhaseResult(
                    phase=phase.name,
                    manager=phase.worker,
                    status="failed",
                    output=f"The {phase.worker} manager failed: {message}",
                    errors=[ErrorInfo(where=f"{phase.worker}.execute_phase", message=message)],
                )
            return PhaseResult.model_validate(answer.structured_content)

        async def on_event(event: NodeEvent) -> None:
            await report(f"phase {event.node!r} {event.kind} ({event.done}/{event.total} done)")

        callbacks = envelope_callbacks(
            run_phase,
            lambda phase, output, error: PhaseResult(
                phase=phase.name, manager=phase.worker, status="failed", output=output, errors=[error]
            ),
            where="orchestrator",
            on_event=on_event,
        )
        phases = await run_dag(plan.phases, callbacks)
        result.phases = list(phases.values())
        for phase_result in result.phases:
            result.usage.add(phase_result.usage)
            result.artifacts.extend(phase_result.artifacts)
            result.provenance.extend(phase_result.provenance)
            result.errors.extend(phase_result.errors)
        await self._answer(full_request, plan, result)
        statuses = {p.status for p in result.phases}
        result.status = "ok" if statuses == {"ok"} else ("failed" if statuses == {"failed"} else "partial")
        result.usage.wall_seconds = time.perf_counter() - started
        await report(f"done: {result.status}")
        return result

    async def _answer(self, request: str, plan: Plan, result: DelegationResult) -> None:
        primary = next((p for p in result.phases if p.manager == plan.primary_worker), result.phases[-1])
        if not self.config.orchestrator.synthesis or len(result.phases) == 1:
            others = [p for p in result.phases if p is not primary]
            result.output = primary.output + "".join(
                f"\n\n[{p.phase} ({p.manager})]\n{p.output}" for p in others
            )
            return
        phases_text = "\n\n".join(
            f"Phase {p.phase!r} ({p.manager}, {p.status}):\n{clip(p.output, 3000)}"
            + "".join(f"\nfile: {a.path}" for a in p.artifacts)
            for p in result.phases
        )
        model_request = ModelRequest(
            system=load_prompt("orchestrator_synthesis"),
            messages=[Message(role="user", content=f"Request: {request}\n\nPhase results:\n{phases_text}")],
            max_tokens=1024,
        )
        try:
            final, tokens = await generate_grounded_answer(self.model, model_request, FinalAnswer)
        except ModelError as exc:
            result.errors.append(
                ErrorInfo(where="orchestrator.synthesis", message=str(exc), kind="synthesis")
            )
            result.output = phases_text
            return
        result.usage.add_tokens(tokens, self.model.name)
        result.output = final.answer
