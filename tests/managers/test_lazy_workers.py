"""A manager starts only the workers a phase's steps use: the others' tool lists come from the tool cache."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import psutil
import pytest
from mcp import Client

from echelon.servers.core.config import HierarchyConfig, parse_config
from echelon.servers.core.envelope import PhaseResult
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.managers.server import build_server
from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
WORKERS = [f"calc{i}" for i in range(1, 6)]


def five_workers(tmp: Path) -> HierarchyConfig:
    """Five stdio calculators, told apart by their entries (so each has a cache entry of its own)."""
    worker = {"command": sys.executable, "args": ["-m", "tests._toy_servers", "calc"], "cwd": str(REPO)}
    return parse_config(
        {
            "managers": {"numbers": {"description": "Arithmetic", "workers": WORKERS}},
            "workers": {name: worker | {"env": {"CALC_NAME": f"{name}-{tmp}"}} for name in WORKERS},
        },
        file=str(tmp / "echelon.toml"),
    )


def phase_on(worker: str) -> ScriptedModel:
    plan = {"plan": {"steps": [{"name": "Add", "worker": worker, "goals": "add 2 and 3"}]}}
    return ScriptedModel([plan, tool_call("add", a=2, b=3), "2 + 3 = 5"])


def calculators() -> list[psutil.Process]:
    return [
        p for p in psutil.Process().children(recursive=True) if "tests._toy_servers" in " ".join(p.cmdline())
    ]


async def run_phase(config: HierarchyConfig, worker: str) -> tuple[PhaseResult, int]:
    """Run one phase whose step uses ``worker``; also how many worker processes ran while the manager served."""
    server = build_server(config, "numbers", model=phase_on(worker))
    async with Client(server) as client:
        answer = await client.call_tool(
            "execute_phase", {"phase": {"name": "Sum", "worker": "numbers", "goals": "add 2 and 3"}}
        )
        started = len(calculators())
    return PhaseResult.model_validate(answer.structured_content), started


async def test_a_phase_that_needs_one_of_five_workers_starts_exactly_one_once_their_tools_are_known(
    tmp_path: Path,
) -> None:
    config = five_workers(tmp_path)
    with anyio.fail_after(120):
        first, cold = await run_phase(config, "calc3")  # nothing known yet: all five are started and listed
        second, warm = await run_phase(config, "calc4")
    assert (first.status, first.output) == ("ok", "2 + 3 = 5")
    assert (second.status, second.output) == ("ok", "2 + 3 = 5")
    assert [s.worker for s in second.steps] == ["calc4"]
    assert (cold, warm) == (5, 1)
    assert calculators() == []  # every worker stopped with its manager


async def test_a_changed_worker_entry_is_listed_anew_and_not_read_from_the_cache(tmp_path: Path) -> None:
    config = five_workers(tmp_path)
    with anyio.fail_after(120):
        await run_phase(config, "calc1")
        config.workers["calc2"].args.append(
            "--api-token=changed"
        )  # another entry: its old tools do not count
        result, started = await run_phase(config, "calc1")
    assert result.status == "ok"
    assert started == 2  # calc1 for the step, calc2 to list its tools
