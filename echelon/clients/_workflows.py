"""``echelon workflow schema|check``, ``echelon run FILE``, ``echelon plan --save`` and ``echelon runs save``.

Checking and running go through a real orchestrator subprocess (the check reads the workers' live tool schemas
through their managers); a file that does not even parse is reported before any process starts. Saving turns a
model's plan into a workflow to review, and a finished run into a workflow with every step pinned to the calls it
made, so it replays without a model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import tomli_w

from echelon.servers.core.envelope import DelegationResult, PhaseResult
from echelon.servers.core.workflow import WorkflowError, load_workflow, workflow_schema

from ._follow import CommandError


def parse_inputs(pairs: Sequence[str]) -> dict[str, str]:
    """``--input name=value`` pairs (values stay text: the workflow's types read them)."""
    inputs: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--input {pair!r}: write it as name=value")
        inputs[name.strip()] = value
    return inputs


def schema() -> int:
    print(json.dumps(workflow_schema(), indent=2))
    return 0


def _loaded(file: str) -> Path:
    path = Path(file).expanduser().resolve()
    try:
        load_workflow(path)
    except WorkflowError as exc:
        raise CommandError(
            "the workflow has problems:\n" + "\n".join(f"  {p}" for p in exc.problems)
        ) from None
    return path


def check(file: str, pairs: Sequence[str], config_path: Path) -> int:
    """Check ``file`` against the hierarchy's live tools; print each problem; 0 only when there is none."""
    from ._commands import call_orchestrator

    path = _loaded(file)
    answer = anyio.run(
        call_orchestrator,
        config_path,
        None,
        "check_workflow",
        {"workflow": str(path), "inputs": parse_inputs(pairs)},
    )
    if answer["ok"]:
        shown = ", ".join(f"{k}={json.dumps(v)}" for k, v in answer["inputs"].items()) or "no inputs"
        print(f"{path}: ok ({shown})")
        return 0
    print(f"{len(answer['problems'])} problem(s):", file=sys.stderr)
    for problem in answer["problems"]:
        print(f"  {problem}", file=sys.stderr)
    return 1


def run(file: str, pairs: Sequence[str], config_path: Path) -> DelegationResult:
    """Run ``file`` through the orchestrator as a durable run, followed to its end."""
    from ._commands import call_orchestrator, prepare_local

    path = _loaded(file)
    prepare_local(config_path, None)
    arguments = {"workflow": str(path), "inputs": parse_inputs(pairs), "wait_seconds": 1}
    return DelegationResult.model_validate(
        anyio.run(call_orchestrator, config_path, None, "run_workflow", arguments)
    )


def write(path: str, workflow: dict[str, Any]) -> None:
    """Write a workflow file (TOML, or JSON for a .json name), never over an existing file."""
    target = Path(path).expanduser()
    if target.exists():
        raise CommandError(f"{target} exists; choose another file name (nothing was written)")
    text = (
        json.dumps(workflow, indent=2) + "\n"
        if target.suffix == ".json"
        else tomli_w.dumps(_no_nulls(workflow))
    )
    target.write_text(text, encoding="utf-8")
    print(f"echelon: wrote {target}", file=sys.stderr)


def _no_nulls(value: Any) -> Any:
    """TOML has no null: keys whose value is None are left out."""
    if isinstance(value, dict):
        return {k: _no_nulls(v) for k, v in value.items() if v is not None}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_no_nulls(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def from_plan(preview: dict[str, Any]) -> dict[str, Any]:
    """A workflow from a plan preview: the model's phases, to review and edit before running."""
    phases = [
        {k: v for k, v in item["phase"].items() if k in ("name", "worker", "goals", "notes", "depends_on")}
        for item in preview["phases"]
    ]
    return {
        "description": preview["request"],
        "asks_for": preview.get("asks_for", []),
        "primary_worker": preview["primary_worker"],
        "rationale": preview.get("rationale", ""),
        "phases": phases,
    }


def from_run(result: DelegationResult, plan: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """A workflow that replays ``result`` with no model: each phase's successful calls pinned, in order, and no
    synthesis anywhere. Also the names of phases that made no call (they would need a model; left unpinned)."""
    nodes = {p["name"]: p for p in (plan or {}).get("phases", [])}
    phases: list[dict[str, Any]] = []
    unpinned: list[str] = []
    for phase in result.phases:
        node = nodes.get(phase.phase, {})
        entry: dict[str, Any] = {
            "name": phase.phase,
            "worker": phase.manager,
            "goals": node.get("goals") or phase.phase,
            "notes": node.get("notes", ""),
            "depends_on": [d for d in node.get("depends_on", []) if any(p.phase == d for p in result.phases)],
        }
        steps = _pinned(phase)
        if steps:
            entry["steps"] = steps
            entry["synthesis"] = False
        else:
            unpinned.append(phase.phase)
        phases.append(entry)
    workflow = {
        "description": f"Replay of run {result.run_id}: {result.request}",
        "synthesis": False,
        "phases": phases,
    }
    if result.primary_manager:
        workflow["primary_worker"] = result.primary_manager
    return workflow, unpinned


def _pinned(phase: PhaseResult) -> list[dict[str, Any]]:
    return [
        {"worker": call.worker, "tool": call.tool, "arguments": call.arguments}
        for step in phase.steps
        for call in step.calls
        if call.outcome == "ok"
    ]
