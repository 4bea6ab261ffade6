"""The orchestrator MCP server: what Claude Desktop, IDEs and the ``echelon`` CLI run over stdio.

Tools: ``delegate`` (full hierarchical delegation, as a durable run), ``plan`` (preview, nothing executed),
``list_managers``, and the run tools (``_run_tools``); a client that declares the MCP Tasks extension gets
``delegate`` as a task (``_tasks``). It answers ``initialize`` and ``tools/list`` without
starting any manager or waiting for the run database; managers start on first use, concurrently, each starting its
own workers the same way.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from echelon import __version__

from ..core import telemetry
from ..core.budget import META_KEY as BUDGET_KEY
from ..core.calls import ToolCaller
from ..core.config import HierarchyConfig, config_secrets, load_config, run_prepare
from ..core.llm import Model, describe_auto, resolve_model
from ..core.nesting import CHAIN_KEY, Level, RecursiveDelegation, chain_from_meta, enter, level_of
from ..core.pool import OWN_ENV_PREFIXES, ConnectionPool
from ..core.serve import serve_main
from ..core.spent import reporting
from ..core.target import Target
from ..core.tooling import answer_client_errors, tool
from ._delegation import RunInput
from ._durable import DurableRuns
from ._run_tools import progress_of, register_run_tools
from ._tasks import RunOf, TaskNotifications, TasksExtension
from ._workflow_tools import register_workflow_tools
from .orchestrator import Orchestrator
from .planner import PhasePlanner


class ManagerInfo(BaseModel):
    key: str = Field(description="The manager_worker_key phases are routed to")
    description: str
    planner: str
    model: str = Field(description="The model this manager uses ('auto' shown as what it resolves to)")
    workers: list[str]


class LimitsOverride(BaseModel):
    """Per-request limits; any left out keep the configured value."""

    max_model_calls: int | None = Field(default=None, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=1)
    deadline_seconds: float | None = Field(default=None, gt=0)
    max_request_chars: int | None = Field(default=None, ge=1)

    def given(self) -> dict[str, object]:
        return self.model_dump(exclude_none=True)


class DelegateArguments(BaseModel):
    """``delegate``'s arguments, read from a ``tools/call`` that becomes a task."""

    request: str
    context: str | None = None
    limits: LimitsOverride | None = None
    wait_seconds: float | None = Field(default=None, ge=0, le=3600)


def run_input(
    request: str, context: str | None, limits: LimitsOverride | None, handed: dict[str, Any] | None = None
) -> RunInput:
    """A new run of ``request``; ``ValueError`` when there is nothing to do."""
    if not request.strip():
        raise ValueError("request is empty: say what you want done")
    return RunInput(
        run_id=new_run_id(),
        request=request,
        context=context,
        limits=limits.given() if limits else {},
        trace=telemetry.carrier(),
        handed=handed or {},
    )


def handed_down(meta: Mapping[str, Any] | None, me: Level) -> dict[str, Any]:
    """What a calling echelon level handed down (its budget and chain), for the run to keep; ``ToolError`` when
    this orchestrator is already in the chain (its hierarchy reached itself through its workers)."""
    try:
        enter(chain_from_meta(meta), me)
    except RecursiveDelegation as exc:
        raise ToolError(str(exc)) from None
    return {key: value for key, value in (meta or {}).items() if key in (BUDGET_KEY, CHAIN_KEY)}


def delegate_run(arguments: dict[str, Any]) -> RunInput:
    """The run a task-creating ``delegate`` call starts (``wait_seconds`` has no use there)."""
    args = DelegateArguments.model_validate(arguments)
    return run_input(args.request, args.context, args.limits)


@dataclass
class Serving:
    """What one serving orchestrator holds: its logic, and its durable runs."""

    orchestrator: Orchestrator
    runs: DurableRuns


class ManagerListing(BaseModel):
    orchestrator_model: str
    synthesis: bool
    managers: list[ManagerInfo]


def _shown(name: str, role: str) -> str:
    return (
        f"auto -> {describe_auto('orchestrator' if role == 'orchestrator' else 'manager')}"
        if name == "auto"
        else name
    )


def build_server(
    config: HierarchyConfig,
    *,
    model: Model | None = None,
    manager_targets: Mapping[str, Target] | None = None,
    planner: PhasePlanner | None = None,
    task_tools: Mapping[str, RunOf] | None = None,
) -> MCPServer[Any]:
    """The orchestrator server. ``model``/``manager_targets``/``planner`` replace the configured ones (tests);
    ``task_tools`` adds tools, besides ``delegate``, that answer with a task (the conformance suite's fixtures).

    ``delegate`` and ``plan`` return validated envelopes (``DelegationResult``, ``PlanPreview``) but advertise a
    plain object as output schema: their nested schemas were 86% of this server's tools/list, which a host
    carries in every conversation (measured by benchmarks/hierarchy.py).
    """
    chosen_model = model or resolve_model(
        config.orchestrator.model, role="orchestrator", settings=config.models
    )
    targets = dict(manager_targets or {key: config.manager_target(key) for key in config.managers})
    me = level_of(config, "orchestrator")

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncGenerator[Serving]:
        await anyio.to_thread.run_sync(run_prepare, config)
        async with (
            ConnectionPool(targets, env_prefixes=OWN_ENV_PREFIXES) as pool,
            anyio.create_task_group() as tg,
        ):
            try:
                caller = ToolCaller(pool, call_timeout=config.orchestrator.phase_timeout_seconds)
                orchestrator = Orchestrator(
                    config, pool=pool, model=chosen_model, planner=planner, caller=caller
                )
                runs = DurableRuns(orchestrator, config.runs, secrets=config_secrets(config))
                # DBOS starts in the background: initialize and tools/list do not wait for it.
                await tg.start(runs.serve)
                yield Serving(orchestrator, runs)
            finally:
                tg.cancel_scope.cancel()
                await chosen_model.aclose()

    def runs_of(ctx: Any) -> DurableRuns:
        return ctx.lifespan_context.runs

    server = MCPServer[Serving](
        name="echelon",
        version=__version__,
        instructions=(
            "echelon delegates a request to a hierarchy of specialist agents: domain managers "
            f"({', '.join(config.managers)}) that plan steps over their own tools. Use `delegate` for any task in "
            "those domains; `plan` previews what would run; `list_managers` shows the domains. A delegation that "
            "takes longer than wait_seconds answers with a run_id: follow it with `run_result`."
        ),
        lifespan=lifespan,
        extensions=[TasksExtension(runs_of, {"delegate": delegate_run, **(task_tools or {})})],
        middleware=[TaskNotifications(runs_of)],
    )

    @tool(
        server, annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False, open_world_hint=True)
    )
    async def delegate(
        request: Annotated[str, Field(description="The task, in plain language, as the user would put it")],
        ctx: Context[Serving, Any],
        context: Annotated[str | None, Field(description="Extra context for the task (optional)")] = None,
        limits: Annotated[
            LimitsOverride | None,
            Field(description="Per-request limits (model calls, tokens, tool calls, deadline, request size)"),
        ] = None,
        wait_seconds: Annotated[
            float | None,
            Field(
                ge=0,
                le=3600,
                description="How long to wait for the answer before returning the run_id instead (default: "
                "[orchestrator] wait_seconds, 45 s, below desktop hosts' 60 s limit)",
            ),
        ] = None,
    ) -> Annotated[CallToolResult, dict[str, Any]]:
        """Delegate a task to the hierarchy: it is planned into phases, each carried out by a domain manager with
        its workers' tools. Returns a DelegationResult: status, output (the answer), artifacts (files: name, path),
        phases (per-manager results), usage (model calls, tokens, seconds) and errors. If it is not done within
        wait_seconds, it returns {run_id, status: "running", progress} instead and the run goes on: call
        run_result(run_id) to get the answer."""
        try:
            run = run_input(request, context, limits, handed_down(ctx.request_context.meta, me))
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        runs = ctx.request_context.lifespan_context.runs
        wait = config.orchestrator.wait_seconds if wait_seconds is None else wait_seconds
        try:
            async with runs.monitor(run.run_id).following(ctx.report_progress) as followed:
                await runs.submit(run)
                result = await runs.result(run.run_id, wait)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):  # the host gave up on the call: the run stops with it
                await runs.cancel(run.run_id)
            raise
        except RuntimeError as exc:
            raise ToolError(str(exc)) from None
        if result is not None:  # what it spent, for a hierarchy that nests this one as a worker
            return reporting(result, result.usage)
        return reporting(progress_of(await runs.view(run.run_id), seen=followed.seen), None)

    @tool(server, annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
    async def plan(
        request: Annotated[str, Field(description="The task to plan")],
        ctx: Context[Serving, Any],
    ) -> dict[str, Any]:
        """Show how a request would be carried out: the phases, the manager of each, and each manager's steps
        (phases[].phase, phases[].steps). Nothing is executed."""
        if not request.strip():
            raise ToolError("request is empty: say what you want planned")
        orchestrator = ctx.request_context.lifespan_context.orchestrator
        try:
            return (await orchestrator.preview(request)).model_dump(mode="json")
        except Exception as exc:
            raise ToolError(f"could not plan: {exc}") from exc

    @tool(server, annotations=ToolAnnotations(read_only_hint=True))
    async def list_managers() -> ManagerListing:
        """The domain managers this orchestrator delegates to: description, planner, model and workers of each."""
        return ManagerListing(
            orchestrator_model=chosen_model.name
            if model
            else _shown(config.orchestrator.model, "orchestrator"),
            synthesis=config.orchestrator.synthesis,
            managers=[
                ManagerInfo(
                    key=key,
                    description=m.description,
                    planner=m.planner,
                    model=_shown(m.model, "manager"),
                    workers=m.workers,
                )
                for key, m in config.managers.items()
            ],
        )

    register_run_tools(server, lambda ctx: ctx.request_context.lifespan_context.runs)
    register_workflow_tools(server, config, lambda ctx: ctx.request_context.lifespan_context)
    return answer_client_errors(server)


def new_run_id() -> str:
    """A short, unique, time-ordered run id."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        default=None,
        help="echelon.toml (default: $ECHELON_CONFIG, ./echelon.toml or a parent's, else the demo)",
    )
    parser.add_argument("--model", default=None, help="Override the orchestrator's model")


def _build(args: argparse.Namespace) -> MCPServer[Any]:
    from echelon.examples import demo_config_path  # the last resort of a bare `python -m ...`

    config = load_config(args.config, fallback=demo_config_path())
    model = resolve_model(args.model, role="orchestrator", settings=config.models) if args.model else None
    return build_server(config, model=model)


def main(argv: list[str] | None = None) -> None:
    """Serve the orchestrator (stdio by default: this is what desktop hosts run)."""
    serve_main("The echelon orchestrator: hierarchical delegation over MCP.", _build, _add_args, argv)
