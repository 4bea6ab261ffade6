"""The MCP Inspector CLI (pinned in tests/conformance/package.json) as a real third-party client of our servers.

Tests call ``inspect_server(target, "--method", "tools/list")`` with a command (stdio) or a URL (Streamable HTTP)
and get the MCP result; they skip, saying what to install, when the Inspector or node is not there. Nothing is
downloaded at test time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import pytest

from tests._node import missing, node
from tests._servers import REPO

INSPECTOR = ("@modelcontextprotocol/inspector", "clients/launcher/build/index.js")


def require_inspector() -> None:
    """Skip the calling test when the Inspector CLI cannot run here."""
    why = missing(*INSPECTOR)
    if why is not None:
        pytest.skip(f"the MCP Inspector CLI cannot run: {why}")


async def inspect_server(
    target: Sequence[str], *method: str, env: Mapping[str, str] | None = None, era: str = "legacy"
) -> Any:
    """Run ``inspector --cli`` against ``target`` (a command, or one URL) and return the MCP result.

    ``env`` reaches a stdio server (the Inspector passes it only what it is given); ``era`` is the protocol era
    it negotiates (``legacy``: the initialize handshake, ``modern``: 2026-07-28).
    """
    require_inspector()
    runner = node()
    assert runner is not None
    script = REPO / "tests" / "conformance" / "node_modules" / INSPECTOR[0] / INSPECTOR[1]
    variables = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    command = [str(runner), str(script), "--cli", "--format", "json", "-q", "--protocol-era", era]
    command += [*variables, "--cwd", str(REPO), *target, *method]
    with anyio.fail_after(300):
        done = await anyio.run_process(command, cwd=REPO, check=False)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, f"inspector failed ({done.returncode}):\n{out}\n{err}"
    return json.loads(out)["result"]
