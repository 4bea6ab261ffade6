"""The ``echelon ui`` web app: the run page and the JSON it polls, read from the run database.

``/`` is the page, ``/api/runs`` the newest runs (``RunSummary``), ``/api/runs/{run_id}`` one run in full
(``RunView``). Bound to 127.0.0.1 by default, and a request whose Host is not this machine's name is refused
(421), so a web page elsewhere cannot read runs through DNS rebinding; serving another address takes
``--allow-remote``.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, get_args

import anyio
from mcp.server.transport_security import TransportSecurityMiddleware
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from echelon.servers.core._http import HttpSecurity, is_loopback
from echelon.servers.core.runs import RunStatus
from echelon.servers.core.runs._reader import RunReader

from ._page import csp, page_html

STATUSES: tuple[str, ...] = get_args(RunStatus)
_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class UiError(Exception):
    """The UI cannot be served as asked; the message says how to fix it."""


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def build_app(reader: RunReader, *, host: str = "127.0.0.1", check_host: bool = True) -> Starlette:
    """The app over ``reader``'s database; ``check_host`` refuses requests not addressed to ``host``/loopback."""
    page = page_html()

    async def index(_request: Request) -> Response:
        headers = {"content-security-policy": csp(connect=True) + "; frame-ancestors 'none'"}
        return HTMLResponse(page, headers=headers)

    async def runs(request: Request) -> Response:
        raw_limit = request.query_params.get("limit", "20")
        status = request.query_params.get("status") or None
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 200:
            return _error(400, f"limit={raw_limit!r}: give a whole number from 1 to 200")
        if status is not None and status not in STATUSES:
            return _error(400, f"status={status!r}: give one of {', '.join(STATUSES)}")
        found = await reader.list(limit=int(raw_limit), status=status)  # type: ignore[arg-type]
        return JSONResponse([r.model_dump(mode="json") for r in found])

    async def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        view = await reader.get(run_id)
        if view is None:
            return _error(404, f"there is no run {run_id!r} (GET /api/runs lists the runs there are)")
        return JSONResponse(view.model_dump(mode="json"))

    async def unreadable(_request: Request, exc: Exception) -> Response:
        cause = getattr(exc, "orig", None) or exc
        return _error(503, f"cannot read the run database: {cause}")

    app = Starlette(
        exception_handlers={SQLAlchemyError: unreadable},
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/runs", runs, methods=["GET"]),
            Route("/api/runs/{run_id:str}", run, methods=["GET"]),
        ],
    )
    app.add_middleware(_Guard, security=HttpSecurity.for_bind(host) if check_host else None)
    return app


class _Guard:
    """Refuses a foreign Host or Origin (when checking), and adds the security headers to every response."""

    def __init__(self, app: ASGIApp, security: HttpSecurity | None) -> None:
        self.app = app
        self.checks = TransportSecurityMiddleware(security.transport_settings()) if security else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.checks is not None:
            refused = await self.checks.validate_request(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in _HEADERS.items()),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def bind(host: str, port: int, *, allow_remote: bool) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port); a non-loopback host needs ``allow_remote``."""
    if not is_loopback(host):
        if not allow_remote:
            raise UiError(
                f"--host {host} is not a loopback address: anyone who reaches it could read every run's requests "
                "and data. Serve 127.0.0.1 (the default), or add --allow-remote to serve it anyway"
            )
        print(
            f"echelon ui: warning: serving {host} to other machines: run records hold requests, answers and tool "
            "data, and this page has no login",
            file=sys.stderr,
        )
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise UiError(f"cannot listen on {host}:{port}: {exc.strerror} (choose another --port)") from None


def serve(url: str, sock: socket.socket, *, check_host: bool, shown: str) -> None:
    """Serve the UI for the run database ``url`` on ``sock`` until interrupted; print its address first."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    try:
        reader = RunReader(url)
    except SQLAlchemyError as exc:
        sock.close()
        raise UiError(f"cannot read the run database {shown}: {getattr(exc, 'orig', None) or exc}") from None
    app = build_app(reader, host=host, check_host=check_host)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"echelon ui: http://{shown_host}:{port}/  (runs in {shown}; Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    try:
        anyio.run(_serve, server, sock)
    finally:
        reader.close()
        sock.close()


async def _serve(server: Any, sock: socket.socket) -> None:
    await server.serve(sockets=[sock])
