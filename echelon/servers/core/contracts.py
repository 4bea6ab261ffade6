"""The manager contract, typed on both sides: what the orchestrator sends a manager and what comes back.

A manager serves ``execute_phase(phase, context) -> PhaseResult`` and ``plan_phase(phase, context) ->
PhasePlanPreview`` over MCP; ``ManagerClient`` is the one way the orchestrator calls them, through its
``ToolCaller`` (timeouts, retries, the remaining budget in ``_meta``). The manager server declares the same models
as its tools' arguments and results, so a change to the contract changes both sides.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Field

from .budget import Budget
from .calls import CallResult, ToolCaller
from .catalog import WorkerInfo
from .envelope import AnswerPart, Artifact, ErrorInfo, PhaseResult, ToolCallRecord, Usage
from .evidence import with_data
from .plan import PhaseSpec, PlanNode, Step
from .progress import Progress

EXECUTE_PHASE: Final = "execute_phase"
PLAN_PHASE: Final = "plan_phase"
LIST_WORKERS: Final = "list_workers"
PRIOR_CALLS = 2
"""How many of an earlier phase's data-bearing tool calls a later phase sees."""


class PriorResult(BaseModel):
    """The result of an earlier phase, handed to a phase that depends on it."""

    phase: str
    manager: str
    output: str
    calls: list[ToolCallRecord] = Field(
        default_factory=list, description="Its last tool calls that returned data: what the tools said"
    )
    artifacts: list[Artifact] = Field(default_factory=list)
    missing: str = Field(
        default="", description="What the phase could not find; empty when its goals were met"
    )

    @classmethod
    def of(cls, result: PhaseResult) -> PriorResult:
        return cls(
            phase=result.phase,
            manager=result.manager,
            output=result.output,
            calls=with_data(result.calls())[-PRIOR_CALLS:],
            artifacts=result.artifacts,
            missing="" if result.goal_met else (result.missing or "not stated"),
        )


class PhaseContext(BaseModel):
    """What a manager gets besides its phase: the user's request, what its answer must state, and the results of
    the phases it depends on."""

    request: str = ""
    expects: list[AnswerPart] = Field(
        default_factory=list, description="What the phase's answer must state when the data has it"
    )
    prior: list[PriorResult] = Field(default_factory=list)


class PhasePlanPreview(BaseModel):
    """What ``plan_phase`` returns: the steps the manager would run, nothing executed."""

    manager: str
    planner: str
    steps: list[Step]
    rationale: str = ""
    usage: Usage = Field(default_factory=Usage)


class PolicyInfo(BaseModel):
    name: str
    description: str
    small_model_aid: bool = Field(description="True when it only helps small models")


class WorkerCatalog(BaseModel):
    """What ``list_workers`` returns: the manager's workers and their live tools, and its policies."""

    manager: str
    description: str
    planner: str
    model: str
    policies: list[PolicyInfo]
    workers: list[WorkerInfo]


def _arguments(phase: PlanNode, context: PhaseContext) -> dict[str, Any]:
    return {
        "phase": phase.model_dump(mode="json", exclude_defaults=True),
        "context": context.model_dump(mode="json"),
    }


class ManagerClient:
    """The orchestrator's handle on one manager."""

    def __init__(self, caller: ToolCaller, key: str) -> None:
        self.caller = caller
        self.key = key

    async def execute_phase(
        self,
        phase: PhaseSpec,
        context: PhaseContext,
        *,
        budget: Budget,
        progress: Progress,
        cap_seconds: float | None = None,
    ) -> PhaseResult:
        """Have the manager carry out ``phase`` within ``budget`` (handed down as what remains); a manager that fails
        or cannot be reached gives a failed result saying why (never an exception). The caller charges what the
        result reports it used."""
        made = await self.caller.call(
            self.key,
            EXECUTE_PHASE,
            _arguments(phase, context),
            budget=budget,
            progress=progress.forward,
            cap_seconds=cap_seconds,
            counts=False,
        )
        return self._phase_result(phase, made)

    def _phase_result(self, phase: PlanNode, made: CallResult) -> PhaseResult:
        raw, record = made.raw, made.record
        if raw is not None and not raw.is_error and raw.structured_content is not None:
            return PhaseResult.model_validate(raw.structured_content)
        message = record.error or record.text or "no result"
        kind = record.error_kind or "error"
        return PhaseResult(
            phase=phase.name,
            manager=self.key,
            status="failed",
            output=f"The {self.key} manager failed: {message}",
            missing=phase.goals,
            errors=[ErrorInfo(where=f"{self.key}.{EXECUTE_PHASE}", message=message, kind=kind)],
        )

    async def plan_phase(self, phase: PlanNode, context: PhaseContext, *, budget: Budget) -> PhasePlanPreview:
        """The steps the manager would run for ``phase``; raises ``RuntimeError`` saying why there are none."""
        made = await self.caller.call(
            self.key, PLAN_PHASE, _arguments(phase, context), budget=budget, counts=False
        )
        raw = made.raw
        if raw is None or raw.is_error or raw.structured_content is None:
            raise RuntimeError(made.record.error or made.record.text or "no plan")
        return PhasePlanPreview.model_validate(raw.structured_content)

    async def list_workers(self, *, budget: Budget) -> WorkerCatalog:
        """The manager's workers and their live tool schemas; ``RuntimeError`` saying why when it cannot tell."""
        made = await self.caller.call(self.key, LIST_WORKERS, {}, budget=budget, counts=False)
        raw = made.raw
        if raw is None or raw.is_error or raw.structured_content is None:
            raise RuntimeError(made.record.error or made.record.text or "no answer")
        return WorkerCatalog.model_validate(raw.structured_content)
