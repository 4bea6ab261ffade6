"""The SQL worker: read-only queries, schema inspection and sqlglot analysis over one SQLite database."""

from echelon.servers.workers.sql.server import build_server, main

__all__ = ["build_server", "main"]
