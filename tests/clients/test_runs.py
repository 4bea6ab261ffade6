"""``echelon runs`` and ``echelon trace``: real runs in the test's run database, read back as a table and a tree."""

from __future__ import annotations

import io
import json
import os
import stat
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from rich.console import Console

from echelon.clients._runs import run_tree, runs_table
from echelon.clients.cli import main
from echelon.servers.core.envelope import (
    ErrorInfo,
    PhaseResult,
    RetryRecord,
    StepResult,
    ToolCallRecord,
    Usage,
)
from echelon.servers.core.plan import Plan, PlanNode
from echelon.servers.core.runs import RunSummary
from echelon.servers.core.runs._reader import PhaseView, RunView
from tests.clients._sample_runs import finished_run


def run(argv: list[str]) -> tuple[int, str, str]:
    """The command's exit code, stdout and stderr. Not capsys: DBOS's log handler would keep its stream, closed
    after the test that first started DBOS."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited, redirect_stdout(out), redirect_stderr(err):
        main(argv)
    assert isinstance(exited.value.code, int)
    return exited.value.code, out.getvalue(), err.getvalue()


def text(renderable: object) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))  # noqa: SIM115 - closed with the console
    console.print(renderable)
    return console.export_text()


def test_runs_lists_each_run_with_its_status_phases_model_calls_tokens_and_wall_time(tmp_path: Path) -> None:
    first = finished_run(tmp_path, "Add 2 and 3 and make a slide")
    second = finished_run(tmp_path, "Add 2 and 3 again, please")
    code, out, _ = run(["runs"])
    assert code == 0
    lines = [line for line in out.splitlines() if first in line or second in line]
    assert [second in lines[0], first in lines[1]] == [True, True]  # newest first
    row = lines[1].split()
    assert "Add 2 and 3 and make a slide" in lines[1]
    assert "ok" in row and "2/2" in row
    code, out, _ = run(["runs", "--json", "--limit", "1"])
    (summary,) = [RunSummary.model_validate(r) for r in json.loads(out)]
    assert (summary.run_id, summary.status, summary.phases_done, summary.phases_total) == (second, "ok", 2, 2)
    assert summary.llm_calls > 0 and summary.tokens > 0 and summary.wall_seconds
    assert f"{summary.tokens:,}" in lines[0] and str(summary.llm_calls) in lines[0].split()


def test_runs_with_a_status_keeps_only_runs_in_that_state_and_says_when_there_are_none(
    tmp_path: Path,
) -> None:
    finished_run(tmp_path)
    code, out, _ = run(["runs", "--status", "failed"])
    assert code == 0
    assert out.startswith("no runs with status failed in sqlite:///")
    code, out, _ = run(["runs", "--status", "ok", "--json"])
    assert [r["status"] for r in json.loads(out)] == ["ok"]


def test_trace_shows_the_run_as_phase_step_and_tool_call_with_status_timings_and_tokens(
    tmp_path: Path,
) -> None:
    run_id = finished_run(tmp_path)
    code, out, _ = run(["trace", run_id])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"run {run_id}  ok  Add 2 and 3 and make a slide"
    compute = next(i for i, line in enumerate(lines) if "phase Compute › numbers  ok" in line)
    assert "model calls" in lines[compute] and "tokens" in lines[compute] and " ms" in lines[compute]
    step = next(i for i, line in enumerate(lines) if "step Add › calc  ok" in line)
    call = next(i for i, line in enumerate(lines) if "calc.add(a=2, b=3)  ok" in line)
    assert compute < step < call
    assert '→ {"value": 5.0}' in lines[call]
    assert any("phase Deck › content  ok" in line and "after Compute" in line for line in lines)
    assert any('deck.make_deck(title="Sum", bullets=["2 + 3 = 5"])  ok' in line for line in lines)
    code, out, _ = run(["trace", run_id, "--json"])
    view = RunView.model_validate_json(out)
    assert [(p.name, p.state) for p in view.phases] == [("Compute", "ok"), ("Deck", "ok")]


def test_trace_of_an_unknown_run_names_it_and_points_to_echelon_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(["trace", "no-such-run"])
    assert code == 2
    assert "there is no run 'no-such-run' in sqlite:///" in err
    assert "`echelon runs` lists the runs there are" in err


def test_trace_html_writes_one_self_contained_page_readable_by_its_owner_only(tmp_path: Path) -> None:
    run_id = finished_run(tmp_path, "Add 2 and 3 </script><script>alert(1)</script>")
    page = tmp_path / "run.html"
    page.write_text("older")
    page.chmod(0o644)
    code, out, _ = run(["trace", run_id, "--html", str(page)])
    assert code == 0 and str(page) in out
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    html = page.read_text()
    assert html.count("<script") == 2  # the data block and the page's own script: the request cannot add one
    data = html.split('<script type="application/json" id="run-data">', 1)[1].split("</script>", 1)[0]
    embedded = json.loads(data)
    assert embedded["view"]["summary"]["run_id"] == run_id
    assert embedded["view"]["summary"]["request"].endswith("</script><script>alert(1)</script>")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "src=" not in html  # nothing loaded from anywhere


def test_the_tree_shows_a_running_phase_failed_calls_retries_and_errors() -> None:
    call = ToolCallRecord(
        worker="calc",
        tool="divide",
        arguments={"a": 1, "b": 0},
        outcome="tool_error",
        error="division by zero",
        error_kind="tool",
        duration_ms=12,
        attempts=2,
        retries=[RetryRecord(attempt=1, reason="connection closed", delay_seconds=0.5)],
    )
    step = StepResult(step="Divide", worker="calc", status="failed", calls=[call], usage=Usage(llm_calls=1))
    failed = PhaseResult(
        phase="Ratio",
        manager="numbers",
        status="failed",
        steps=[step],
        errors=[ErrorInfo(where="numbers", message="no step succeeded", kind="tool")],
    )
    plan = Plan(
        phases=[
            PlanNode(name="Ratio", worker="numbers", goals="divide"),
            PlanNode(name="Sum", worker="numbers", goals="add"),
        ],
        primary_worker="numbers",
    )
    view = RunView(
        summary=RunSummary(run_id="r1", status="running", request="divide and add", started_at=1.0),
        plan=plan,
        phases=[
            PhaseView(
                name="Ratio",
                manager="numbers",
                goals="divide",
                state="failed",
                result=failed,
                started_at=2,
                finished_at=3,
            ),
            PhaseView(
                name="Sum",
                manager="numbers",
                goals="add",
                state="running",
                started_at=3,
                activity="step 1/1 › calc.add",
            ),
        ],
    )
    shown = text(run_tree(view))
    assert "phase Ratio › numbers  failed  1.0 s" in shown
    assert "calc.divide(a=1, b=0)  tool_error  12 ms  2 attempts  tool: division by zero" in shown
    assert "attempt 1 failed: connection closed" in shown
    assert "tool in numbers: no step succeeded" in shown
    assert "phase Sum › numbers  running" in shown and "so far" in shown
    assert "now: step 1/1 › calc.add" in shown


def test_the_table_shows_a_running_run_with_its_time_so_far_and_unknown_phase_total() -> None:
    running = RunSummary(run_id="r2", status="running", request="a long\nrequest", started_at=1.0)
    shown = text(runs_table([running]))
    row = next(line for line in shown.splitlines() if "r2" in line)
    assert "a long request" in row and "running" in row and "0/?" in row and "so far" in row
