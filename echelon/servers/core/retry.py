"""Which failures are worth another attempt, how often, and after how long.

Transient failures (a connection that died, a call that timed out, a server that could not start) are retried with
exponential backoff, a bounded number of times. A call that reached a tool which may have effects is repeated only
when the tool is marked read-only or idempotent; otherwise the failure is reported, never hidden by a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import anyio
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from .pool import ConnectionFailed, SessionLost


@dataclass(frozen=True)
class Transient:
    """Why a call failed in a way another attempt may fix, and whether the tool may have run."""

    reason: str
    may_have_run: bool
    kind: Literal["connection", "timeout"] = "connection"


def transient(exc: BaseException) -> Transient | None:
    """The transient failure ``exc`` is, or None for one another attempt would repeat (a tool's own error)."""
    if isinstance(exc, ConnectionFailed):
        return Transient(f"could not connect: {exc}", may_have_run=False)
    if isinstance(exc, SessionLost):
        return Transient(f"the connection died: {exc}", may_have_run=True)
    if isinstance(exc, MCPError):
        if exc.error.code == REQUEST_TIMEOUT:
            return Transient(f"no answer in time: {exc.error.message}", may_have_run=True, kind="timeout")
        if exc.error.code == CONNECTION_CLOSED:
            return Transient(f"the connection closed: {exc.error.message}", may_have_run=True)
    if isinstance(exc, TimeoutError):
        return Transient("no answer in time", may_have_run=True, kind="timeout")
    if isinstance(
        exc, anyio.BrokenResourceError | anyio.ClosedResourceError | anyio.EndOfStream | BrokenPipeError
    ):
        return Transient(f"the connection died ({type(exc).__name__})", may_have_run=True)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts, waiting ``base_delay * 2**n`` (at most ``max_delay``) seconds between."""

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


NO_RETRY = RetryPolicy(max_attempts=1)
