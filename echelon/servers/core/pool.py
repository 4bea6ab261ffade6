"""The connection pool: the one place in echelon that turns a ``Target`` into a live MCP session.

One long-lived session per target, started lazily on first use (several concurrently), restarted when its child
process dies, and every child stopped when the pool closes, also when the owner is cancelled. Sessions run in tasks
of the pool's own task group, so each ``Client`` is entered and exited in the same task, as anyio requires.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from mcp import Client, StdioServerParameters
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent, Tool
from mcp_types import CONNECTION_CLOSED, ToolListChangedNotification

from ._stdio import ChildRecord, stdio_transport
from ._tool_cache import Listing, ToolListCache
from .target import Target

logger = logging.getLogger(__name__)

ProgressFn = ProgressFnT

# Environment a child of ours inherits on top of the SDK's safe defaults (PATH, HOME, ...): echelon's own settings
# and, for managers, the model provider keys they need. Workers (a manager's pool, ``managers.server.WORKER_ENV``)
# get no keys: only echelon's settings, the network variables below and what their entry declares.
OWN_ENV_PREFIXES = (
    "ECHELON_",
    "ANTHROPIC_",
    "OPENAI_",
    "XDG_",
    "UV_INDEX_URL",
    "PIP_INDEX_URL",
    "PYTHONPATH",
    "OTEL_",  # OpenTelemetry exporter settings (core.telemetry): every level exports alike
)
# TLS and proxy settings: not secrets, and every child that reaches the network (a model API, a package index for
# `uvx`, a model download) needs them behind a company CA or proxy, so every stdio child gets them, third-party
# workers included.
_NETWORK_NAMES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
)
NETWORK_ENV_VARS = _NETWORK_NAMES + tuple(n.lower() for n in _NETWORK_NAMES)
_DEAD = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, BrokenPipeError)


class ConnectionFailed(RuntimeError):
    """A target could not be started or connected; the message names the target and why. For a stdio child that
    ended, ``exit_code`` is its exit status (negative: killed by that signal) and ``stderr_tail`` the last lines of
    its stderr; both are in the message too."""

    def __init__(
        self, message: str, *, target: str = "", exit_code: int | None = None, stderr_tail: str = ""
    ) -> None:
        super().__init__(message)
        self.target = target
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail


class SessionLost(RuntimeError):
    """The session died during a call (its process crashed or its connection closed). The pool has dropped it, so
    the next use starts a new one; whether to repeat the call is the caller's decision (``core.retry``)."""


def inherited_env(prefixes: Sequence[str]) -> dict[str, str]:
    """The variables of this process whose names start with one of ``prefixes``."""
    return {k: v for k, v in os.environ.items() if any(k.startswith(p) for p in prefixes)}


def network_env() -> dict[str, str]:
    """The TLS and proxy variables of this process (``NETWORK_ENV_VARS``) that are set."""
    return {k: v for k in NETWORK_ENV_VARS if (v := os.environ.get(k)) is not None}


def child_env(prefixes: Sequence[str], declared: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a stdio child (on top of the SDK's PATH, HOME, ...): the network variables, this
    process's variables under ``prefixes``, and what the child's entry declares, which wins."""
    return network_env() | inherited_env(prefixes) | dict(declared or {})


def _is_dead_connection(exc: BaseException) -> bool:
    if isinstance(exc, MCPError):
        return exc.error.code == CONNECTION_CLOSED
    return isinstance(exc, _DEAD)


@dataclass
class _Connection:
    name: str
    target: Target
    ready: anyio.Event = field(default_factory=anyio.Event)
    stop: anyio.Event = field(default_factory=anyio.Event)
    closed: anyio.Event = field(default_factory=anyio.Event)
    client: Client | None = None
    error: BaseException | None = None
    tools: list[Tool] | None = None
    started_at: float = 0.0
    child: ChildRecord = field(default_factory=ChildRecord)


class ConnectionPool:
    """Lazily started, pooled MCP sessions to named targets. Use as ``async with ConnectionPool(targets) as pool``."""

    def __init__(
        self,
        targets: dict[str, Target],
        *,
        env_prefixes: Sequence[str] = (),
        connect_timeout: float = 60.0,
        read_timeout_seconds: float | None = None,
        tool_cache: ToolListCache | None = None,
    ) -> None:
        self.targets = dict(targets)
        self.tool_cache = tool_cache
        self.env_prefixes = tuple(env_prefixes)
        self.connect_timeout = connect_timeout
        self.read_timeout_seconds = read_timeout_seconds
        self._connections: dict[str, _Connection] = {}
        self._task_group: TaskGroup | None = None
        self._stack: AsyncExitStack | None = None
        self.restarts: dict[str, int] = {}
        # Tool lists outlive a session: a restarted server has the same tools, and a caller deciding whether a
        # failed call may be repeated needs its annotations after the session died.
        self._tools: dict[str, list[Tool]] = {}

    async def __aenter__(self) -> ConnectionPool:
        self._stack = AsyncExitStack()
        self._task_group = await self._stack.enter_async_context(anyio.create_task_group())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every session (and so every child process), waiting until they are gone."""
        for conn in self._connections.values():
            conn.stop.set()
        stack, self._stack, self._task_group = self._stack, None, None
        if stack is not None:
            await stack.aclose()
        self._connections.clear()

    # -- sessions -----------------------------------------------------------------------------------------------

    def _params(self, conn: _Connection) -> Client:
        target = conn.target

        async def on_message(message: object) -> None:
            if isinstance(message, ToolListChangedNotification):
                self._tools_changed(conn)

        options: dict[str, Any] = {
            "read_timeout_seconds": self.read_timeout_seconds,
            "message_handler": on_message,
        }
        if target.server is not None:
            return Client(target.server, **options)
        if target.url is not None:
            if target.headers:
                import httpx2
                from mcp.client.streamable_http import streamable_http_client

                http = httpx2.AsyncClient(headers=target.headers)
                transport = streamable_http_client(target.url, http_client=http)
                return Client(transport, **options)
            return Client(target.url, **options)
        assert target.command is not None
        env = child_env(self.env_prefixes, target.env)
        params = StdioServerParameters(
            command=target.command, args=target.args, env=env or None, cwd=target.cwd
        )
        return Client(stdio_transport(params, conn.child), **options)

    def _tools_changed(self, conn: _Connection) -> None:
        """The server said its tools changed: list them again on next use, and forget the cached list."""
        conn.tools = None
        self._tools.pop(conn.name, None)
        if self.tool_cache is not None:
            self.tool_cache.drop(conn.target)

    async def _run(self, conn: _Connection) -> None:
        try:
            async with self._params(conn) as client:
                conn.client = client
                conn.ready.set()
                await conn.stop.wait()
        except BaseException as exc:
            conn.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            conn.client = None
            conn.ready.set()
            conn.closed.set()

    async def session(self, name: str) -> Client:
        """The live session to ``name``, starting it on first use."""
        if self._task_group is None:
            raise RuntimeError("ConnectionPool is not open; use 'async with ConnectionPool(...)'")
        conn = self._connections.get(name)
        if conn is None or (conn.ready.is_set() and conn.client is None):
            if name not in self.targets:
                known = ", ".join(sorted(self.targets)) or "none"
                raise ConnectionFailed(f"no target named {name!r} (known: {known})")
            conn = _Connection(name, self.targets[name], started_at=time.perf_counter())
            self._connections[name] = conn
            self._task_group.start_soon(self._run, conn, name=f"mcp-session:{name}")
        with anyio.move_on_after(self.connect_timeout) as scope:
            await conn.ready.wait()
        if scope.cancelled_caught:
            conn.stop.set()
            self._connections.pop(name, None)
            raise ConnectionFailed(
                f"{name}: no answer within {self.connect_timeout:.0f}s from {conn.target.describe()}",
                target=conn.target.describe(),
                stderr_tail=conn.child.stderr_tail(),
            )
        if conn.client is None:
            self._connections.pop(name, None)
            raise _startup_failure(name, conn)
        return conn.client

    async def start(self, names: Iterable[str]) -> dict[str, ConnectionFailed | None]:
        """Start several sessions concurrently; returns each name's failure (or None)."""
        failures: dict[str, ConnectionFailed | None] = {}

        async def one(name: str) -> None:
            try:
                await self.session(name)
                failures[name] = None
            except ConnectionFailed as exc:
                failures[name] = exc

        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(one, name)
        return failures

    async def restart(self, name: str) -> None:
        """Drop the session to ``name`` (stopping its process); the next use starts a new one."""
        conn = self._connections.pop(name, None)
        if conn is not None:
            conn.stop.set()
            with anyio.CancelScope(shield=True):
                await conn.closed.wait()
        self.restarts[name] = self.restarts.get(name, 0) + 1

    def is_running(self, name: str) -> bool:
        conn = self._connections.get(name)
        return conn is not None and conn.client is not None

    # -- calls --------------------------------------------------------------------------------------------------

    async def list_tools(self, name: str) -> list[Tool]:
        """The target's tools (cached for the life of its session)."""
        client = await self.session(name)
        conn = self._connections[name]
        if conn.tools is None:
            try:
                conn.tools = list((await client.list_tools()).tools)
            except Exception as exc:
                if _is_dead_connection(exc):
                    await self.restart(name)
                    raise SessionLost(f"{name}: {_describe(exc)}") from exc
                raise
            self._tools[name] = conn.tools
            if self.tool_cache is not None:
                listing = Listing(tools=conn.tools, instructions=client.instructions or "")
                await anyio.to_thread.run_sync(self.tool_cache.put, conn.target, listing)
        return conn.tools

    async def cached_listing(self, name: str) -> Listing | None:
        """What ``name`` offered when it last started, from the tool cache, without starting it; None when it
        is not cached (or already running: then its live list is as cheap)."""
        if self.tool_cache is None or name not in self.targets or self.is_running(name):
            return None
        listing = await anyio.to_thread.run_sync(self.tool_cache.get, self.targets[name])
        if listing is not None:
            self._tools.setdefault(name, listing.tools)  # known_tool() answers for it before it starts
        return listing

    def known_tool(self, name: str, tool: str) -> Tool | None:
        """The listed definition of ``tool`` on ``name`` if its tools were ever listed (no I/O)."""
        return next((t for t in self._tools.get(name, []) if t.name == tool), None)

    async def call_tool(
        self,
        name: str,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        progress_callback: ProgressFn | None = None,
        read_timeout_seconds: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> CallToolResult:
        """Call ``tool`` on target ``name``. A session that died during the call is dropped (the next use starts a
        new one) and ``SessionLost`` raised; a tool's own error comes back as ``is_error``."""
        client = await self.session(name)
        try:
            return await client.call_tool(
                tool,
                arguments or {},
                read_timeout_seconds=read_timeout_seconds,
                progress_callback=progress_callback,
                meta=meta,  # type: ignore[arg-type]
            )
        except Exception as exc:
            if not _is_dead_connection(exc):
                raise
            logger.warning("session %s died (%s); it restarts on next use", name, _describe(exc))
            await self.restart(name)
            raise SessionLost(f"{name}: {_describe(exc)}") from exc


def result_text(result: CallToolResult) -> str:
    """A tool result as text (for a model or an error message). A tool that wrote its own text for a model (one
    text block that is not JSON: a table, a sentence) is read in its own words, as MCP means ``content``; otherwise
    its structured content as JSON when there is some, else its text content."""
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    if result.structured_content is not None:
        if len(texts) == 1 and texts[0].strip() and not _is_json(texts[0]):
            return texts[0]
        return json.dumps(result.structured_content, ensure_ascii=False, default=str)
    return "\n".join(texts) if texts else "(no content)"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _startup_failure(name: str, conn: _Connection) -> ConnectionFailed:
    """The error for a target that did not connect: how its child ended and what it last wrote, when it had one."""
    described, child = conn.target.describe(), conn.child
    ended, tail = child.describe_exit(), child.stderr_tail()
    if ended is None:
        message = f"{name}: could not connect to {described}: {_describe(conn.error)}"
    else:
        message = f"{name}: {described} {ended} at start-up"
    if tail:
        message += "; the end of its stderr:\n" + "\n".join(f"  {line}" for line in tail.splitlines())
    elif ended is not None:
        message += " (it wrote nothing to stderr)"
    return ConnectionFailed(message, target=described, exit_code=child.returncode, stderr_tail=tail)


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)  # pyright: ignore[reportUnknownArgumentType]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
