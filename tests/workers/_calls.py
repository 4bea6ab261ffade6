"""Calling a worker's tool in tests: the structured result of a success, the message of a ToolError."""

from __future__ import annotations

from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer


async def _call(target: Client | MCPServer, tool: str, args: dict[str, Any]) -> Any:
    if isinstance(target, Client):
        return await target.call_tool(tool, args)
    async with Client(target) as client:
        return await client.call_tool(tool, args)


async def call(target: Client | MCPServer, tool: str, /, **args: Any) -> dict[str, Any]:
    """Call ``tool`` on a connected client or (in-process) on a server; it must succeed with structured output."""
    result = await _call(target, tool, args)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def call_error(target: Client | MCPServer, tool: str, /, **args: Any) -> str:
    """Call ``tool``; it must fail, and the text of its error is returned."""
    result = await _call(target, tool, args)
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text
