"""Targets: how to reach an MCP server.

A target is exactly a desktop host's ``mcpServers`` entry (``command``/``args``/``env``/``cwd`` for stdio, or ``url``
for Streamable HTTP), so any server a user already runs in Claude Desktop can be a worker. Tests may also hand in a
server object, which is connected in-process.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Target(BaseModel):
    """An ``mcpServers``-style entry: either ``command`` (stdio) or ``url`` (Streamable HTTP), not both."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    # repr=False: headers usually carry a secret (Authorization), and a repr ends up in logs and tracebacks.
    headers: dict[str, str] = Field(
        default_factory=dict, repr=False, description="HTTP headers for a url target"
    )
    # Claude Desktop entries sometimes carry these; accepted so an imported config validates unchanged.
    type: str | None = Field(default=None, description="'stdio', 'http' or 'streamable-http' (optional)")
    disabled: bool = False
    server: Any = Field(default=None, exclude=True, description="An in-process server object (tests)")

    @model_validator(mode="after")
    def _exactly_one_transport(self) -> Target:
        given = [k for k in ("command", "url", "server") if getattr(self, k) is not None]
        if len(given) != 1:
            if not given:
                raise ValueError("a target needs 'command' (stdio) or 'url' (Streamable HTTP)")
            raise ValueError(f"a target takes one of 'command' or 'url', not {' and '.join(given)}")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.type is not None and self.type not in ("stdio", "http", "streamable-http", "sse"):
            raise ValueError(f"type must be 'stdio', 'http' or 'streamable-http', got {self.type!r}")
        if self.type == "sse":
            raise ValueError("the legacy SSE transport is not supported; use Streamable HTTP ('url')")
        return self

    @classmethod
    def in_process(cls, server: Any) -> Target:
        """A target for a server object living in this process (used by tests and embedded hierarchies)."""
        return cls(server=server)

    @property
    def kind(self) -> str:
        return "in-process" if self.server is not None else ("http" if self.url else "stdio")

    def describe(self) -> str:
        """A one-line human description, for logs and errors."""
        if self.server is not None:
            return f"in-process {type(self.server).__name__}"
        if self.url:
            return self.url
        return " ".join([self.command or "", *self.args]).strip()
