"""One delegation, as a sequence of checkpointed steps: plan, phases (a DAG), replan, answer.

Everything that decides what happens next reads step results, never live state, so a run replayed from its
record (after a crash, or resumed) takes the same path and re-runs only unfinished steps. Each step spends a
snapshot of the budget; the run charges what the step reports it used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ..core.budget import Budget, Limits
from ..core.contracts import PhaseContext, PriorResult
from ..core.envelope import AnswerPart, DelegationResult, ErrorInfo, PhaseResult, ReplanRecord, Usage
from ..core.executor import NodeEvent, envelope_callbacks, run_dag
from ..core.plan import PhaseSpec, Plan, PlanNode
from ..core.progress import Progress
from ..core.synthesis import roll_up
from ..core.workflow import Workflow
from ._checkpoints import Checkpoints
from ._prompts import replan_request
from ._workflows import expand, phase_spec, plan_of, scope

if TYPE_CHECKING:
    from .orchestrator import Orchestrator


class RunInput(BaseModel):
    """What a run was asked: the request, its context, and per-request limits."""

    run_id: str
    request: str
    context: str | None = None
    limits: dict[str, Any] = Field(default_factory=dict)
    trace: dict[str, str] = Field(
        default_factory=dict, description="The W3C trace context it was asked under (a resumed run keeps it)"
    )
    workflow: Workflow | None = Field(
        default=None, description="Set for a workflow run: the plan a person wrote"
    )
    inputs: dict[str, Any] = Field(default_factory=dict, description="A workflow run's inputs, resolved")
    handed: dict[str, Any] = Field(
        default_factory=dict,
        description="What the calling echelon level handed down in _meta, when one called: its remaining budget "
        "and the chain of levels (core.nesting)",
    )

    @property
    def full_request(self) -> str:
        return (
            self.request if not self.context else f"{self.request}\n\nContext from the user: {self.context}"
        )


class PlanStep(BaseModel):
    """The result of a plan (or replan) step."""

    plan: Plan | None = None
    dropped: list[str] = Field(default_factory=list)
    expects: dict[str, list[AnswerPart]] = Field(default_factory=dict)
    usage: Usage = Field(default_factory=Usage)
    error: ErrorInfo | None = None


class AnswerStep(BaseModel):
    """The result of the answer step."""

    output: str
    answered: bool
    usage: Usage = Field(default_factory=Usage)
    error: ErrorInfo | None = None


def charge(budget: Budget, usage: Usage) -> None:
    budget.charge(model_calls=usage.llm_calls, tokens=usage.tokens, tool_calls=usage.tool_calls)


class Delegation:
    """Runs one ``RunInput`` through an ``Orchestrator``, keeping its steps with ``checkpoints``."""

    def __init__(
        self, orchestrator: Orchestrator, run: RunInput, checkpoints: Checkpoints, progress: Progress
    ):
        self.orchestrator = orchestrator
        self.run = run
        self.checkpoints = checkpoints
        self.progress = progress
        own = run.workflow.limits.model_dump(exclude_none=True) if run.workflow else {}
        self.limits: Limits = orchestrator.config.limits.merged(own).merged(run.limits)
        # A level above (a hierarchy holding this one as a worker) caps the budget; this level joins the chain.
        self.budget = Budget.from_meta(run.handed, self.limits)
        self.budget.chain = (*self.budget.chain, orchestrator.level)
        self.result = DelegationResult(request=run.request, run_id=run.run_id, status="failed")

    async def __call__(self) -> DelegationResult:
        started = time.perf_counter()
        try:
            await self._delegate()
        finally:
            self.result.usage.wall_seconds = time.perf_counter() - started
        await self.progress.say(f"done: {self.result.status}")
        return self.result

    async def _delegate(self) -> None:
        request, result = self.run.full_request, self.result
        if len(request) > self.limits.max_request_chars:
            result.output = (
                f"The request is {len(request):,} characters long; the limit is {self.limits.max_request_chars:,} "
                "(max_request_chars). Shorten it, or raise the limit in [limits] or delegate(limits=...)."
            )
            result.errors.append(ErrorInfo(where="orchestrator", message=result.output, kind="request"))
            return
        if self.run.workflow is not None:
            await self._workflow(self.run.workflow)
            return
        planned = await self._plan_step("plan", request)
        if planned.plan is None:
            error = planned.error or ErrorInfo(
                where="orchestrator.planner", message="no plan", kind="planning"
            )
            result.errors.append(error)
            result.output = f"Could not plan this request: {error.message}"
            return
        plan = planned.plan
        result.plan = plan.model_dump(mode="json")
        result.primary_manager = plan.primary_worker
        if planned.dropped:
            await self.progress.say(f"left out {', '.join(planned.dropped)}: the request asks for no file")
        await self.progress.say(f"plan: {', '.join(f'{p.name} -> {p.worker}' for p in plan.phases)}")
        # Every manager the plan needs starts now, together, not each when its phase's turn comes (a failure to
        # start is the phase's to report).
        await self.orchestrator.pool.start(
            sorted({p.worker for p in plan.phases} & set(self.orchestrator.pool.targets))
        )
        phases = await self._run_phases(plan.phases, planned.expects, {})
        phases = await self._replan(plan, phases)
        result.phases = list(phases.values())
        for phase in result.phases:
            result.usage.add(phase.usage)
            result.artifacts.extend(phase.artifacts)
            result.errors.extend(phase.errors)
        answered = await self._answer(plan)
        if "file" in plan.asks_for and not result.artifacts:
            answered = False
            message = "the request asks for a file and none was made"
            result.errors.append(ErrorInfo(where="orchestrator", message=message, kind="unanswered"))
        effective = [p for p in result.phases if not _replaced(p, result.replans)]
        result.status = roll_up([p.status for p in effective], answered=answered, errors=result.errors)

    async def _plan_step(self, name: str, request: str, *, replanning: bool = False) -> PlanStep:
        budget = self.budget.snapshot()

        async def step() -> dict[str, Any]:
            planned = await self.orchestrator.plan_step(request, budget, self.progress, replanning=replanning)
            return planned.model_dump(mode="json")

        planned = PlanStep.model_validate(await self.checkpoints.step(name, step))
        charge(self.budget, planned.usage)
        self.result.usage.add(planned.usage)
        return planned

    async def _run_phases(
        self,
        phases: list[PlanNode],
        expects: Mapping[str, list[AnswerPart]],
        done: Mapping[str, PhaseResult],
        spec_of: Callable[[PlanNode, Mapping[str, PhaseResult]], PhaseSpec] | None = None,
    ) -> dict[str, PhaseResult]:
        """Run ``phases`` as a DAG; each gets the results it depends on (and everything in ``done``).
        ``spec_of(phase, finished)`` gives what the manager receives (default: the phase as planned)."""
        total = len(phases)
        progress = self.progress
        progress.set_total(total)
        position = {p.name: i for i, p in enumerate(phases, 1)}
        slots = self.checkpoints.slots([f"phase:{p.name}" for p in phases])
        finished: dict[str, PhaseResult] = dict(done)

        async def run_phase(node: PlanNode, inputs: Mapping[str, PhaseResult]) -> PhaseResult:
            phase = spec_of(node, finished) if spec_of else PhaseSpec.model_validate(node.model_dump())
            prior = [PriorResult.of(r) for r in [*done.values(), *inputs.values()] if r.status != "failed"]
            context = PhaseContext(
                request=self.run.full_request, expects=list(expects.get(phase.name, [])), prior=prior
            )
            where = progress.child(f"phase {position[phase.name]}/{total} {phase.worker}")
            budget = self.budget.snapshot()

            async def step() -> dict[str, Any]:
                result = await self.orchestrator.phase_step(phase, context, budget, where)
                return result.model_dump(mode="json")

            result = PhaseResult.model_validate(await slots[f"phase:{phase.name}"].run(step))
            charge(self.budget, result.usage)
            finished[phase.name] = result
            return result

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
        return await run_dag(phases, callbacks, deadline=self.budget.deadline)

    async def _replan(self, plan: Plan, phases: dict[str, PhaseResult]) -> dict[str, PhaseResult]:
        """Plan the remaining work anew when phases failed, at most ``max_replans`` times."""
        result = self.result
        for attempt in range(1, self.orchestrator.config.orchestrator.max_replans + 1):
            if not any(p.status == "failed" and not _skipped(p) for p in phases.values()):
                return phases
            if self.budget.seconds_left <= 0 or any(
                e.kind == "budget" for p in phases.values() for e in p.errors
            ):
                return phases  # a limit stopped the run: planning anew would only spend more
            done = {name: p for name, p in phases.items() if p.status != "failed"}
            failed = [p for p in phases.values() if p.status == "failed"]
            reason = "; ".join(f"{p.phase} ({p.manager}): {_why(p)}" for p in failed)
            planned = await self._plan_step(
                f"replan:{attempt}", replan_request(self.run.full_request, done, failed), replanning=True
            )
            if planned.plan is None:
                error = planned.error or ErrorInfo(
                    where="orchestrator.replan", message="no plan", kind="planning"
                )
                result.errors.append(error.model_copy(update={"where": "orchestrator.replan"}))
                return phases
            new = _renamed(planned.plan.phases, phases)
            result.replans.append(
                ReplanRecord(failed=[p.phase for p in failed], reason=reason, phases=[p.name for p in new])
            )
            result.errors.append(
                ErrorInfo(where="orchestrator", message=f"planned anew after {reason}", kind="replanned")
            )
            expects = {
                n.name: planned.expects.get(o.name, []) for n, o in zip(new, planned.plan.phases, strict=True)
            }
            phases = {**phases, **await self._run_phases(new, expects, done)}
        return phases

    async def _workflow(self, workflow: Workflow) -> None:
        """A workflow run: the plan a person wrote, no planner, no replanning; the phases' own answers as the
        answer unless the workflow asks for a synthesis."""
        result = self.result
        nodes = expand(workflow, self.run.inputs)
        plan = plan_of(workflow, nodes)

        async def record() -> dict[str, Any]:
            return PlanStep(plan=plan).model_dump(mode="json")

        await self.checkpoints.step("plan", record)
        result.plan = plan.model_dump(mode="json")
        result.primary_manager = plan.primary_worker
        by_name = {n.name: n for n in nodes}

        def spec_of(node: PlanNode, finished: Mapping[str, PhaseResult]) -> PhaseSpec:
            current = by_name[node.name]
            return phase_spec(current, scope(self.run.inputs, finished, nodes, current))

        parts: list[AnswerPart] = [a for a in workflow.asks_for if a != "file"]
        phases = await self._run_phases(plan.phases, {p.name: parts for p in plan.phases}, {}, spec_of)
        result.phases = list(phases.values())
        for phase in result.phases:
            result.usage.add(phase.usage)
            result.artifacts.extend(phase.artifacts)
            result.errors.extend(phase.errors)
        answered = await self._answer(plan, synthesis=workflow.synthesis)
        result.status = roll_up([p.status for p in result.phases], answered=answered, errors=result.errors)

    async def _answer(self, plan: Plan, *, synthesis: bool | None = None) -> bool:
        """Set the final answer; True when it answers (a synthesis that stood, or the only phase's met goals)."""
        result = self.result
        effective = [p for p in result.phases if not _replaced(p, result.replans)]
        if not effective:
            return False
        budget = self.budget.snapshot()
        synthesize = self.orchestrator.config.orchestrator.synthesis if synthesis is None else synthesis

        async def step() -> dict[str, Any]:
            answer = await self.orchestrator.answer_step(
                self.run.full_request, plan, effective, budget, self.progress, synthesis=synthesize
            )
            return answer.model_dump(mode="json")

        answer = AnswerStep.model_validate(await self.checkpoints.step("answer", step))
        charge(self.budget, answer.usage)
        result.usage.add(answer.usage)
        result.output = answer.output
        if answer.error is not None:
            result.errors.append(answer.error)
        return answer.answered


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
