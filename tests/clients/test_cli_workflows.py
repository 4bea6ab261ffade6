"""Workflows from the command line: schema, check, run; a plan saved as a workflow runs the saved phases; a run
saved as a workflow replays with no model call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WORKFLOW = """
description = "Add a number to 3"
[inputs.a]
type = "integer"
default = 2

[[phases]]
name = "Sum"
worker = "numbers"
goals = "Add {{inputs.a}} and 3"
synthesis = false
[[phases.steps]]
worker = "calc"
tool = "add"
arguments = { a = "{{inputs.a}}", b = 3 }
"""


def config(tmp: Path) -> Path:
    path = tmp / "echelon.toml"
    path.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {json.dumps(str(REPO))}
"""
    )
    return path


async def echelon(tmp: Path, *args: str, model: str = "build_refusing") -> tuple[int, str, str]:
    env = {**os.environ, "ECHELON_MODEL": f"python:tests._e2e_model:{model}", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "echelon.clients.cli", "--config", str(config(tmp)), *args]
    with anyio.fail_after(120):
        done = await anyio.run_process(command, env=env, cwd=tmp, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_schema_check_and_run_of_a_workflow_file(tmp_path: Path) -> None:
    (tmp_path / "add.toml").write_text(WORKFLOW)
    code, out, _ = await echelon(tmp_path, "workflow", "schema")
    assert code == 0 and json.loads(out)["title"] == "echelon workflow"
    code, out, err = await echelon(tmp_path, "workflow", "check", "add.toml", "--input", "a=5")
    assert code == 0, err
    assert out.strip().endswith("add.toml: ok (a=5)")
    code, out, err = await echelon(tmp_path, "run", "add.toml", "--input", "a=5", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "ok" and result["usage"]["llm_calls"] == 0
    assert '"value": 8.0' in result["output"]


async def test_check_names_every_problem_and_run_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text(
        WORKFLOW.replace("b = 3", 'b = "three"').replace('worker = "calc"', 'worker = "calculator"')
    )
    code, _, err = await echelon(tmp_path, "workflow", "check", "bad.toml")
    assert code == 1
    assert "phases['Sum'].steps[0].worker: 'calculator' is not a worker of numbers (calc)" in err
    (tmp_path / "typo.toml").write_text(
        WORKFLOW.replace("synthesis = false", "synthesis = false\ncolour = 1")
    )
    code, _, err = await echelon(tmp_path, "run", "typo.toml")
    assert code == 2 and "phases['Sum'].colour: unknown key (check the spelling)" in err


async def test_a_plan_saved_as_a_workflow_runs_the_saved_phases(tmp_path: Path) -> None:
    request = json.dumps({"phases": [{"name": "Add", "tool": "add", "arguments": {"a": 1, "b": 2}}]})
    code, _, err = await echelon(
        tmp_path, "plan", request, "--save", "saved.toml", model="build_script_runner"
    )
    assert code == 0, err
    saved = (tmp_path / "saved.toml").read_text()
    assert 'name = "Add"' in saved and 'worker = "numbers"' in saved
    code, out, err = await echelon(tmp_path, "run", "saved.toml", "--json", model="build_script_runner")
    assert code == 0, err
    assert [p["phase"] for p in json.loads(out)["phases"]] == ["Add"]


async def test_a_run_saved_as_a_workflow_replays_with_no_model_call(tmp_path: Path) -> None:
    request = json.dumps({"phases": [{"name": "Add", "tool": "add", "arguments": {"a": 20, "b": 22}}]})
    code, out, err = await echelon(tmp_path, "ask", request, "--json", model="build_script_runner")
    assert code == 0, err
    first = json.loads(out)
    code, _, err = await echelon(tmp_path, "runs", "save", first["run_id"], "replay.toml")
    assert code == 0, err
    code, out, err = await echelon(
        tmp_path, "run", "replay.toml", "--json"
    )  # on a model that refuses every call
    assert code == 0, err
    replay = json.loads(out)
    assert replay["usage"]["llm_calls"] == 0 and replay["status"] == "ok"
    assert [
        (c["tool"], c["arguments"]) for p in replay["phases"] for s in p["steps"] for c in s["calls"]
    ] == [("add", {"a": 20, "b": 22})]
