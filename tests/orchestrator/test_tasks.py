"""The MCP Tasks extension on the orchestrator: a client that declares it gets delegate's run as a task."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from dbos import error
from mcp import Client
from mcp.client.extension import advertise
from mcp.shared.exceptions import MCPError
from mcp_types import Request

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.testing import ScriptedModel
from tests.orchestrator._hierarchy import adding_model, build_hierarchy
from tests.orchestrator._tasks_client import (
    EXTENSION,
    Anything,
    CreatedTask,
    TasksClient,
    tasks_request,
    until_done,
)
from tests.orchestrator.test_runs import ONE_PHASE, gated_numbers, structured

pytestmark = pytest.mark.anyio


def adding_hierarchy(tmp: Path) -> Any:
    return build_hierarchy(
        tmp,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=adding_model(2, 3, {"answer": "2 + 3 = 5", "goal_met": True}),
        content=ScriptedModel([]),
    )


async def test_a_declaring_client_gets_a_task_whose_tasks_get_completes_with_delegates_result(
    tmp_path: Path,
) -> None:
    with anyio.fail_after(60):
        async with Client(adding_hierarchy(tmp_path), extensions=[TasksClient()]) as client:
            assert EXTENSION in (client.server_capabilities.extensions or {})
            created = await client.session.call_tool(
                "delegate", {"request": "add 2 and 3"}, allow_claimed=True
            )
            assert isinstance(created, CreatedTask)
            wire = created.model_dump(by_alias=True)
            first = await tasks_request(client, "tasks/get", taskId=created.task_id)
            done = await until_done(client, created.task_id)
            run = structured(await client.call_tool("run_status", {"run_id": created.task_id}))
    assert wire["status"] == "working" and wire["ttlMs"] is None and wire["pollIntervalMs"] > 0
    assert not {"result", "error", "inputRequests", "requestState"} & set(wire)
    assert first["taskId"] == created.task_id and first["resultType"] == "complete"
    assert done["status"] == "completed" and done["resultType"] == "complete"
    assert done["result"]["isError"] is False
    result = DelegationResult.model_validate(done["result"]["structuredContent"])
    assert (result.status, result.output, result.run_id) == ("ok", "2 + 3 = 5", created.task_id)
    assert done["result"]["content"][0]["text"].startswith("{")  # the same text the tool path gives
    assert run["status"] == "ok"  # the task is the run


async def test_a_client_with_the_extension_gets_the_answer_through_the_task_transparently(
    tmp_path: Path,
) -> None:
    with anyio.fail_after(60):
        async with Client(adding_hierarchy(tmp_path), extensions=[TasksClient()]) as client:
            answer = await client.call_tool("delegate", {"request": "add 2 and 3"})
    assert DelegationResult.model_validate(structured(answer)).output == "2 + 3 = 5"


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_tasks_cancel_acknowledges_and_the_run_ends_cancelled_with_no_traceback_logged(
    tmp_path: Path,
) -> None:
    kept = Kept()
    logging.getLogger("dbos").addHandler(kept)  # DBOS's logger does not propagate
    gate = anyio.Event()
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(gate),
        content=ScriptedModel([]),
    )
    with anyio.fail_after(60):
        async with Client(server, extensions=[TasksClient()]) as client:
            created = await client.session.call_tool(
                "delegate", {"request": "add 2 and 3"}, allow_claimed=True
            )
            assert isinstance(created, CreatedTask)
            ack = await tasks_request(client, "tasks/cancel", taskId=created.task_id)
            done = await until_done(client, created.task_id)
            again = await tasks_request(client, "tasks/cancel", taskId=created.task_id)
            run = structured(await client.call_tool("run_status", {"run_id": created.task_id}))
    assert ack["resultType"] == "complete" and not {"taskId", "status", "result"} & set(ack)
    assert done["status"] == "cancelled" and "result" not in done
    assert again["resultType"] == "complete"  # cancelling a finished task is acknowledged the same way
    assert run["status"] == "cancelled"
    logging.getLogger("dbos").removeHandler(kept)
    assert not [r.getMessage() for r in kept.records if r.exc_info]
    # DBOS logs a run cancelled in the middle of a step at ERROR with a traceback (a race this test may miss):
    cancelled = error.DBOSAwaitedWorkflowCancelledError(created.task_id)
    record = logging.LogRecord("dbos", logging.ERROR, "", 0, "failed", (), (type(cancelled), cancelled, None))
    assert not all(f.filter(record) for f in logging.getLogger("dbos").filters)


async def test_a_client_that_does_not_declare_tasks_gets_the_tool_path_and_no_tasks_methods(
    tmp_path: Path,
) -> None:
    with anyio.fail_after(60):
        async with Client(adding_hierarchy(tmp_path)) as client:
            answer = structured(await client.call_tool("delegate", {"request": "add 2 and 3"}))
            with pytest.raises(MCPError) as refused:
                await tasks_request(client, "tasks/get", taskId=answer["run_id"])
    assert answer["status"] == "ok" and answer["output"] == "2 + 3 = 5"
    assert refused.value.error.code == -32021
    assert refused.value.error.data == {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}


async def test_a_handshake_era_client_gets_the_tool_path_even_when_it_declares_tasks(tmp_path: Path) -> None:
    with anyio.fail_after(60):
        async with Client(
            adding_hierarchy(tmp_path), mode="legacy", extensions=[advertise(EXTENSION)]
        ) as client:
            answer = structured(await client.call_tool("delegate", {"request": "add 2 and 3"}))
    assert answer["status"] == "ok"


async def test_an_unknown_task_is_invalid_params_and_bad_arguments_take_the_tool_path(tmp_path: Path) -> None:
    with anyio.fail_after(60):
        async with Client(adding_hierarchy(tmp_path), extensions=[TasksClient()]) as client:
            errors: dict[str, int] = {}
            for method in ("tasks/get", "tasks/cancel", "tasks/update"):
                with pytest.raises(MCPError) as unknown:
                    await tasks_request(client, method, taskId="no-such-task", inputResponses={})
                errors[method] = unknown.value.error.code
            with pytest.raises(MCPError) as removed:
                await tasks_request(client, "tasks/list")
            empty = await client.session.call_tool("delegate", {"request": "  "}, allow_claimed=True)
    assert errors == {"tasks/get": -32602, "tasks/cancel": -32602, "tasks/update": -32602}
    assert removed.value.error.code == -32601
    assert getattr(empty, "is_error", False) and "request is empty" in empty.content[0].text  # type: ignore[union-attr]


async def test_a_subscription_to_a_task_gets_a_notification_for_each_status_it_reaches(
    tmp_path: Path,
) -> None:
    gate = anyio.Event()
    server = build_hierarchy(
        tmp_path,
        orchestrator=ScriptedModel([ONE_PHASE]),
        numbers=gated_numbers(gate),
        content=ScriptedModel([]),
    )
    send, received = anyio.create_memory_object_stream[dict[str, Any]](10)
    listen = Request[dict[str, Any], str](method="subscriptions/listen", params={})
    with anyio.fail_after(60):
        async with Client(server, extensions=[TasksClient(on_task=send.send)]) as client:
            created = await client.session.call_tool(
                "delegate", {"request": "add 2 and 3"}, allow_claimed=True
            )
            assert isinstance(created, CreatedTask)
            listen.params = {"notifications": {"taskIds": [created.task_id, "no-such-task"]}}
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.session.send_request, listen, Anything)
                working = await received.receive()
                gate.set()
                completed = await received.receive()
    assert (working["taskId"], working["status"]) == (created.task_id, "working")
    assert completed["status"] == "completed"
    assert DelegationResult.model_validate(completed["result"]["structuredContent"]).output == "2 + 3 = 5"
