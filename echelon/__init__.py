"""echelon: a hierarchy of AI agents in which every agent is an MCP server (orchestrator, managers, workers)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-echelon")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
