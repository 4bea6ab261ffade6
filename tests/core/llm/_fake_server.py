"""A scripted local HTTP server for provider tests: canned replies in order, every request recorded.

A real uvicorn server on a free port, so the provider SDKs exercise their whole HTTP stack (headers, retries,
status handling, JSON parsing) exactly as they would against the real API.
"""

from __future__ import annotations

import json
import socket
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The SDKs honour this header, so scripted 429/5xx replies are retried after 1 ms instead of seconds.
FAST_RETRY = {"retry-after-ms": "1"}


@dataclass
class Reply:
    """One canned response: a JSON body, or raw ``text`` with its own content type."""

    status: int = 200
    body: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict[str, str])
    hang: bool = False  # answer only when the server shuts down: lets a client time out


@dataclass
class Received:
    """One request the server got: its path, lower-cased headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: Any


class FakeAPI:
    """Answers POSTs to ``path`` with the scripted replies in order and records each request."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self.url = ""  # http://127.0.0.1:<port>, set once serving
        self.released = anyio.Event()  # set at shutdown, frees hanging replies

    def reply(self, body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """Queue a JSON reply."""
        self.replies.append(Reply(status=status, body=body, headers=dict(headers or {})))

    def hang(self) -> None:
        """Queue a reply that never comes while the client waits (it is sent at shutdown)."""
        self.replies.append(Reply(status=504, body={"error": {"message": "too late"}}, hang=True))

    def reply_text(self, text: str, *, status: int = 200, content_type: str = "text/html") -> None:
        """Queue a raw (non-JSON or broken JSON) reply."""
        self.replies.append(Reply(status=status, text=text, content_type=content_type))

    @property
    def bodies(self) -> list[Any]:
        return [received.body for received in self.requests]

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        self.requests.append(
            Received(request.url.path, {k.lower(): v for k, v in request.headers.items()}, body)
        )
        if request.url.path != self.path:
            return Response(
                json.dumps({"error": f"no route {request.url.path}"}), 404, media_type="application/json"
            )
        if not self.replies:
            message = f"fake server: no reply scripted for request #{len(self.requests)}"
            return Response(json.dumps({"error": {"message": message}}), 418, media_type="application/json")
        reply = self.replies.popleft()
        if reply.hang:
            await self.released.wait()
        content = reply.text if reply.text is not None else json.dumps(reply.body)
        return Response(content, reply.status, headers=reply.headers, media_type=reply.content_type)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])


class _Server(uvicorn.Server):
    """uvicorn's server plus an event set once it listens (or gave up trying)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = anyio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.ready.set()


@asynccontextmanager
async def serving(api: FakeAPI) -> AsyncIterator[FakeAPI]:
    """Run ``api`` on a free local port for the duration of the block; on a clean exit, fail if replies are left."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = _Server(uvicorn.Config(api.app(), log_level="warning", lifespan="off", access_log=False))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                await server.ready.wait()
            assert server.started, "the fake server did not start (see uvicorn's log above)"
            api.url = f"http://127.0.0.1:{port}"
            try:
                yield api
            finally:
                api.released.set()
                server.should_exit = True
    except BaseExceptionGroup as group:  # show a failing test's own error, not the task group's wrapper
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        sock.close()
    assert not api.replies, f"{len(api.replies)} scripted replies were never requested"
