"""The one ``main()`` every server module shares: parse ``--transport`` and run the server.

Servers build themselves in ``build_server(...)`` with no I/O; this module is where a process starts serving. Over
Streamable HTTP it decides who may call: bearer tokens from ``ECHELON_AUTH_TOKEN`` or a token file
(``--auth-token-file``, or ``[http] auth_token_file`` in the hierarchy file of servers that take ``--config``),
and the Host/Origin values accepted. A non-loopback bind without a token is refused unless
``--allow-unauthenticated`` is given. ``ECHELON_AUTH_TOKEN`` is removed from the environment once the server is
built, so no child process inherits it; a token to send onward belongs in another variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import anyio
from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, ConfigDict

from . import _lifeline, telemetry
from ._auth import TOKEN_ENV, AuthConfigError, HashedToken, StaticTokenVerifier, env_token, read_token_file
from ._http import MCP_PATH, HttpSecurity, build_http_app, is_loopback, serve_http

Transport = Literal["stdio", "streamable-http"]
logger = logging.getLogger(__name__)


def add_transport_args(parser: argparse.ArgumentParser) -> None:
    """The transport flags every server accepts."""
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="Streamable HTTP bind address")
    parser.add_argument("--port", type=int, default=8000, help="Streamable HTTP port")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (DEBUG, INFO, WARNING)")
    add_http_auth_args(parser)


def add_http_auth_args(parser: argparse.ArgumentParser) -> None:
    """Who may call a Streamable HTTP server, and whether it keeps sessions (shared with ``echelon serve``)."""
    parser.add_argument(
        "--auth-token-file",
        metavar="FILE",
        default=None,
        help="Require a bearer token hashed in FILE (lines from `echelon token new`); "
        f"{TOKEN_ENV} adds one plain token",
    )
    parser.add_argument(
        "--allowed-host",
        metavar="HOST",
        action="append",
        default=[],
        help="Also accept this Host header, e.g. api.example.com or api.example.com:8443 (repeatable; the bind "
        "address and loopback names are always accepted)",
    )
    parser.add_argument(
        "--allowed-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="Also accept this Origin header, e.g. https://app.example.com (repeatable)",
    )
    parser.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="Serve a non-loopback address without any token (anyone who reaches the port may call)",
    )
    parser.add_argument(
        "--stateless",
        action="store_true",
        help="Keep no MCP session between requests, so several replicas can serve behind a load balancer "
        "without sticky sessions (no resource subscriptions; progress still reaches the caller of each call)",
    )


def configure_logging(level: str) -> None:
    """Log to stderr only: stdout belongs to the stdio transport."""
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )


class HttpAccess(BaseModel):
    """What a Streamable HTTP server accepts: the Host/Origin values and the tokens (none: open)."""

    model_config = ConfigDict(frozen=True)

    security: HttpSecurity
    tokens: tuple[HashedToken, ...] = ()
    stateless: bool = False

    def verifier(self) -> StaticTokenVerifier | None:
        return StaticTokenVerifier(list(self.tokens)) if self.tokens else None


def _config_http(args: argparse.Namespace) -> tuple[Path | None, list[str], list[str]]:
    """The ``[http]`` table of the hierarchy file, for the servers that read one (they take ``--config``)."""
    if not hasattr(args, "config"):
        return None, [], []
    from .config import load_config

    config = load_config(args.config)
    http = config.http
    token_file = http.auth_token_file
    if token_file is not None and not token_file.is_absolute() and config.source is not None:
        token_file = config.source.parent / token_file
    return token_file, http.allowed_hosts, http.allowed_origins


def http_access(args: argparse.Namespace) -> HttpAccess:
    """Resolve flags, config and environment into what the server accepts; refuse an open non-loopback bind."""
    token_file, hosts, origins = _config_http(args)
    if args.auth_token_file:
        token_file = Path(args.auth_token_file).expanduser()
    tokens = read_token_file(token_file) if token_file is not None else []
    from_env = env_token(os.environ.get(TOKEN_ENV))
    if from_env is not None:
        tokens.append(from_env)
    security = HttpSecurity.for_bind(
        args.host, extra_hosts=[*hosts, *args.allowed_host], extra_origins=[*origins, *args.allowed_origin]
    )
    if not tokens and not is_loopback(args.host):
        if not args.allow_unauthenticated:
            raise AuthConfigError(
                f"refusing to serve {args.host} without authentication: anyone who can reach port {args.port} "
                f"could call this server. Require a token: set {TOKEN_ENV}, or pass --auth-token-file FILE "
                "(or [http] auth_token_file in echelon.toml) with lines from `echelon token new`; or pass "
                "--allow-unauthenticated to serve it open"
            )
        logger.warning(
            "serving %s:%s WITHOUT authentication (--allow-unauthenticated): anyone who can reach it may call "
            "every tool",
            args.host,
            args.port,
        )
    return HttpAccess(security=security, tokens=tuple(tokens), stateless=args.stateless)


def run_server(server: MCPServer, args: argparse.Namespace, access: HttpAccess | None = None) -> None:
    """Serve over the transport the flags asked for; the server's children never outlive it (``_lifeline``), and
    its spans go where the environment says (``telemetry``)."""
    _lifeline.install()
    telemetry.configure(server.name or "echelon")
    if args.transport == "stdio":
        server.run()
        return
    access = access or http_access(args)
    # Hashed in ``access`` now; the processes this server starts (managers, third-party workers) must not get it.
    os.environ.pop(TOKEN_ENV, None)
    names = ", ".join(t.name for t in access.tokens)
    logger.info(
        "serving http://%s:%s%s (%s; hosts %s%s)",
        args.host,
        args.port,
        MCP_PATH,
        f"bearer token required, {len(access.tokens)} accepted: {names}" if access.tokens else "no token",
        ", ".join(access.security.allowed_hosts),
        "; stateless" if access.stateless else "",
    )
    app = build_http_app(server, access.security, access.verifier(), stateless=access.stateless)
    anyio.run(serve_http, app, args.host, args.port, args.log_level)


def serve_main(
    description: str,
    build: Callable[[argparse.Namespace], MCPServer],
    add_args: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse server flags, build the server and run it. ``build`` may raise SystemExit with a message.

    Over HTTP, who may call is settled before ``build``, so a refused bind fails fast.
    """
    parser = argparse.ArgumentParser(description=description)
    if add_args is not None:
        add_args(parser)
    add_transport_args(parser)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        access = http_access(args) if args.transport == "streamable-http" else None
        server = build(args)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    run_server(server, args, access)
