"""The whole hierarchy as real processes: echelon CLI -> orchestrator -> managers -> workers, all over stdio."""

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]
ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp: Path) -> Path:
    py = json.dumps(sys.executable)
    root = json.dumps(str(ROOT))
    out = json.dumps(str(tmp))
    config = tmp / "echelon.toml"
    config.write_text(
        f"""
[orchestrator]
synthesis = false

[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[managers.content]
description = "Decks"
planner = "WorkerRouterPlanner"
workers = ["deck"]

[workers.calc]
command = {py}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {root}

[workers.deck]
command = {py}
args = ["-m", "tests._toy_servers", "deck", {out}]
cwd = {root}
"""
    )
    return config


async def test_echelon_ask_runs_a_delegation_through_three_levels_of_real_stdio_processes(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    env = os.environ | {"ECHELON_MODEL": "python:tests._e2e_model:build", "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "echelon.clients.cli",
        "--config",
        str(config),
        "ask",
        "Add 20 and 22",
        "--json",
    ]
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env=env, cwd=ROOT, check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok"
    assert result["output"].startswith("The sum is 42.")
    assert [p["manager"] for p in result["phases"]] == ["numbers", "content"]
    deck = tmp_path / "Sum_deck.txt"
    assert deck.read_text().splitlines() == [
        "Sum deck",
        "Sum: 42",
    ]  # phase 1's figure reached phase 2's worker
    assert [a["path"] for a in result["artifacts"]] == [str(deck)]
    assert "planning phases" in stderr, stderr  # live progress from the orchestrator
    assert "phase 1/2 numbers › step 1/1 Add finished" in stderr  # ... forwarded from a manager


def test_echelon_config_check_reports_every_problem_with_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        """
[managers.data]
description = "d"
workers = ["sq"]

[managers.empty]
description = "nothing"
workers = []

[workers.sql]
command = "python"
url = "http://localhost:1/mcp"
"""
    )
    done = subprocess.run(
        [sys.executable, "-m", "echelon.clients.cli", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert "3 problem(s)" in done.stderr
    assert f"{bad}: managers.data.workers[0]: unknown worker 'sq' (workers: sql)" in done.stderr
    assert f"{bad}: managers.empty.workers: a manager needs at least one worker" in done.stderr
    assert f"{bad}: workers.sql: a target takes one of 'command' or 'url', not command and url" in done.stderr


async def test_echelon_ask_limit_reaches_every_level_and_ends_partial_naming_it(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = os.environ | {"ECHELON_MODEL": "python:tests._e2e_model:build", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "echelon.clients.cli", "--config", str(config), "ask", "Add 20 and 22"]
    command += ["--json", "--limit", "max_tool_calls=1"]
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["status"] == "partial"
    assert result["usage"]["tool_calls"] == 1  # the sum; the deck's call was refused one level down
    assert [p["status"] for p in result["phases"]] == ["ok", "partial"]
    (error,) = result["phases"][1]["errors"]
    assert error["kind"] == "budget" and "(max_tool_calls)" in error["message"]
    assert not (tmp_path / "Sum_deck.txt").exists()
