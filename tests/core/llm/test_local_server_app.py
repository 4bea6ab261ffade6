"""The embedded server's HTTP app over an engine double: what happens to a generation nobody waits for."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from echelon.servers.core.llm._local_server import Activity, ChatRequest, build_app

pytestmark = pytest.mark.anyio


class _UntilAbandoned:
    """An engine whose generation runs until the server says its requester left, and records that it did."""

    model_id = "test"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.abandoned = False

    def complete(self, request: ChatRequest, abandon: Callable[[], bool]) -> dict[str, Any]:
        self.started.set()
        left: threading.Event = abandon.__self__  # type: ignore[attr-defined] - the server's Event.is_set
        self.abandoned = left.wait(timeout=30) and abandon()
        return {"choices": []}


async def _post(app: Any, leave: anyio.Event, sent: list[dict[str, Any]]) -> None:
    """One ASGI POST of a chat completion whose client disconnects once ``leave`` is set."""
    body = json.dumps({"messages": [{"role": "user", "content": "Count to a million."}]}).encode()
    incoming = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/v1/chat/completions",
        "raw_path": b"/v1/chat/completions",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "scheme": "http",
    }
    await app(scope, receive, send)


async def test_a_generation_stops_when_its_requester_leaves() -> None:
    engine = _UntilAbandoned()
    app = build_app(engine, Activity())  # type: ignore[arg-type] - the engine double has what the app uses
    leave, sent = anyio.Event(), []
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(_post, app, leave, sent)
            await anyio.to_thread.run_sync(engine.started.wait)
            leave.set()
    assert engine.abandoned


async def test_a_queued_request_whose_requester_left_is_never_generated() -> None:
    engine = _UntilAbandoned()
    app = build_app(engine, Activity())  # type: ignore[arg-type]
    first_leaves, second_leaves = anyio.Event(), anyio.Event()
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(_post, app, first_leaves, first)
            await anyio.to_thread.run_sync(engine.started.wait)
            engine.started.clear()
            group.start_soon(_post, app, second_leaves, second)  # waits its turn behind the first
            second_leaves.set()
            await anyio.wait_all_tasks_blocked()
            first_leaves.set()
    assert not engine.started.is_set()  # the second never reached the model
    assert second[0]["status"] == 499
