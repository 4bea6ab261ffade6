"""Reading run records: a summary per run, and one run in full (plan, phases as they stand, events, result).

Everything comes from DBOS's own tables through a ``DBOSClient`` (no DBOS runtime is started): the workflow's
input and output, its recorded steps (``plan``, ``phase:<name>``, ``replan:<n>``, ``answer``) and its ``events``
stream. A running phase is one whose dependencies are done and whose step is not recorded yet; it started when
the last of them (or the plan) finished, and what it is doing is its latest progress message.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field

from ..envelope import DelegationResult, PhaseResult, Usage
from ..plan import Plan
from . import EVENTS_STREAM, WORKFLOW_NAME, RunEvent, RunStatus, RunSummary

PhaseState = Literal["waiting", "running", "ok", "partial", "failed", "cancelled", "skipped", "not run"]
_DONE = ("ok", "partial", "failed", "cancelled")


class PhaseView(BaseModel):
    """One phase of a run as it stands."""

    name: str
    manager: str
    goals: str = ""
    depends_on: list[str] = Field(default_factory=list)
    state: PhaseState
    result: PhaseResult | None = None
    started_at: float | None = None
    finished_at: float | None = None
    activity: str = Field(
        default="", description="What a running phase is doing: its latest progress message"
    )


class Checkpoint(BaseModel):
    """One recorded step of the run's workflow (``plan``, ``phase:<name>``, ``replan:<n>``, ``answer``)."""

    name: str
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None


class RunView(BaseModel):
    """One run in full: its summary, plan, phases, progress events, and the result once there is one."""

    summary: RunSummary
    plan: Plan | None = None
    phases: list[PhaseView] = Field(default_factory=list)
    events: list[RunEvent] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(default_factory=list, description="Recorded steps, in order")
    result: DelegationResult | None = None
    error: str | None = Field(default=None, description="Why the run itself broke, when it did")


def run_status(dbos_status: str, output: Any) -> RunStatus:
    if dbos_status in ("ENQUEUED", "DELAYED"):
        return "queued"
    if dbos_status == "PENDING":
        return "running"
    if dbos_status == "CANCELLED":
        return "cancelled"
    if dbos_status == "SUCCESS" and isinstance(output, dict) and output.get("status") in _DONE:
        return output["status"]  # pyright: ignore[reportUnknownVariableType]
    return "failed"


def summary_of(workflow: Any) -> RunSummary:
    """A run's summary from a DBOS ``WorkflowStatus``."""
    run = _input(workflow)
    output = workflow.output if isinstance(workflow.output, dict) else None
    usage = (output or {}).get("usage") or {}
    phases = (output or {}).get("phases") or []
    planned = ((output or {}).get("plan") or {}).get("phases") or []
    started = workflow.created_at / 1000 if workflow.created_at else None
    ended = workflow.completed_at / 1000 if workflow.completed_at else None
    return RunSummary(
        run_id=workflow.workflow_id,
        status=run_status(workflow.status, output),
        request=str(run.get("request", "")),
        started_at=started,
        updated_at=workflow.updated_at / 1000 if workflow.updated_at else None,
        phases_done=len(phases),
        phases_total=len(planned) or None,
        llm_calls=int(usage.get("llm_calls", 0)),
        tokens=int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0)),
        cost_usd=float(usage.get("cost_usd", 0.0)),
        # The delegation's own measure; DBOS's times are whole seconds on SQLite.
        wall_seconds=usage.get("wall_seconds") or ((ended - started) if started and ended else None),
        resumed_from=workflow.forked_from,
    )


def _input(workflow: Any) -> dict[str, Any]:
    inputs = workflow.input or {}
    args = inputs.get("args") if isinstance(inputs, dict) else None
    first = args[0] if args else None
    return first if isinstance(first, dict) else {}  # pyright: ignore[reportUnknownVariableType]


class RunReader:
    """Reads runs from one run database."""

    def __init__(self, url: str) -> None:
        from dbos import DBOSClient

        self.client = DBOSClient(system_database_url=url)

    def close(self) -> None:
        self.client.destroy()

    async def list(self, *, limit: int = 20, status: RunStatus | None = None) -> list[RunSummary]:
        """The newest runs first; ``status`` keeps only runs in that state."""
        try:
            workflows = await self.client.list_workflows_async(
                name=WORKFLOW_NAME,
                limit=None if status else limit,
                sort_desc=True,
                load_input=True,
                load_output=True,
            )
        except Exception as exc:
            if not_made_yet(exc):
                return []
            raise
        summaries = [summary_of(w) for w in workflows]
        if status is not None:
            summaries = [s for s in summaries if s.status == status]
        summaries = summaries[:limit]
        for summary in summaries:
            if summary.status in ("queued", "running"):
                so_far(summary, await self.client.list_workflow_steps_async(summary.run_id))
        return summaries

    async def get(self, run_id: str, *, with_events: bool = True) -> RunView | None:
        """One run in full, or None if there is no such run."""
        try:
            found = await self.client.list_workflows_async(
                workflow_ids=[run_id], load_input=True, load_output=True
            )
        except Exception as exc:
            if not_made_yet(exc):
                return None
            raise
        if not found or found[0].name != WORKFLOW_NAME:
            return None
        workflow = found[0]
        steps = await self.client.list_workflow_steps_async(run_id)
        view = RunView(summary=summary_of(workflow))
        if isinstance(workflow.output, dict):
            view.result = DelegationResult.model_validate(workflow.output)
        else:
            so_far(view.summary, steps)
        if workflow.error is not None:
            view.error = str(workflow.error)
        view.plan, view.phases = _phases(steps, view.result, view.summary.status)
        view.checkpoints = [
            Checkpoint(
                name=step["function_name"],
                started_at=_seconds(step.get("started_at_epoch_ms")),
                finished_at=_seconds(step.get("completed_at_epoch_ms")),
                error=str(step["error"]) if step.get("error") is not None else None,
            )
            for step in steps
        ]
        if view.plan is not None and view.summary.phases_total is None:
            view.summary.phases_total = len(view.plan.phases)
        view.summary.phases_done = sum(1 for p in view.phases if p.state in _DONE)
        if with_events:
            view.events = await self.events(run_id)
            note_activity(view)
        return view

    async def events(self, run_id: str, offset: int = 0) -> list[RunEvent]:
        """The run's progress events from ``offset`` on, without waiting for more."""
        from dbos import error

        events: list[RunEvent] = []
        try:
            with anyio.move_on_after(2.0):
                async for value in self.client.read_stream_async(
                    run_id, EVENTS_STREAM, offset=offset, timeout_seconds=0.05
                ):
                    events.append(RunEvent.model_validate(value))
        except (error.DBOSException, TimeoutError):
            pass  # no more events yet
        return events


def so_far(summary: RunSummary, steps: list[Any]) -> None:
    """A run without a result yet: its phases and cost so far, from its recorded steps."""
    usage = Usage()
    done = 0
    for step in steps:
        output, name = step.get("output"), step["function_name"]
        if not isinstance(output, dict):
            continue
        if name == "plan" and isinstance(output.get("plan"), dict):
            summary.phases_total = len(output["plan"].get("phases") or []) or None
        done += name.startswith("phase:")
        if isinstance(output.get("usage"), dict):
            usage.add(Usage.model_validate(output["usage"]))
    summary.phases_done, summary.llm_calls, summary.tokens = done, usage.llm_calls, usage.tokens


def not_made_yet(exc: BaseException) -> bool:
    """Whether ``exc`` says the database has no DBOS tables yet: no orchestrator has run a delegation on it."""
    text = str(exc)
    return "no such table" in text or ("does not exist" in text and "workflow_status" in text)


def _phases(
    steps: list[Any], result: DelegationResult | None, status: RunStatus
) -> tuple[Plan | None, list[PhaseView]]:
    """The plan and its phases as they stand, from the recorded steps."""
    plan: Plan | None = None
    finished: dict[str, tuple[PhaseResult, Any]] = {}
    for step in steps:
        name, output = step["function_name"], step.get("output")
        if name == "plan" and isinstance(output, dict) and output.get("plan"):
            plan = Plan.model_validate(output["plan"])
        elif name.startswith("phase:") and isinstance(output, dict):
            finished[name.removeprefix("phase:")] = (PhaseResult.model_validate(output), step)
    if plan is None:
        return None, []
    planned_at = next(
        (_seconds(s.get("completed_at_epoch_ms")) for s in steps if s["function_name"] == "plan"), None
    )
    running = status in ("queued", "running")
    phases: list[PhaseView] = []
    nodes = list(plan.phases)
    if result is not None:  # replanned phases too, in the order they ran
        known = {n.name for n in nodes}
        nodes += [p for p in _replanned(result) if p.name not in known]
    for node in nodes:
        done = finished.get(node.name)
        if done is not None:
            phase_result, step = done
            state: PhaseState = (
                "skipped" if any(e.kind == "skipped" for e in phase_result.errors) else phase_result.status
            )
            phases.append(
                PhaseView(
                    name=node.name,
                    manager=node.worker,
                    goals=node.goals,
                    depends_on=node.depends_on,
                    state=state,
                    result=phase_result,
                    started_at=_seconds(step.get("started_at_epoch_ms")),
                    finished_at=_seconds(step.get("completed_at_epoch_ms")),
                )
            )
            continue
        ready = all(d in finished for d in node.depends_on)
        state = ("running" if ready else "waiting") if running else "not run"
        began = None
        if state == "running":
            ends = [_seconds(finished[d][1].get("completed_at_epoch_ms")) for d in node.depends_on]
            began = max([t for t in [planned_at, *ends] if t is not None], default=None)
        if result is not None:
            match = next((p for p in result.phases if p.phase == node.name), None)
            if match is not None:
                state = "skipped" if any(e.kind == "skipped" for e in match.errors) else match.status
        phases.append(
            PhaseView(
                name=node.name,
                manager=node.worker,
                goals=node.goals,
                depends_on=node.depends_on,
                state=state,
                started_at=began,
            )
        )
    return plan, phases


def note_activity(view: RunView) -> None:
    """Give each running phase of the first plan its latest progress message (``phase i/n manager › ...``)."""
    if view.plan is None:
        return
    total = len(view.plan.phases)
    for position, node in enumerate(view.plan.phases, 1):
        phase = next((p for p in view.phases if p.name == node.name), None)
        if phase is None or phase.state != "running":
            continue
        prefix = f"phase {position}/{total} {node.worker}"
        said = [e.message for e in view.events if e.message.startswith(prefix)]
        if said:
            phase.activity = said[-1].removeprefix(prefix).lstrip(" ›") or said[-1]


def _replanned(result: DelegationResult) -> list[Any]:
    from ..plan import PlanNode

    by_name = {p.phase: p for p in result.phases}
    return [
        PlanNode(name=n, worker=by_name[n].manager, goals=by_name[n].phase)
        for r in result.replans
        for n in r.phases
        if n in by_name
    ]


def _seconds(ms: int | None) -> float | None:
    return ms / 1000 if ms else None
