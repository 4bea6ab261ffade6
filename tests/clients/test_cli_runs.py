"""`echelon ask` follows a run to its end; Ctrl-C cancels it (without a terminal to ask); `echelon resume` continues
it, without re-running what finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from tests._servers import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


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


def cli(tmp: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "echelon.clients.cli", "--config", str(config(tmp)), *args]


ENV = {**os.environ, "ECHELON_MODEL": "python:tests._e2e_model:build_script_runner", "PYTHONPATH": str(REPO)}


async def test_ctrl_c_cancels_a_followed_run_and_resume_finishes_it_without_rerunning_what_finished(
    tmp_path: Path,
) -> None:
    counter, marker = tmp_path / "count", tmp_path / "waiting"
    request = json.dumps(
        {
            "phases": [
                {"name": "Count", "tool": "count", "arguments": {"counter": str(counter)}},
                {"name": "Wait", "tool": "wait_once", "arguments": {"marker": str(marker), "seconds": 300}},
            ]
        }
    )
    with anyio.fail_after(120):
        process = await anyio.open_process(
            cli(tmp_path, "ask", request, "--json"), stdin=subprocess.DEVNULL, env=ENV, cwd=REPO
        )
        try:
            assert process.stderr is not None and process.stdout is not None
            seen = ""
            run_id = ""
            async for chunk in process.stderr:
                seen += chunk.decode()
                if not run_id and "echelon: run " in seen:
                    run_id = seen.split("echelon: run ", 1)[1].split()[0]
                if run_id and await anyio.Path(marker).exists():
                    break
            process.send_signal(signal.SIGINT)
            out = b"".join([chunk async for chunk in process.stdout])
            seen += b"".join([chunk async for chunk in process.stderr]).decode()
            await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert f"echelon: cancelling run {run_id}" in seen
        cancelled = json.loads(out)
        assert (cancelled["status"], cancelled["run_id"]) == ("cancelled", run_id)
        assert [p["phase"] for p in cancelled["phases"]] == ["Count"]
        assert process.returncode == 1

        resumed = await anyio.run_process(
            cli(tmp_path, "resume", run_id, "--json"), env=ENV, cwd=REPO, check=False
        )
    assert resumed.returncode == 0, resumed.stderr.decode()
    result = json.loads(resumed.stdout)
    assert result["status"] == "ok" and [p["phase"] for p in result["phases"]] == ["Count", "Wait"]
    assert counter.read_text() == "1"  # the finished phase was kept, not run again
