"""The MCP Tasks extension (``io.modelcontextprotocol/tasks``, SEP-2663) on the orchestrator: a delegation as a task.

A client that declares the extension in a ``tools/call`` request's capabilities (protocol 2026-07-28) gets a
``CreateTaskResult`` at once for a task tool (``delegate``): the task is the durable run, and its id is the run id.
``tasks/get`` reads the run from the run database (``working`` while it is queued or running, ``completed`` with
exactly the result the tool path would have returned, ``cancelled``), ``tasks/cancel`` cancels it,
``tasks/update`` acknowledges (a delegation never asks for input), and ``subscriptions/listen`` with
``notifications.taskIds`` streams ``notifications/tasks`` whenever a task's status changes. A client that does not
declare the extension, and every handshake-era connection, gets the tool path.

The SDK has the extension interface (methods, a ``tools/call`` interceptor) but no tasks runtime; this is ours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio
import pydantic_core
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver import require_client_extension
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import MCP_NAME_HEADER, decode_header_value
from mcp.shared.subscriptions import SUBSCRIPTION_ID_META_KEY
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    RequestParams,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenResult,
    TextContent,
)
from mcp_types.jsonrpc import HEADER_MISMATCH, INVALID_PARAMS
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from ._delegation import RunInput

if TYPE_CHECKING:
    from ._durable import DurableRuns

EXTENSION = "io.modelcontextprotocol/tasks"
POLL_INTERVAL_MS = 1000  # what clients are told; a delegation takes seconds to minutes
WATCH_SECONDS = 0.5  # how often a notification stream reads the runs it follows

TaskStatus = Literal["working", "input_required", "completed", "cancelled", "failed"]
TERMINAL: tuple[TaskStatus, ...] = ("completed", "cancelled", "failed")
RunOf = Callable[[dict[str, Any]], RunInput]
"""Turns a task tool's arguments into its run; raises ``ValueError`` (or a pydantic ``ValidationError``) when they
are not valid, and the call then takes the tool path, which reports what is wrong."""
RunsOf = Callable[[ServerRequestContext[Any, Any]], "DurableRuns"]


class TaskParams(RequestParams):
    task_id: str = Field(alias="taskId")


class UpdateTaskParams(TaskParams):
    input_responses: dict[str, Any] = Field(default_factory=dict, alias="inputResponses")


class DetailedTask(BaseModel):
    """A task as ``tasks/get`` and ``notifications/tasks`` show it (the ``CreateTaskResult`` without its payload)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    task_id: str
    status: TaskStatus
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = Field(default=None, description="None: kept as long as the run database keeps runs")
    poll_interval_ms: int = POLL_INTERVAL_MS
    result: dict[str, Any] | None = None

    def wire(self, *, payload: bool = True) -> dict[str, Any]:
        shown = self.model_dump(by_alias=True, mode="json", exclude_none=True)
        shown["ttlMs"] = self.ttl_ms  # null is meaningful: no expiry
        if not payload:
            shown.pop("result", None)
        return shown


def tool_result(output: dict[str, Any]) -> dict[str, Any]:
    """The ``CallToolResult`` a tool returning ``output`` gives on the tool path (text and structured content)."""
    text = pydantic_core.to_json(output, fallback=str, indent=2).decode()
    result = CallToolResult(content=[TextContent(type="text", text=text)], structured_content=output)
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _iso(unix: float | None) -> str:
    return datetime.fromtimestamp(unix if unix is not None else time.time(), UTC).isoformat()


def _unknown(task_id: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=f"Failed to retrieve task: there is no task {task_id!r}")


async def detailed(runs: DurableRuns, task_id: str) -> DetailedTask:
    """The task of run ``task_id`` as it stands; ``MCPError`` (-32602) when there is no such run."""
    try:
        view = await runs.view(task_id)
    except LookupError:
        raise _unknown(task_id) from None
    summary = view.summary
    task = DetailedTask(
        task_id=task_id,
        status="working",
        created_at=_iso(summary.started_at),
        last_updated_at=_iso(summary.updated_at or summary.started_at),
    )
    if summary.status in ("queued", "running"):
        task.status_message = view.events[-1].message if view.events else summary.status
    elif summary.status == "cancelled":
        task.status, task.status_message = "cancelled", "the run was cancelled"
    else:
        # Finished, or broken: the tool path answers both with a DelegationResult, and so does the task.
        result = view.result or await runs.result(task_id, wait_seconds=5)
        task.status = "completed"
        task.status_message = f"the run finished: {summary.status}"
        task.result = tool_result(result.model_dump(mode="json")) if result is not None else None
    return task


def _modern(ctx: ServerRequestContext[Any, Any]) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def check_routing(ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
    """Over Streamable HTTP a tasks request names its task in the ``Mcp-Name`` header too (SEP-2663, for routing
    by intermediaries): one that does not, or names another, is refused like any header mismatch (SEP-2243)."""
    request = ctx.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return  # stdio, or in-process: no headers to route by
    named = decode_header_value(headers.get(MCP_NAME_HEADER))
    if named != task_id:
        raise MCPError(
            code=HEADER_MISMATCH,
            message=f"the {MCP_NAME_HEADER} header ({named!r}) must name the request's taskId ({task_id!r})",
        )


def client_declares(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the extension (per request on 2026-07-28)."""
    capabilities = ctx.session.client_capabilities
    return bool(capabilities and capabilities.extensions and EXTENSION in capabilities.extensions)


class TasksExtension(Extension):
    """Serves ``tools`` as tasks to clients that declare the extension; ``runs_of(ctx)`` gives the runs."""

    identifier = EXTENSION

    def __init__(self, runs_of: RunsOf, tools: Mapping[str, RunOf]) -> None:
        self.runs_of = runs_of
        self.task_tools = dict(tools)

    def methods(self) -> Sequence[MethodBinding]:
        modern = frozenset(MODERN_PROTOCOL_VERSIONS)
        return (
            MethodBinding("tasks/get", TaskParams, self.get, protocol_versions=modern),
            MethodBinding("tasks/update", UpdateTaskParams, self.update, protocol_versions=modern),
            MethodBinding("tasks/cancel", TaskParams, self.cancel, protocol_versions=modern),
        )

    async def intercept_tool_call(
        self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        make = self.task_tools.get(params.name)
        if make is None or not _modern(ctx) or not client_declares(ctx):
            return await call_next(ctx)
        try:
            run = make(dict(params.arguments or {}))
        except (ValueError, ValidationError):
            return await call_next(ctx)  # the tool path says what is wrong with the arguments
        runs = self.runs_of(ctx)
        try:
            await runs.submit(run)  # recorded in the run database: tasks/get finds it from now on
        except RuntimeError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)
        task = await detailed(runs, run.run_id)
        return {"resultType": "task", **task.wire(payload=False)}

    async def get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        require_client_extension(ctx, EXTENSION)
        check_routing(ctx, params.task_id)
        return (await detailed(self.runs_of(ctx), params.task_id)).wire()

    async def update(self, ctx: ServerRequestContext[Any, Any], params: UpdateTaskParams) -> HandlerResult:
        """A delegation never asks for input, so there is nothing outstanding: responses are ignored."""
        require_client_extension(ctx, EXTENSION)
        check_routing(ctx, params.task_id)
        await detailed(self.runs_of(ctx), params.task_id)
        return {}

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> HandlerResult:
        require_client_extension(ctx, EXTENSION)
        check_routing(ctx, params.task_id)
        runs = self.runs_of(ctx)
        try:
            await runs.cancel(params.task_id)  # a finished run stays as it is: the ack is the same
        except LookupError:
            raise _unknown(params.task_id) from None
        return {}


class TaskNotifications:
    """Middleware serving ``subscriptions/listen`` requests that name ``notifications.taskIds``.

    The stream acknowledges the ids of tasks there are, sends each one's current state, then a
    ``notifications/tasks`` (a full ``DetailedTask``) on every status change, read from the run database (the run
    may be executed by another orchestrator on it), and ends when every task it follows has finished. Other
    notification kinds asked for on the same request are not honored there (the ack says so); a listen request
    without ``taskIds`` goes to the SDK's handler.
    """

    def __init__(self, runs_of: RunsOf) -> None:
        self.runs_of = runs_of

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        ids = _task_ids(ctx.params) if ctx.method == "subscriptions/listen" and _modern(ctx) else None
        if ids is None:
            return await call_next(ctx)
        require_client_extension(ctx, EXTENSION)
        runs = self.runs_of(ctx)
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: ctx.request_id}
        shown: dict[str, DetailedTask] = {}
        for task_id in ids:
            try:
                shown[task_id] = await detailed(runs, task_id)
            except MCPError:
                continue  # not a task: not honored
        honored = SubscriptionFilter.model_validate({"taskIds": list(shown)})
        ack = SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)
        await ctx.session.send_notification(
            SubscriptionsAcknowledgedNotification(params=ack), related_request_id=ctx.request_id
        )
        for task in shown.values():
            await self._send(ctx, task, meta)
        while any(t.status not in TERMINAL for t in shown.values()):
            await anyio.sleep(WATCH_SECONDS)
            for task_id, before in list(shown.items()):
                if before.status in TERMINAL:
                    continue
                now = await detailed(runs, task_id)
                if now.status != before.status:
                    shown[task_id] = now
                    await self._send(ctx, now, meta)
        return SubscriptionsListenResult(_meta=meta)

    @staticmethod
    async def _send(ctx: ServerRequestContext[Any, Any], task: DetailedTask, meta: dict[str, Any]) -> None:
        notification = TaskNotification(params={**task.wire(), "_meta": meta})
        await ctx.session.send_notification(cast(Any, notification), related_request_id=ctx.request_id)


class TaskNotification(BaseModel):
    method: Literal["notifications/tasks"] = "notifications/tasks"
    params: dict[str, Any]


def _task_ids(params: Mapping[str, Any] | None) -> list[str] | None:
    notifications = (params or {}).get("notifications")
    ids = notifications.get("taskIds") if isinstance(notifications, dict) else None
    if not isinstance(ids, list) or not ids:
        return None
    return [str(i) for i in cast(list[Any], ids)]
