"""The generic manager MCP server: ``python -m echelon.servers.managers --name data [--config echelon.toml]``.

It is an MCP server to the orchestrator (``execute_phase``, ``plan_phase``, ``list_workers``) and an MCP client of
its workers, whose sessions it pools for its whole life. Workers start on first use, concurrently.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from echelon import __version__

from ..core._tool_cache import ToolListCache, default_folder
from ..core.budget import Budget
from ..core.calls import ToolCaller
from ..core.config import HierarchyConfig, load_config, run_prepare
from ..core.contracts import (
    EXECUTE_PHASE,
    LIST_WORKERS,
    PLAN_PHASE,
    PhaseContext,
    PhasePlanPreview,
    PolicyInfo,
    WorkerCatalog,
)
from ..core.envelope import PhaseResult
from ..core.llm import Model, resolve_model
from ..core.nesting import RecursiveDelegation, enter, level_of
from ..core.plan import PhaseSpec
from ..core.policies import POLICIES
from ..core.pool import ConnectionPool
from ..core.progress import Progress
from ..core.serve import serve_main
from ..core.spent import reporting
from ..core.target import Target
from ..core.tooling import answer_client_errors, tool
from .manager import Manager
from .planners import StepPlanner

WORKER_ENV = ("ECHELON_", "XDG_")


def build_server(
    config: HierarchyConfig,
    key: str,
    *,
    model: Model | None = None,
    worker_targets: Mapping[str, Target] | None = None,
    planner: StepPlanner | None = None,
) -> MCPServer[Any]:
    """The MCP server of manager ``key``. ``model``/``worker_targets`` replace the configured ones (tests)."""
    if key not in config.managers:
        raise ValueError(
            f"no manager {key!r} in {config.source or 'the config'} (managers: {', '.join(config.managers)})"
        )
    settings = config.managers[key]
    chosen_model = model or resolve_model(settings.model, role="manager", settings=config.models)
    targets: dict[str, Target] = dict(worker_targets or config.worker_targets(key))
    descriptions = {
        name: config.workers[name].description if name in config.workers else "" for name in targets
    }
    tool_filters = {
        name: tools
        for name in targets
        if name in config.workers and (tools := config.workers[name].tools) is not None
    }

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncGenerator[Manager]:
        await anyio.to_thread.run_sync(run_prepare, config)
        folder = default_folder()
        cache = ToolListCache(folder) if folder is not None else None
        async with ConnectionPool(targets, env_prefixes=WORKER_ENV, tool_cache=cache) as pool:
            try:
                yield Manager(
                    key,
                    settings,
                    pool=pool,
                    caller=ToolCaller(pool, call_timeout=settings.step_timeout_seconds),
                    model=chosen_model,
                    worker_descriptions=descriptions,
                    worker_tools=tool_filters,
                    planner=planner,
                )
            finally:
                await chosen_model.aclose()

    server = MCPServer[Manager](
        name=f"echelon-manager-{key}",
        version=__version__,
        instructions=f"The {key!r} domain manager of an echelon hierarchy: {settings.description}",
        lifespan=lifespan,
    )

    me = level_of(config, "manager", key)

    def budget(ctx: Context[Manager, Any]) -> Budget:
        """The caller's remaining budget and deadline, capped by this manager's own limits, with this manager
        added to the chain of levels; ``ToolError`` when it is in the chain already (``core.nesting``)."""
        given = Budget.from_meta(ctx.request_context.meta, config.limits)
        try:
            given.chain = enter(given.chain, me)
        except RecursiveDelegation as exc:
            raise ToolError(str(exc)) from None
        return given

    @tool(
        server,
        name=EXECUTE_PHASE,
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False, destructive_hint=False),
    )
    async def execute_phase(
        phase: Annotated[
            PhaseSpec,
            Field(description="The phase to carry out: name, goals, notes (a workflow's may pin its steps)"),
        ],
        ctx: Context[Manager, Any],
        context: Annotated[
            PhaseContext | None, Field(description="The user's request and results of earlier phases")
        ] = None,
    ) -> Annotated[CallToolResult, PhaseResult]:
        """Carry out one phase in this manager's domain: plan steps over its workers, run them, and return one
        answer with whether the goal was met, the files produced, each step's tool calls and usage."""
        manager = ctx.request_context.lifespan_context
        result = await manager.execute_phase(
            phase, context or PhaseContext(), budget(ctx), Progress(ctx.report_progress)
        )
        return reporting(result, result.usage)  # what it spent, for a hierarchy that nests this manager

    @tool(server, name=PLAN_PHASE, annotations=ToolAnnotations(read_only_hint=True))
    async def plan_phase(
        phase: Annotated[PhaseSpec, Field(description="The phase to plan")],
        ctx: Context[Manager, Any],
        context: Annotated[PhaseContext | None, Field(description="Results of earlier phases")] = None,
    ) -> PhasePlanPreview:
        """Show the steps this manager would run for a phase, with the worker of each; nothing is executed."""
        manager = ctx.request_context.lifespan_context
        try:
            return await manager.plan_phase(phase, context or PhaseContext(), budget(ctx))
        except Exception as exc:
            raise ToolError(f"could not plan phase {phase.name!r}: {exc}") from exc

    @tool(server, name=LIST_WORKERS, annotations=ToolAnnotations(read_only_hint=True))
    async def list_workers(ctx: Context[Manager, Any]) -> WorkerCatalog:
        """This manager's workers and their live tool schemas (condensed), and which model and planner it uses."""
        manager = ctx.request_context.lifespan_context
        workers = await manager.workers(refresh=True)
        return WorkerCatalog(
            manager=key,
            description=settings.description,
            planner=type(manager.planner).__name__,
            model=chosen_model.name,
            policies=[
                PolicyInfo(
                    name=name,
                    description=POLICIES[name].description,
                    small_model_aid=POLICIES[name].small_model_aid,
                )
                for name in settings.policies
            ],
            workers=list(workers.values()),
        )

    return answer_client_errors(server)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="The manager_worker_key of the manager to serve")
    parser.add_argument(
        "--config",
        default=None,
        help="echelon.toml (default: $ECHELON_CONFIG, ./echelon.toml or a parent's, else the demo)",
    )
    parser.add_argument(
        "--model", default=None, help="Override the manager's model (e.g. local, anthropic:...)"
    )


def _build(args: argparse.Namespace) -> MCPServer[Any]:
    from echelon.examples import demo_config_path  # the last resort of a bare `python -m ...`

    config = load_config(args.config, fallback=demo_config_path())
    model = resolve_model(args.model, role="manager", settings=config.models) if args.model else None
    return build_server(config, args.name, model=model)


def main(argv: list[str] | None = None) -> None:
    """Serve one manager (stdio by default)."""
    serve_main("An echelon domain manager (MCP server and client of its workers).", _build, _add_args, argv)
