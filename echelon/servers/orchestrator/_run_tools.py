"""The orchestrator's run tools: how a host follows a delegation that outlives its call.

Desktop hosts give up on a tool call after about 60 s, so ``delegate`` answers after ``wait_seconds`` (45 by
default) with the run id when the run is still going, and these tools finish the conversation: ``run_result``
waits for the answer, ``run_status`` shows how far it got, ``cancel_run`` stops it, ``list_runs`` lists runs,
``resume_run`` continues one that stopped. Each run is also the resource ``echelon://runs/{run_id}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ..core.envelope import clip
from ..core.runs import RunEvent, RunStatus, RunSummary
from ..core.runs._reader import PhaseState, RunView
from ..core.tooling import tool

if TYPE_CHECKING:
    from ._durable import DurableRuns

CONTINUE = (
    "The run goes on without you. Call run_result(run_id={run_id!r}, wait_seconds=45) to wait for the answer "
    "(call it again while it says running), run_status to see how far it got, cancel_run to stop it."
)


class PhaseLine(BaseModel):
    name: str
    manager: str
    state: PhaseState
    output: str = ""


class RunProgress(BaseModel):
    """A run that is still going (or how one stands): what it is, how far it got, and how to continue."""

    run_id: str
    status: RunStatus
    request: str
    phases: list[PhaseLine] = Field(default_factory=list)
    progress: list[str] = Field(
        default_factory=list, description="The latest progress messages, oldest first"
    )
    next: str = Field(default="", description="How to continue with this run")
    seen: int | None = Field(
        default=None,
        description="How many progress messages this call passed on; give it to run_result as after_event to "
        "get the ones sent in between",
    )


def progress_of(
    view: RunView, events: list[RunEvent] | None = None, *, seen: int | None = None
) -> RunProgress:
    summary = view.summary
    lines = [
        PhaseLine(
            name=p.name,
            manager=p.manager,
            state=p.state,
            output=clip(p.result.output, 500) if p.result is not None else "",
        )
        for p in view.phases
    ]
    shown = events if events is not None else view.events
    going = summary.status in ("queued", "running")
    return RunProgress(
        run_id=summary.run_id,
        status=summary.status,
        request=summary.request,
        phases=lines,
        progress=[e.message for e in shown[-12:]],
        next=CONTINUE.format(run_id=summary.run_id) if going else "",
        seen=seen,
    )


def register_run_tools(server: MCPServer[Any], runs_of: Any) -> None:
    """Add the run tools and resource to ``server``; ``runs_of(ctx)`` gives the ``DurableRuns`` of a request."""

    async def view(ctx: Context[Any, Any], run_id: str) -> tuple[DurableRuns, RunView]:
        runs: DurableRuns = runs_of(ctx)
        try:
            return runs, await runs.view(run_id)
        except LookupError as exc:
            raise ToolError(str(exc)) from None

    @tool(server, annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    async def run_status(
        run_id: Annotated[str, Field(description="The run_id delegate or list_runs gave")],
        ctx: Context[Any, Any],
    ) -> RunProgress:
        """How a run stands: its status (queued, running, ok, partial, failed, cancelled), each phase's state and
        answer so far, and its latest progress messages."""
        return progress_of((await view(ctx, run_id))[1])

    @tool(server, annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    async def run_result(
        run_id: Annotated[str, Field(description="The run_id delegate gave")],
        ctx: Context[Any, Any],
        wait_seconds: Annotated[
            float,
            Field(ge=0, le=600, description="How long to wait for the run to finish (keep it under 50)"),
        ] = 45,
        after_event: Annotated[
            int | None,
            Field(
                ge=0,
                description="The `seen` of the previous delegate or run_result answer: the progress messages "
                "sent since are passed on first, so a follower misses none",
            ),
        ] = None,
    ) -> dict[str, Any]:
        """The run's full answer (a DelegationResult) once it has finished, waiting up to wait_seconds; while it
        is still going, its progress and the run_id to ask again with."""
        runs, _current = await view(ctx, run_id)
        async with runs.monitor(run_id).following(ctx.report_progress, after=after_event) as followed:
            result = await runs.result(run_id, wait_seconds)
        if result is not None:
            return result.model_dump(mode="json")
        return progress_of(await runs.view(run_id), seen=followed.seen).model_dump(mode="json")

    @tool(
        server, annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True)
    )
    async def cancel_run(
        run_id: Annotated[str, Field(description="The run to stop")], ctx: Context[Any, Any]
    ) -> RunProgress:
        """Stop a run: the manager call it is making is cancelled and no further phase runs. What finished is
        kept (resume_run continues from there)."""
        runs: DurableRuns = runs_of(ctx)
        try:
            return progress_of(await runs.cancel(run_id))
        except LookupError as exc:
            raise ToolError(str(exc)) from None

    @tool(server, annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    async def list_runs(
        ctx: Context[Any, Any],
        limit: Annotated[int, Field(ge=1, le=200, description="How many runs, newest first")] = 20,
        status: Annotated[
            Literal["queued", "running", "ok", "partial", "failed", "cancelled"] | None,
            Field(description="Only runs in this state"),
        ] = None,
    ) -> list[RunSummary]:
        """Recent runs, newest first: id, request, status, phases done, model calls, tokens and time."""
        runs: DurableRuns = runs_of(ctx)
        await runs.started()
        return await runs.reader.list(limit=limit, status=status)

    @tool(server, annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True))
    async def resume_run(
        run_id: Annotated[str, Field(description="A cancelled, failed or partial run")],
        ctx: Context[Any, Any],
    ) -> RunProgress:
        """Continue a run that stopped: a cancelled one from where it stopped, one that finished with failed
        phases from its first failed phase (under a new run_id). Finished phases are never run again."""
        runs: DurableRuns = runs_of(ctx)
        try:
            continued = await runs.resume(run_id)
            return progress_of(await runs.view(continued))
        except (LookupError, ValueError) as exc:
            raise ToolError(str(exc)) from None

    @server.resource(
        "echelon://runs/{run_id}",
        name="run",
        description="One run in full: plan, phases, progress events and result",
        mime_type="application/json",
    )
    async def run_resource(run_id: str, ctx: Context[Any, Any]) -> str:
        try:
            return (await runs_of(ctx).view(run_id)).model_dump_json()
        except LookupError as exc:
            raise ResourceNotFoundError(str(exc)) from None
