"""The math worker: exact and numeric math with sympy, behind a parser that never calls eval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from echelon.servers.workers.math.server import build_server, main

__all__ = ["build_server", "main"]


def __getattr__(name: str) -> Any:
    # The server (and the MCP SDK) load only when asked for: the forkserver that runs the computations imports
    # this package too, and needs sympy alone.
    if name in __all__:
        from echelon.servers.workers.math import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
