"""A third-party MCP server (mcp-server-time, from PyPI) working as a worker, over real stdio."""

import sys

import anyio
import pytest
from mcp import Client

from echelon.servers.core.config import parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def research_config():
    return parse_config(
        {
            "managers": {"research": {"description": "Dates and times", "workers": ["time"]}},
            "workers": {
                # Declared exactly as a desktop host's mcpServers entry would declare it.
                "time": {
                    "command": sys.executable,
                    "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"],
                }
            },
        }
    )


async def test_manager_discovers_and_calls_a_third_party_server_as_a_worker() -> None:
    model = ScriptedModel(
        [
            {"plan": {"steps": [{"name": "Tokyo time", "worker": "time", "goals": "current time in Tokyo"}]}},
            tool_call("convert_time", source_timezone="UTC", time="12:00", target_timezone="Asia/Tokyo"),
            "12:00 UTC is 21:00 in Tokyo.",  # one step: its answer is the phase's, no synthesis
        ]
    )
    server = build_server(research_config(), "research", model=model)
    with anyio.fail_after(60):
        async with Client(server) as client:
            catalog = (await client.call_tool("list_workers", {})).structured_content or {}
            answer = await client.call_tool(
                "execute_phase",
                {"phase": {"name": "Tokyo", "worker": "research", "goals": "Time in Tokyo at noon UTC"}},
            )
    tools = {t["name"] for t in catalog["workers"][0]["tools"]}
    assert tools == {"get_current_time", "convert_time"}
    # The planner saw the live schema of the third-party tools.
    assert "convert_time(source_timezone: string, time: string, target_timezone: string)" in (
        model.requests[0].messages[-1].content
    )
    result = PhaseResult.model_validate(answer.structured_content)
    assert result.status == "ok"
    tool_message = model.requests[2].messages[-1]
    assert tool_message.role == "tool" and "21:00" in tool_message.content  # the real server's answer
    assert [(r.worker, r.tool, r.is_error) for r in result.calls()] == [("time", "convert_time", False)]
    model.assert_consumed()
