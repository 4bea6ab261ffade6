"""A client side of the MCP Tasks extension for tests: a claim for ``resultType: "task"`` and raw tasks requests."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import anyio
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, NotificationBinding, ResultClaim
from mcp_types import CallToolResult, Request, Result
from pydantic import ConfigDict, Field

EXTENSION = "io.modelcontextprotocol/tasks"


class CreatedTask(Result):
    """A ``CreateTaskResult`` as the wire has it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str


class Anything(Result):
    """Any result or notification params, kept as they came."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TaskRequest(Request[dict[str, Any], str]):
    """A request about one task: over HTTP its ``taskId`` goes in the ``Mcp-Name`` header too, as SEP-2663 asks."""

    name_param: ClassVar[str | None] = "taskId"


async def tasks_request(client: Client, method: str, **params: Any) -> dict[str, Any]:
    """Send ``method`` (``tasks/get``, ``tasks/cancel``, ...) and return the result as the wire has it."""
    kind = TaskRequest if "taskId" in params else Request[dict[str, Any], str]
    request = kind(method=method, params=params)
    result = await client.session.send_request(request, Anything)
    return result.model_dump(by_alias=True, mode="json", exclude_none=False)


async def until_done(client: Client, task_id: str) -> dict[str, Any]:
    """Poll ``tasks/get`` until the task reaches a terminal status."""
    while True:
        task = await tasks_request(client, "tasks/get", taskId=task_id)
        if task["status"] in ("completed", "cancelled", "failed"):
            return task
        await anyio.sleep(0.1)


class TasksClient(ClientExtension):
    """Declares the extension; a task a call answers with is followed to its end (``Client.call_tool``), and
    ``notifications/tasks`` go to ``on_task`` when given."""

    identifier = EXTENSION

    def __init__(self, on_task: Any = None) -> None:
        self.on_task = on_task

    def notifications(self) -> list[NotificationBinding[Any]]:
        return [task_events(self.on_task)] if self.on_task is not None else []

    def claims(self) -> list[ResultClaim[Any]]:
        async def resolve(created: CreatedTask, ctx: ClaimContext) -> CallToolResult:
            request = TaskRequest(method="tasks/get", params={"taskId": created.task_id})
            while True:
                task = (await ctx.session.send_request(request, Anything)).model_dump(by_alias=True)
                if task["status"] == "completed":
                    return CallToolResult.model_validate(task["result"])
                if task["status"] in ("cancelled", "failed"):
                    raise RuntimeError(f"task {created.task_id} ended {task['status']}: {task}")
                await anyio.sleep(0.1)

        return [ResultClaim(result_type="task", model=CreatedTask, resolve=resolve)]


def task_events(send: Any) -> NotificationBinding[Anything]:
    """A binding that sends each ``notifications/tasks`` params (as the wire has them) to ``send``."""

    async def handler(params: Anything) -> None:
        await send(params.model_dump(by_alias=True, mode="json", exclude_none=False))

    return NotificationBinding(method="notifications/tasks", params_type=Anything, handler=handler)
