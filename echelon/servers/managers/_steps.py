"""Carrying out one step: on the ONE worker the step names, through the core tool loop or a planned call.

A step whose plan names the exact call makes it directly (no model call: the router's cheap path); otherwise the
tool loop runs with that worker's tools and the manager's policies. A step whose worker keeps failing (it cannot
be started or reached, or every call died) is reassigned once to another available worker of the manager that has
the tool the step needs, and the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..core import telemetry
from ..core.budget import Budget
from ..core.calls import ToolCaller
from ..core.catalog import WorkerInfo
from ..core.contracts import PhaseContext
from ..core.envelope import Artifact, ErrorInfo, StepResult, ToolCallRecord
from ..core.evidence import data_answer, unbacked_answer, with_data
from ..core.llm import Model
from ..core.loop import judge_and_call, run_tool_loop
from ..core.plan import PlanNode, Step
from ..core.policies import Policy, RunState
from ..core.progress import Progress
from ..core.prompts import load_prompt
from ..core.spent import spent_below
from ..core.toolset import WorkerToolset
from ..core.workflow._templates import conform
from ._prompts import step_prompt
from .planners import ALL_WORKERS

# Failures that say the worker, not the model's arguments, is the problem.
_WORKER_FAILURES = ("connection", "timeout", "not_retried")


@dataclass
class StepRunner:
    """Runs the steps of one phase for one manager, on one budget."""

    manager: str
    caller: ToolCaller
    model: Model
    workers: Mapping[str, WorkerInfo]
    policies: Sequence[Policy]
    state: RunState
    budget: Budget
    max_tool_calls: int
    step_timeout: float | None = None
    links: str = ""
    """What the manager's lookups found the request names (``_lookups``), for every step's prompt."""

    async def run(
        self,
        step: Step,
        phase: PlanNode,
        context: PhaseContext,
        inputs: Mapping[str, StepResult],
        progress: Progress,
    ) -> StepResult:
        """Carry out ``step``; the results of the steps it depends on are in ``inputs``."""
        with telemetry.span(
            "echelon.step", **{"echelon.step": step.name, "echelon.worker": step.worker}
        ) as current:
            result = await self._reassigning(step, phase, context, inputs, progress)
            current.set_attribute("echelon.status", result.status)
            return result

    async def _reassigning(
        self,
        step: Step,
        phase: PlanNode,
        context: PhaseContext,
        inputs: Mapping[str, StepResult],
        progress: Progress,
    ) -> StepResult:
        result = await self._run_on(step, phase, context, inputs, progress)
        spare = self._spare_worker(step, result)
        if spare is None:
            return result
        moved = step.model_copy(update={"worker": spare.name})
        again = await self._run_on(
            moved, phase, context, inputs, progress.child(f"reassigned to {spare.name}")
        )
        again.reassigned_from = step.worker
        reason = "; ".join(e.message for e in result.errors) or "it kept failing"
        again.errors = [
            *result.errors,
            ErrorInfo(
                where=f"{self.manager}.{step.name}",
                message=f"moved from {step.worker} to {spare.name}: {reason}",
                kind="reassigned",
            ),
            *again.errors,
        ]
        again.calls = [*result.calls, *again.calls]
        again.usage.add(result.usage, include_wall=True)
        return again

    def _spare_worker(self, step: Step, result: StepResult) -> WorkerInfo | None:
        """Another available worker with the tool ``step`` needs, when ``step``'s worker is what failed."""
        if step.worker == ALL_WORKERS:
            return None  # the step already had every worker
        worker = self.workers.get(step.worker)
        calls_failed = bool(result.calls) and all(
            c.outcome == "failed" and c.error_kind in _WORKER_FAILURES for c in result.calls
        )
        if not (worker is None or worker.error or calls_failed) or result.status == "ok":
            return None
        wanted = {step.tool} if step.tool else {c.tool for c in result.calls}
        if not wanted and worker is not None:
            wanted = {t.name for t in worker.tools}
        for other in self.workers.values():
            if other.name != step.worker and not other.error and any(other.tool(t) for t in wanted if t):
                return other
        return None

    async def _run_on(
        self,
        step: Step,
        phase: PlanNode,
        context: PhaseContext,
        inputs: Mapping[str, StepResult],
        progress: Progress,
    ) -> StepResult:
        started = time.perf_counter()
        result = StepResult(step=step.name, worker=step.worker)
        if step.worker == ALL_WORKERS:
            chosen = [w for w in self.workers.values() if not w.error]
        else:
            worker = self.workers.get(step.worker)
            chosen = [worker] if worker is not None and not worker.error else []
        if not chosen:
            worker = self.workers.get(step.worker)
            reason = (worker.error if worker is not None else None) or "not one of this manager's workers"
            result.status = "failed"
            result.output = f"Worker {step.worker!r} is unavailable: {reason}"
            result.errors.append(
                ErrorInfo(where=f"{self.manager}.{step.worker}", message=reason, kind="connection")
            )
            return result
        toolset = WorkerToolset(
            chosen,
            self.caller,
            self.budget,
            manager=self.manager,
            step=step.name,
            step_timeout=self.step_timeout,
        )
        planned_error = ""
        # This step's view of the phase's state: its own prompt as the given text, the phase's shared trace.
        state = replace(
            self.state,
            given=step_prompt(step, phase, context, inputs, "", self.links),
            asked=f"{self.state.asked}\n{step.goals}",
        )
        if step.tool is not None and step.arguments is not None:
            record, artifacts = await self._planned_call(step, toolset, state, progress)
            result.calls.append(record)
            if record.outcome == "ok":
                result.output, result.output_from = record.text, "tools"
                result.artifacts = artifacts
                result.usage.tool_calls = 1
                result.usage.add(spent_below(result.calls))
                result.usage.wall_seconds = time.perf_counter() - started
                return result
            planned_error = record.error or record.text
            result.errors.append(
                ErrorInfo(where=f"{step.worker}.{step.tool}", message=planned_error, kind="tool")
            )
            if step.pinned:  # a workflow's call: it fails as written, no model tries another
                result.status = "failed"
                result.output = f"The pinned call {step.tool} failed: {planned_error}"
                result.usage.tool_calls = 1
                result.usage.add(spent_below(result.calls))
                result.usage.wall_seconds = time.perf_counter() - started
                return result
        names = ", ".join(w.name for w in chosen)
        system = load_prompt("step_executor", manager=self.manager, worker=names)
        for worker in chosen:
            if worker.instructions:
                system += f"\n\nHow to use {worker.name} (from its own instructions): {worker.instructions}"
        outcome = await run_tool_loop(
            self.model,
            system=system,
            prompt=step_prompt(step, phase, context, inputs, planned_error, self.links),
            toolset=toolset,
            policies=self.policies,
            state=state,
            max_tool_calls=self.max_tool_calls,
            where=f"{self.manager}.{step.name}",
            progress=progress,
        )
        result.calls.extend(outcome.records)
        result.artifacts.extend(outcome.artifacts)
        result.errors.extend(outcome.errors)
        result.errors.extend(_call_errors(outcome.records))
        result.usage.add(outcome.usage)
        result.output = outcome.answer
        if step.worker == ALL_WORKERS and result.calls:
            result.worker = result.calls[-1].worker  # the worker the loop chose
        made = [c for c in result.calls if c.outcome != "refused"]
        if outcome.stop == "no_answer" or not result.output.strip():
            result.status = "failed" if not with_data(result.calls) else "partial"
        elif outcome.stop == "budget" or (made and all(c.is_error for c in made)):
            result.status = "partial"
        elif any(e.kind in ("grounding", "unanswered") for e in outcome.errors):
            result.status = "partial"  # the answer still breaks a policy after it was sent back
        refused = result.status == "partial" and any(
            e.kind in ("grounding", "unanswered") for e in outcome.errors
        )
        if (refused or not result.output.strip()) and with_data(result.calls):
            # Text a policy refused (or no text) is not shown as the answer: the data the tools returned is.
            result.output, result.output_from = data_answer(result.calls), "tools"
        elif refused:
            # Nor without data: its figures and names came from nowhere; what failed is the honest output.
            result.output, result.output_from = unbacked_answer(result.calls), "none"
        result.usage.wall_seconds = time.perf_counter() - started
        return result

    async def _planned_call(
        self, step: Step, toolset: WorkerToolset, state: RunState, progress: Progress
    ) -> tuple[ToolCallRecord, list[Artifact]]:
        """The call the plan names, judged by the policies like any other, made without a model."""
        assert step.tool is not None and step.arguments is not None
        arguments = step.arguments
        known = self.workers[step.worker].tool(step.tool) if step.worker in self.workers else None
        if step.pinned and known is not None:  # a workflow's {{inputs.year}} is 2025; a tool may want "2025"
            arguments = conform(arguments, known.input_schema)
        pending = toolset.pending(step.tool, arguments)
        if pending is None:
            record = ToolCallRecord(
                worker=step.worker,
                tool=step.tool,
                arguments=step.arguments,
                outcome="failed",
                error=f"worker {step.worker!r} has no tool {step.tool!r}",
                error_kind="tool",
                manager=self.manager,
                step=step.name,
            )
            return record, []
        judged = await judge_and_call(pending, toolset, self.policies, state, progress)
        return judged.record, judged.artifacts


def _call_errors(records: Sequence[ToolCallRecord]) -> list[ErrorInfo]:
    """Errors of calls that could not be made or did not answer (a tool's own error is the model's to fix)."""
    return [
        ErrorInfo(where=f"{r.worker}.{r.tool}", message=r.error or "failed", kind=r.error_kind or "tool")
        for r in records
        if r.outcome == "failed"
    ]
