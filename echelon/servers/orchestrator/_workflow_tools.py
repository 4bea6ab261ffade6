"""The orchestrator's workflow tools: ``check_workflow``, ``run_workflow``, and one ``workflow_<name>`` tool per
workflow file in the configured folders, whose input schema is the workflow's inputs (a host sees
``workflow_monthly_region_report(region, year)`` as a typed tool). Files are read when the server is built; no
manager starts until a workflow is checked or run."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from ..core import telemetry
from ..core.budget import Budget
from ..core.config import HierarchyConfig, workflow_files
from ..core.tooling import tool
from ..core.workflow import InputSpec, Workflow, WorkflowError, load_workflow, parse_workflow
from ..core.workflow._check import call_problems, resolve_inputs, static_problems
from ..core.workflow._templates import references
from ._delegation import RunInput
from ._run_tools import progress_of

if TYPE_CHECKING:
    from .server import Serving

_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "list": list[Any]}


class WorkflowCheck(BaseModel):
    """What ``check_workflow`` found: no problems means it would run."""

    ok: bool
    problems: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs it would run with")


async def check(
    serving: Serving, workflow: Workflow, given: Mapping[str, Any], *, source: str
) -> tuple[dict[str, Any], list[str]]:
    """The inputs a run of ``workflow`` would get, and every problem it has (the live tool schemas included)."""
    config = serving.orchestrator.config
    problems = static_problems(workflow, {k: m.workers for k, m in config.managers.items()}, source=source)
    inputs: dict[str, Any] = {}
    try:
        inputs = resolve_inputs(workflow, given, source=source)
    except WorkflowError as exc:
        problems += exc.problems
    if problems:
        return inputs, problems
    pinned = sorted({p.worker for p in workflow.phases if p.steps})
    catalogs: dict[str, Any] = {}
    for key in pinned:
        try:
            listing = await serving.orchestrator.manager(key).list_workers(budget=Budget.start(config.limits))
        except RuntimeError as exc:
            problems.append(f"{source}: manager {key!r} could not list its workers: {exc}")
            continue
        catalogs[key] = {w.name: w for w in listing.workers}
    return inputs, problems + call_problems(workflow, inputs, catalogs, source=source)


def read(text: str, config: HierarchyConfig, named: Mapping[str, Path]) -> tuple[Workflow, str]:
    """A workflow given as a configured name, a file path, or the file's text itself."""
    stripped = text.strip()
    if stripped in named:
        return load_workflow(named[stripped]), str(named[stripped])
    if (
        "\n" not in stripped
        and not stripped.startswith("{")
        and Path(stripped).expanduser().suffix in (".toml", ".json")
    ):
        path = Path(stripped).expanduser()
        if not path.is_absolute() and config.source is not None:
            path = config.source.parent / path
        return load_workflow(path), str(path)
    return parse_workflow(text, source="<workflow>"), "<workflow>"


async def start(
    serving: Serving,
    workflow: Workflow,
    given: Mapping[str, Any],
    source: str,
    ctx: Context[Any, Any],
    wait: float,
) -> dict[str, Any]:
    """Check, then run ``workflow`` as a durable run; a workflow with problems runs nothing."""
    inputs, problems = await check(serving, workflow, given, source=source)
    if problems:
        raise ToolError("the workflow was not run:\n" + "\n".join(problems))
    from .server import handed_down, new_run_id

    runs = serving.runs
    run = RunInput(
        run_id=new_run_id(),
        request=workflow.description or f"workflow {source}",
        workflow=workflow,
        inputs=inputs,
        trace=telemetry.carrier(),
        handed=handed_down(ctx.request_context.meta, serving.orchestrator.level),
    )
    try:
        async with runs.monitor(run.run_id).following(ctx.report_progress) as followed:
            await runs.submit(run)
            result = await runs.result(run.run_id, wait)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await runs.cancel(run.run_id)
        raise
    if result is not None:
        return result.model_dump(mode="json")
    return progress_of(await runs.view(run.run_id), seen=followed.seen).model_dump(mode="json")


def tool_name(path: Path) -> str:
    return "workflow_" + re.sub(r"[^A-Za-z0-9_]+", "_", path.stem).strip("_").lower()


def register_workflow_tools(
    server: MCPServer[Any], config: HierarchyConfig, serving_of: Callable[[Any], Serving]
) -> None:
    """Add check_workflow, run_workflow and one tool per configured workflow file."""
    files = {tool_name(p).removeprefix("workflow_"): p for p in workflow_files(config)}
    wait_default = config.orchestrator.wait_seconds

    @tool(server, annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    async def check_workflow(
        workflow: Annotated[
            str, Field(description="A workflow file's path, a configured workflow's name, or its TOML/JSON")
        ],
        ctx: Context[Any, Any],
        inputs: Annotated[
            dict[str, Any] | None, Field(description="Input values (defaults fill the rest)")
        ] = None,
    ) -> WorkflowCheck:
        """Check a workflow without running it: its inputs, its graph and references, its managers and workers,
        and every pinned call's arguments against the tool's live schema. Each problem names the node and field."""
        try:
            parsed, source = read(workflow, config, files)
        except WorkflowError as exc:
            return WorkflowCheck(ok=False, problems=exc.problems)
        resolved, problems = await check(serving_of(ctx), parsed, inputs or {}, source=source)
        return WorkflowCheck(ok=not problems, problems=problems, inputs=resolved)

    @tool(
        server, annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False, open_world_hint=True)
    )
    async def run_workflow(
        workflow: Annotated[
            str, Field(description="A workflow file's path, a configured workflow's name, or its TOML/JSON")
        ],
        ctx: Context[Any, Any],
        inputs: Annotated[
            dict[str, Any] | None, Field(description="Input values (defaults fill the rest)")
        ] = None,
        wait_seconds: Annotated[float | None, Field(ge=0, le=3600, description="As for delegate")] = None,
    ) -> dict[str, Any]:
        """Run a workflow (a plan a person wrote) as a durable run: checked first, and nothing runs if it has
        problems. Returns a DelegationResult, or {run_id, status: running} after wait_seconds (see run_result)."""
        try:
            parsed, source = read(workflow, config, files)
        except WorkflowError as exc:
            raise ToolError("the workflow was not run:\n" + "\n".join(exc.problems)) from None
        wait = wait_default if wait_seconds is None else wait_seconds
        return await start(serving_of(ctx), parsed, inputs or {}, source, ctx, wait)

    for short, path in files.items():
        try:
            parsed = load_workflow(path)
        except WorkflowError:
            continue  # check_workflow names its problems; a broken file offers no tool
        server.add_tool(
            _workflow_tool(parsed, path, serving_of, wait_default),
            name=f"workflow_{short}",
            description=(parsed.description or f"Run the workflow {path.name}")
            + " (a durable run; see run_result)",
            annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False, open_world_hint=True),
        )


def _workflow_tool(
    workflow: Workflow, path: Path, serving_of: Callable[[Any], Serving], wait: float
) -> Callable[..., Any]:
    """A tool function whose parameters are the workflow's inputs, typed, with their defaults."""

    async def run(ctx: Context[Any, Any], **inputs: Any) -> dict[str, Any]:
        return await start(
            serving_of(ctx),
            workflow,
            {k: v for k, v in inputs.items() if v is not None},
            str(path),
            ctx,
            wait,
        )

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context[Any, Any])]
    for name, spec in workflow.inputs.items():
        parameters.append(_parameter(name, spec))
    run.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": dict[str, Any]}
    return run


def _parameter(name: str, spec: InputSpec) -> inspect.Parameter:
    kind = _TYPES[spec.type]
    description = spec.description or name
    if references(spec.default):  # a default such as {{today.last_year}}: filled in when the workflow runs
        annotation: Any = Annotated[
            kind | None, Field(description=f"{description} (default: {spec.default})")
        ]
        return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=None)
    annotation = Annotated[kind, Field(description=description)]
    default = spec.default if spec.default is not None else inspect.Parameter.empty
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
