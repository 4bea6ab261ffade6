"""The Streamable HTTP app every server runs: Host/Origin checks, bearer tokens, protected-resource metadata.

Order per request: the Host and Origin headers are checked first (DNS-rebinding protection, on for every bind
address, with the SDK's ``TransportSecurityMiddleware``), so a foreign Host gets 421 before anything else; then
``/.well-known/oauth-protected-resource[/mcp]`` is served without a token; everything else passes the SDK's
``BearerAuthBackend`` and ``RequireAuthMiddleware``, which answer 401 with ``WWW-Authenticate: Bearer ...,
resource_metadata="..."`` (RFC 9728) when the token is missing or wrong.

Why not ``MCPServer(auth=AuthSettings(...), token_verifier=...)``: servers are built before the command line is
read, and ``AuthSettings`` requires an OAuth authorization server (``issuer_url``) whose URL the SDK then
publishes in the metadata. Static tokens have none: they are minted by ``echelon token new`` and handed to the
client out of band. So this module composes the same SDK middleware around ``server.streamable_http_app()`` and
publishes metadata that says only what is true: the resource, that tokens go in the ``Authorization`` header,
and no ``authorization_servers``. An OAuth client thus learns from the 401 and the metadata that this resource
wants a bearer token and that there is no authorization server to get one from; it must be configured with the
token as a header (``headers = {Authorization = "Bearer ..."}``).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Sequence
from typing import Any

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp_types import INVALID_REQUEST
from pydantic import AnyHttpUrl, BaseModel, Field
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ._auth import StaticTokenVerifier

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
METADATA_PREFIX = "/.well-known/oauth-protected-resource"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """``host`` as it appears in a Host header: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _with_any_port(value: str, *, origin: bool) -> list[str]:
    """A value without a port also matches it with any port (``example.com`` -> also ``example.com:*``)."""
    rest = value.split("://", 1)[1] if origin and "://" in value else value
    has_port = rest.rsplit("]", 1)[-1].count(":") > 0
    return [value] if has_port else [value, f"{value}:*"]


class HttpSecurity(BaseModel):
    """What an HTTP server accepts: these Host and Origin values, and (when any are set) these tokens only."""

    allowed_hosts: list[str] = Field(min_length=1)
    allowed_origins: list[str] = Field(min_length=1)

    @classmethod
    def for_bind(
        cls, host: str, *, extra_hosts: Sequence[str] = (), extra_origins: Sequence[str] = ()
    ) -> HttpSecurity:
        """Defaults: the bind address and the loopback names, on any port; then ``extra_*``."""
        names = [_host_name(host), *LOOPBACK_NAMES]
        hosts = [f"{n}:*" for n in names] + [
            h for value in extra_hosts for h in _with_any_port(value, origin=False)
        ]
        origins = [f"{scheme}://{n}:*" for n in names for scheme in ("http", "https")] + [
            o for value in extra_origins for o in _with_any_port(value.rstrip("/"), origin=True)
        ]
        return cls(allowed_hosts=list(dict.fromkeys(hosts)), allowed_origins=list(dict.fromkeys(origins)))

    def transport_settings(self) -> TransportSecuritySettings:
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=self.allowed_hosts,
            allowed_origins=self.allowed_origins,
        )


class StaticTokenResourceMetadata(BaseModel):
    """RFC 9728 metadata for a resource guarded by static bearer tokens: no authorization server to name."""

    resource: AnyHttpUrl
    bearer_methods_supported: list[str] = Field(default_factory=lambda: ["header"])
    resource_name: str | None = None


class _RequireToken(RequireAuthMiddleware):
    """The SDK's check and ``WWW-Authenticate`` header, with a JSON-RPC error as the 401 body.

    The SDK's MCP client surfaces a JSON-RPC error body and reduces any other 4xx body to "Server returned an
    error response"; this body makes a caller's error say that a token is missing or was refused.
    """

    def __init__(self, app: ASGIApp, resource_metadata_url: AnyHttpUrl, *, sent_token: bool) -> None:
        super().__init__(app, [], resource_metadata_url)
        self.sent_token = sent_token

    async def _send_auth_error(self, send: Send, status_code: int, error: str, description: str) -> None:
        description = (
            "401 Unauthorized: the bearer token was not accepted"
            if self.sent_token
            else "401 Unauthorized: this server requires a bearer token (header 'Authorization: Bearer <token>')"
        )
        challenge = (
            f'Bearer error="{error}", error_description="{description}", '
            f'resource_metadata="{self.resource_metadata_url}"'
        )
        body = json.dumps(
            {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": description}}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", challenge.encode()),
        ]
        await send({"type": "http.response.start", "status": status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _resource(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers['host']}{MCP_PATH}"


class _Guard:
    """The ASGI app in front of the server's Starlette app (see the module docstring for the order)."""

    def __init__(
        self, inner: ASGIApp, security: HttpSecurity, verifier: StaticTokenVerifier | None, name: str
    ):
        self.inner = inner
        self.security = security
        self.checks = TransportSecurityMiddleware(security.transport_settings())
        self.name = name
        self.authenticated: ASGIApp | None = None
        if verifier is not None:
            # The SDK's order: authenticate (sets scope["user"]), remember the user, then require it.
            self.authenticated = AuthenticationMiddleware(
                AuthContextMiddleware(self._require_token), backend=BearerAuthBackend(verifier)
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: the session manager's task group
            await self.inner(scope, receive, send)
            return
        request = Request(scope)
        refused = await self.checks.validate_request(request)
        if refused is not None:
            logger.warning(
                "refused a request with Host %r, Origin %r: not an allowed value; allow it with --allowed-host "
                "/ --allowed-origin or [http] allowed_hosts / allowed_origins in echelon.toml",
                request.headers.get("host"),
                request.headers.get("origin"),
            )
            await refused(scope, receive, send)
            return
        if self.authenticated is None:
            await self.inner(scope, receive, send)
            return
        if request.url.path in (METADATA_PREFIX, METADATA_PREFIX + MCP_PATH):
            await self._metadata(request)(scope, receive, send)
            return
        await self.authenticated(scope, receive, send)

    async def _require_token(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The resource URL is the one the client used (its validated Host), so the 401 points at metadata the
        # client can reach, also behind a proxy that keeps the Host header.
        request = Request(scope)
        metadata_url = build_resource_metadata_url(AnyHttpUrl(_resource(request)))
        sent_token = request.headers.get("authorization", "").lower().startswith("bearer ")
        await _RequireToken(self.inner, metadata_url, sent_token=sent_token)(scope, receive, send)

    def _metadata(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(status_code=405, headers={"Allow": "GET, HEAD"})
        body = StaticTokenResourceMetadata(resource=AnyHttpUrl(_resource(request)), resource_name=self.name)
        return JSONResponse(
            body.model_dump(mode="json", exclude_none=True), headers={"Cache-Control": "public, max-age=3600"}
        )


def build_http_app(
    server: MCPServer[Any],
    security: HttpSecurity,
    verifier: StaticTokenVerifier | None,
    *,
    stateless: bool = False,
) -> ASGIApp:
    """The server's Streamable HTTP app at ``/mcp``, behind the Host/Origin checks and, given a verifier, tokens.

    ``stateless``: every request is served on its own, with no ``Mcp-Session-Id``, so any replica can take any
    request; the server's lifespan (pools, run database) is still entered once per process."""
    inner = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=security.transport_settings(),
        stateless_http=stateless,
    )
    return _Guard(inner, security, verifier, server.name)


async def serve_http(app: ASGIApp, host: str, port: int, log_level: str) -> None:
    """Run ``app`` with uvicorn, as ``MCPServer.run("streamable-http")`` does."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level.lower())
    await uvicorn.Server(config).serve()
