"""Helpers for tests that drive a real orchestrator process through runs: start it over stdio on a config, script
the phases of a request for ``tests._e2e_model:build_script_runner``, and wait for a file another process writes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import psutil
from mcp import Client, StdioServerParameters

from tests._servers import REPO

SCRIPT_MODEL = "python:tests._e2e_model:build_script_runner"


@asynccontextmanager
async def stdio_orchestrator(
    config: Path, env: Mapping[str, str] | None = None
) -> AsyncGenerator[tuple[Client, int]]:
    """An orchestrator process on ``config`` with the script-runner model and the test's ``ECHELON_*`` settings
    (its run database); yields the client and the process id."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "echelon.servers.orchestrator", "--config", str(config)],
        env={
            **{k: v for k, v in os.environ.items() if k.startswith("ECHELON_")},
            "ECHELON_MODEL": SCRIPT_MODEL,
            "PYTHONPATH": str(REPO),
            **(env or {}),
        },
        cwd=str(REPO),
    )
    async with Client(params) as client:
        (child,) = [
            p for p in psutil.Process().children() if "echelon.servers.orchestrator" in " ".join(p.cmdline())
        ]
        yield client, child.pid


def numbers_hierarchy(path: Path, manager_url: str | None = None) -> Path:
    """Write, at ``path``, a hierarchy of one manager, ``numbers``, over the toy calc worker; declared at
    ``manager_url`` when the manager is served elsewhere."""
    py, root = json.dumps(sys.executable), json.dumps(str(REPO))
    url = f"url = {json.dumps(manager_url)}\n" if manager_url else ""
    path.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]
{url}
[workers.calc]
command = {py}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {root}
"""
    )
    return path


def script(*phases: tuple[str, str, dict[str, Any]]) -> str:
    """A request the script-runner model plans as these phases (name, tool, arguments), one after another."""
    return json.dumps({"phases": [{"name": n, "tool": t, "arguments": a} for n, t, a in phases]})


def structured(answer: Any) -> dict[str, Any]:
    """A tool's structured result, after checking it is not an error."""
    assert not answer.is_error, answer.content
    return answer.structured_content


async def wait_for_file(path: Path) -> str:
    """The text of ``path`` once another process has written it (call under ``anyio.fail_after``)."""
    while not await anyio.Path(path).exists():  # noqa: ASYNC110 - written by another process
        await anyio.sleep(0.05)
    return await anyio.Path(path).read_text()
