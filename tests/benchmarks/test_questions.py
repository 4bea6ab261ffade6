"""The benchmark's runners: a crash or an overrun is a result, not an end, and a whole run works end to end."""

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from benchmarks._flat import run_flat
from benchmarks._qset import load_questions
from benchmarks._runs import from_delegation, stop_tree
from benchmarks.questions import DEMO_CONFIG, select
from echelon.servers.core.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.anyio
async def test_a_flat_run_that_crashes_is_reported_not_raised() -> None:
    run = await run_flat("What is 1 + 1?", model_name="nope:x", config=load_config(DEMO_CONFIG), deadline=30)
    assert run.status == "crashed"
    assert run.error is not None and "unknown model 'nope:x'" in run.error


def test_stopping_a_tree_stops_the_children_first_and_the_root() -> None:
    # The root prints its child's pid once the child exists, then both wait for a minute.
    code = (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(c.pid, flush=True); time.sleep(60)"
    )
    root = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None
        child = psutil.Process(int(root.stdout.readline()))
        stop_tree(root.pid)
        root.wait(timeout=30)
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    finally:
        if root.poll() is None:
            root.kill()


def test_a_delegation_result_gives_the_answer_usage_files_route_goals_and_calls() -> None:
    result = {
        "status": "partial",
        "output": "Mountain West",
        "artifacts": [{"name": "d.pptx", "path": "/tmp/d.pptx"}],
        "usage": {"llm_calls": 5, "input_tokens": 900, "output_tokens": 80, "tool_calls": 3},
        "errors": [{"where": "data.Step", "message": "sent back"}],
        "plan": {"phases": [{"name": "Growth", "goals": "the growth rate"}]},
        "phases": [
            {
                "manager": "data",
                "phase": "Growth",
                "artifacts": [{"path": "/tmp/d.pptx"}],
                "steps": [{"calls": [{"worker": "sql", "tool": "aggregate", "arguments": {"measure": "m"}}]}],
            }
        ],
    }
    run = from_delegation(result, started_at=0.0, wall_seconds=12.5)
    assert (run.status, run.answer, run.llm_calls, run.tool_calls) == ("partial", "Mountain West", 5, 3)
    assert run.artifacts == ["/tmp/d.pptx"]
    assert run.route == ["data: Growth"] and run.errors == ["data.Step: sent back"]
    assert run.goals == ["Growth: the growth rate"]
    assert run.calls == ['sql.aggregate {"measure": "m"}']


def test_only_names_unknown_question_ids() -> None:
    with pytest.raises(SystemExit, match="unknown question ids: nope"):
        select(load_questions(), "dev", ["math-cagr", "nope"])
    assert [q.id for q in select(load_questions(), "dev", ["math-cagr"])] == ["math-cagr"]


@pytest.mark.e2e
def test_a_run_over_both_systems_judges_each_answer_and_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.questions",
        "--model",
        "python:tests.benchmarks._wiring_model:build",
        "--only",
        "math-percent-of",
        "tz-utc-india",
        "--json",
        str(out),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    right = {(r["id"], r["result"]["system"]): r["right"] for r in data["results"]}
    assert right == {
        ("math-percent-of", "hierarchy"): True,
        ("math-percent-of", "flat"): True,
        ("tz-utc-india", "hierarchy"): False,
        ("tz-utc-india", "flat"): False,
    }
    assert data["questions"][1]["expected"]["answer"]["times"] == ["20:15"]
    assert {t["system"]: t["right"] for t in data["totals"]} == {"hierarchy": 1, "flat": 1}
    printed = [line.split() for line in done.stdout.splitlines() if line.startswith("math-percent-of")]
    assert [(cells[3], cells[4]) for cells in printed] == [("hierarchy", "right"), ("flat", "right")]
