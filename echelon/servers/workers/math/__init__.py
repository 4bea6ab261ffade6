"""The math worker: exact and numeric math with sympy, behind a parser that never calls eval."""

from echelon.servers.workers.math.server import build_server, main

__all__ = ["build_server", "main"]
