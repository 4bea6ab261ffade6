"""The example workflows shipped with the demo check clean, and the fully pinned one runs with no model call."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from echelon.examples import demo_config_path
from echelon.servers.core.config import load_config
from echelon.servers.core.workflow import load_workflow
from echelon.servers.core.workflow._check import resolve_inputs, static_problems
from tests._servers import REPO

EXAMPLES = sorted((demo_config_path().parent / "workflows").glob("*.toml"))


def test_there_are_a_pinned_a_planned_and_a_for_each_example() -> None:
    workflows = [load_workflow(p) for p in EXAMPLES]
    assert any(all(ph.steps for ph in w.phases) for w in workflows)
    assert any(all(not ph.steps for ph in w.phases) and w.inputs for w in workflows)
    assert any(any(ph.for_each for ph in w.phases) for w in workflows)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_workflow_checks_clean_against_the_demo_hierarchy(path: Path) -> None:
    config = load_config(demo_config_path())
    workflow = load_workflow(path)
    assert (
        static_problems(workflow, {k: m.workers for k, m in config.managers.items()}, source=path.name) == []
    )
    assert resolve_inputs(workflow, {}, source=path.name)


@pytest.mark.anyio
@pytest.mark.e2e
async def test_the_pinned_example_runs_on_the_demo_with_no_model_call() -> None:
    path = next(p for p in EXAMPLES if p.stem == "yearly_revenue_report")
    env = {**os.environ, "ECHELON_MODEL": "python:tests._e2e_model:build_refusing", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "echelon.clients.cli", "run", str(path), "--json"]
    with anyio.fail_after(180):
        done = await anyio.run_process(command, env=env, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["usage"]["llm_calls"] == 0
    (deck,) = result["artifacts"]
    assert deck["path"].endswith(".pptx") and (await anyio.Path(deck["path"]).stat()).st_size > 10_000
