"""`echelon install` writes an entry a desktop host can really start."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests._servers import DEMO_WORKFLOW_TOOLS, ORCHESTRATOR_TOOLS

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]


async def test_installed_claude_desktop_entry_starts_the_orchestrator(tmp_path: Path) -> None:
    config_file = tmp_path / ".config" / "Claude" / "claude_desktop_config.json"
    config_file.parent.mkdir(parents=True)
    config_file.write_text(
        json.dumps({"mcpServers": {"git": {"command": "uvx", "args": ["mcp-server-git"]}}})
    )
    env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"} | {"HOME": str(tmp_path)}
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [sys.executable, "-m", "echelon.clients.cli", "install", "claude-desktop"],
            cwd=ROOT,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    assert "added 'echelon'" in done.stdout.decode()
    servers = json.loads(config_file.read_text())["mcpServers"]
    assert servers["git"] == {"command": "uvx", "args": ["mcp-server-git"]}
    entry = servers["echelon"]
    # Start it the way a desktop host does: minimal environment, some other working directory.
    params = StdioServerParameters(
        command=entry["command"], args=entry["args"], env=entry.get("env"), cwd=tmp_path
    )
    with anyio.fail_after(60):
        async with Client(params, mode="legacy") as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            listing = await client.call_tool("list_managers", {})
    assert tools == ORCHESTRATOR_TOOLS | DEMO_WORKFLOW_TOOLS
    assert [m["key"] for m in (listing.structured_content or {})["managers"]] == [
        "data",
        "research",
        "content",
    ]
