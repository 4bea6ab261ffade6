"""One system answering one request: the hierarchy through the real CLI, as a user runs it.

``SystemRun`` is what either system gave back and what it cost; the flat agent (``_flat``) fills the same model.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import psutil
from pydantic import BaseModel, Field

System = Literal["hierarchy", "flat"]


class SystemRun(BaseModel):
    """What one system answered to one request, and what it cost."""

    system: System
    status: str = Field(description="The run's own status (ok, partial, failed), or crashed / timeout")
    answer: str = ""
    artifacts: list[str] = Field(default_factory=list, description="Paths of the files the run reported")
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    wall_seconds: float = 0.0
    started_at: float = Field(description="Unix time the run started (files older than this are not its own)")
    error: str | None = Field(default=None, description="Why the run gave no result (a crash, a timeout)")
    errors: list[str] = Field(default_factory=list, description="Errors the run itself reported")
    route: list[str] = Field(
        default_factory=list,
        description="The hierarchy's phases (manager: phase); the flat agent's tool calls",
    )
    goals: list[str] = Field(default_factory=list, description="Each planned phase's goals (phase: goals)")
    calls: list[str] = Field(
        default_factory=list,
        description="The hierarchy's tool calls with their arguments (worker.tool {...})",
    )


# After its own deadline the hierarchy still writes what it has (a partial result); past this much more, its
# process tree is stopped and the question counts as a timeout.
STOP_GRACE_SECONDS = 30.0


def run_hierarchy(request: str, *, model: str, config: Path, deadline: float) -> SystemRun:
    """``echelon ask --json`` on ``request`` in a subprocess (orchestrator, managers and workers below it). Like
    the flat agent, it gets ``deadline`` as its own limit (``--limit deadline_seconds``), so it ends ``partial``
    with what it has; its whole process tree is stopped if it runs STOP_GRACE_SECONDS past that."""
    started, clock = time.time(), time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "echelon.clients.cli",
        "--config",
        str(config),
        "ask",
        "--json",
        "--model",
        model,
        "--limit",
        f"deadline_seconds={deadline:g}",
        request,
    ]
    # Each question gets a run database of its own: a run left unfinished by an earlier question (stopped at its
    # deadline) would otherwise be recovered by this orchestrator and share the model with the question measured.
    with (
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr,
        tempfile.TemporaryDirectory(prefix="echelon-bench-runs-") as runs,
    ):
        env = {**os.environ, "ECHELON_RUNS_DATABASE": f"sqlite:///{Path(runs) / 'runs.sqlite'}"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        try:
            stdout, _ = process.communicate(timeout=deadline + STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            stop_tree(process.pid)
            process.communicate()
            return SystemRun(
                system="hierarchy",
                status="timeout",
                started_at=started,
                wall_seconds=time.perf_counter() - clock,
                error=f"no answer within {deadline + STOP_GRACE_SECONDS:.0f} s; the process tree was stopped",
            )
        stderr.seek(0)
        tail = stderr.read()[-2000:]
    wall = time.perf_counter() - clock
    try:
        result: dict[str, Any] = json.loads(stdout)
    except json.JSONDecodeError:
        error = f"the CLI exited with {process.returncode} and printed no result; its stderr ends:\n{tail}"
        return SystemRun(
            system="hierarchy", status="crashed", started_at=started, wall_seconds=wall, error=error
        )
    return from_delegation(result, started_at=started, wall_seconds=wall)


def from_delegation(result: dict[str, Any], *, started_at: float, wall_seconds: float) -> SystemRun:
    """A ``SystemRun`` from a DelegationResult's JSON (wall time as measured outside, process start-up included)."""
    usage = result.get("usage") or {}
    return SystemRun(
        system="hierarchy",
        status=str(result.get("status", "?")),
        answer=str(result.get("output") or ""),
        artifacts=_artifact_paths(result),
        llm_calls=int(usage.get("llm_calls", 0)),
        input_tokens=int(usage.get("input_tokens", 0)),
        output_tokens=int(usage.get("output_tokens", 0)),
        tool_calls=int(usage.get("tool_calls", 0)),
        wall_seconds=wall_seconds,
        started_at=started_at,
        errors=[f"{e.get('where', '?')}: {e.get('message', '')}" for e in result.get("errors") or []],
        route=[f"{p.get('manager', '?')}: {p.get('phase', '?')}" for p in result.get("phases") or []],
        goals=[
            f"{p.get('name', '?')}: {p.get('goals', '')}"
            for p in ((result.get("plan") or {}).get("phases") or [])
        ],
        calls=[
            f"{c.get('worker', '?')}.{c.get('tool', '?')} {json.dumps(c.get('arguments') or {})[:300]}"
            for p in result.get("phases") or []
            for s in p.get("steps") or []
            for c in s.get("calls") or []
        ],
    )


def _artifact_paths(result: dict[str, Any]) -> list[str]:
    """The files of the delegation and of each of its phases, once each."""
    found = [*(result.get("artifacts") or [])]
    for phase in result.get("phases") or []:
        found += phase.get("artifacts") or []
    return list(dict.fromkeys(str(a.get("path", "")) for a in found if a.get("path")))


def stop_tree(pid: int, grace: float = 10.0) -> None:
    """Stop process ``pid`` and every process below it, children first. The shared local model server, which
    a level may have started, is left running: other runs use it."""
    try:
        root = psutil.Process(pid)
        below = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    doomed = [p for p in below if not _is_model_server(p)]
    for process in [*reversed(doomed), root]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _gone, alive = psutil.wait_procs([*doomed, root], timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _is_model_server(process: psutil.Process) -> bool:
    try:
        return any("_local_server" in part for part in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
