"""echelon: a hierarchy of AI agents in which every agent is an MCP server (orchestrator, managers, workers)."""

# The one place the version is written (pyproject reads it from here): no importlib.metadata lookup, which costs
# every server about 35 ms at start.
__version__ = "0.1.0"
