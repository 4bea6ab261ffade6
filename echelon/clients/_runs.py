"""``echelon runs`` and ``echelon trace``: the run database of the active config, as a table and as a tree.

Both read through ``RunReader`` (no DBOS runtime, no orchestrator needed), so they work while the run goes on in
another process and long after it ended.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from echelon.servers.core.config import ConfigError, load_config
from echelon.servers.core.envelope import ErrorInfo, PhaseResult, StepResult, ToolCallRecord, Usage, clip
from echelon.servers.core.runs import ENV_DATABASE, RunStatus, RunSummary, database_url
from echelon.servers.core.runs._reader import PhaseView, RunReader, RunView

from ._commands import CommandError

STYLES = {
    "ok": "green",
    "partial": "yellow",
    "failed": "red",
    "cancelled": "magenta",
    "running": "bold cyan",
    "queued": "cyan",
    "waiting": "dim",
    "skipped": "dim",
    "not run": "dim",
    "tool_error": "red",
    "refused": "yellow",
}


def runs_database(config_path: Path) -> str:
    """The run database of the config at ``config_path`` (``$ECHELON_RUNS_DATABASE`` wins)."""
    if os.environ.get(ENV_DATABASE):
        return database_url()
    try:
        return database_url(load_config(config_path).runs)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


async def _read(url: str, run_id: str | None, limit: int, status: RunStatus | None) -> Any:
    from sqlalchemy.exc import SQLAlchemyError

    try:
        reader = await anyio.to_thread.run_sync(RunReader, url)
        try:
            if run_id is None:
                return await reader.list(limit=limit, status=status)
            return await reader.get(run_id)
        finally:
            reader.close()
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise CommandError(
            f"cannot read the run database {shown(url)}: {cause} (set [runs] database in echelon.toml or "
            f"${ENV_DATABASE} to the database the orchestrator uses)"
        ) from None


def list_runs(url: str, *, limit: int, status: RunStatus | None) -> list[RunSummary]:
    runs: list[RunSummary] = anyio.run(_read, url, None, limit, status)
    return runs


def get_run(url: str, run_id: str) -> RunView:
    """The run ``run_id``, or a ``CommandError`` that names it and says how to find the real ones."""
    view: RunView | None = anyio.run(_read, url, run_id, 1, None)
    if view is None:
        raise CommandError(
            f"there is no run {run_id!r} in {shown(url)}; `echelon runs` lists the runs there are"
        )
    return view


def shown(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


# -- rendering ---------------------------------------------------------------------------------------------------


def _status(status: str) -> Text:
    return Text(status, style=STYLES.get(status, ""))


def _when(seconds: float | None, shape: str = "%Y-%m-%d %H:%M:%S") -> str:
    return datetime.fromtimestamp(seconds).strftime(shape) if seconds else "-"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def _wall(summary: RunSummary) -> str:
    if summary.wall_seconds is not None:
        return duration(summary.wall_seconds)
    if summary.status in ("queued", "running") and summary.started_at:
        return f"{duration(time.time() - summary.started_at)} so far"
    return "-"


def runs_table(runs: list[RunSummary]) -> Table:
    """One row per run: id, started, request (clipped), status, phases done, model calls, tokens, wall time."""
    table = Table(title=f"{len(runs)} run(s), newest first", title_justify="left", box=box.SIMPLE_HEAD)
    # Every column but the request keeps its width: the request is cut short to fit the terminal.
    table.add_column("run", no_wrap=True, min_width=22)
    table.add_column("started", no_wrap=True, min_width=16)
    table.add_column("request", max_width=60, no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("phases", justify="right", no_wrap=True)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("tokens", justify="right", no_wrap=True)
    table.add_column("cost", justify="right", no_wrap=True)
    table.add_column("wall", justify="right", no_wrap=True, min_width=6)
    for run in runs:
        total = run.phases_total if run.phases_total is not None else "?"
        table.add_row(
            run.run_id,
            _when(run.started_at, "%Y-%m-%d %H:%M"),
            " ".join(run.request.split()),
            _status(run.status),
            f"{run.phases_done}/{total}",
            str(run.llm_calls),
            f"{run.tokens:,}",
            f"${run.cost_usd:.4f}",
            _wall(run),
        )
    return table


def _usage(usage: Usage) -> str:
    parts = [_count(usage.llm_calls, "model call"), _count(usage.tokens, "token"), usage.cost_text()]
    if usage.tool_calls:
        parts.append(_count(usage.tool_calls, "tool call"))
    if usage.retries:
        parts.append(_count(usage.retries, "retry").replace("retrys", "retries"))
    return " · ".join(parts)


def _errors(node: Tree, errors: list[ErrorInfo]) -> None:
    for error in errors:
        node.add(Text(f"{error.kind} in {error.where}: {clip(error.message, 300)}", style="red"))


def _arguments(arguments: dict[str, Any]) -> str:
    return clip(", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in arguments.items()), 160)


def call_line(call: ToolCallRecord) -> Text:
    """``worker.tool(arguments)  outcome  time  → result``, the error when there is one."""
    line = Text(f"{call.worker}.{call.tool}", style="bold")
    line.append(f"({_arguments(call.arguments)})  ")
    line.append_text(_status(call.outcome))
    line.append(f"  {duration(call.duration_ms / 1000)}", style="dim")
    if call.attempts > 1:
        line.append(f"  {call.attempts} attempts", style="yellow")
    if call.outcome == "ok":
        shown_result = call.text or json.dumps(call.result, default=str)
        line.append(f"  → {clip(' '.join(shown_result.split()), 160)}", style="dim")
    if call.error:
        line.append(f"  {call.error_kind or 'error'}: {clip(call.error, 300)}", style="red")
    if call.policy:
        line.append(f"  [{call.policy}{': ' + call.note if call.note else ''}]", style="yellow")
    return line


def _step(parent: Tree, step: StepResult) -> None:
    label = Text(f"step {step.step} › {step.worker}  ")
    label.append_text(_status(step.status))
    label.append(f"  {duration(step.usage.wall_seconds)} · {_usage(step.usage)}", style="dim")
    if step.reassigned_from:
        label.append(f"  (reassigned from {step.reassigned_from})", style="yellow")
    node = parent.add(label)
    for call in step.calls:
        retried = node.add(call_line(call))
        for retry in call.retries:
            retried.add(Text(f"attempt {retry.attempt} failed: {clip(retry.reason, 200)}", style="yellow"))
    _errors(node, step.errors)


def _phase(parent: Tree, phase: PhaseView) -> None:
    label = Text(f"phase {phase.name} › {phase.manager}  ", style="bold")
    label.append_text(_status(phase.state))
    result: PhaseResult | None = phase.result
    if phase.started_at and phase.finished_at:
        label.append(f"  {duration(phase.finished_at - phase.started_at)}", style="dim")
    elif phase.state == "running" and phase.started_at:
        label.append(f"  {duration(time.time() - phase.started_at)} so far", style="dim")
    if result is not None:
        label.append(f"  {_usage(result.usage)}", style="dim")
    if phase.depends_on:
        label.append(f"  after {', '.join(phase.depends_on)}", style="dim")
    node = parent.add(label)
    node.add(Text(f"goals: {clip(phase.goals, 300)}", style="dim"))
    if phase.activity:
        node.add(Text(f"now: {phase.activity}", style="cyan"))
    if result is None:
        return
    for step in result.steps:
        _step(node, step)
    if result.output:
        node.add(Text(f"answer: {clip(' '.join(result.output.split()), 300)}"))
    if result.missing:
        node.add(Text(f"missing: {result.missing}", style="yellow"))
    _errors(node, result.errors)


def run_tree(view: RunView) -> Group:
    """The run as a tree: the plan, phase › step › tool call with status, timings, tokens and errors, the answer."""
    s = view.summary
    header = Text(f"run {s.run_id}  ", style="bold")
    header.append_text(_status(s.status))
    header.append(f"  {' '.join(s.request.split())}")
    tree = Tree(header)
    facts = (
        f"started {_when(s.started_at)} · {_wall(s)} · {_count(s.llm_calls, 'model call')} · "
        f"{_count(s.tokens, 'token')} · ~${s.cost_usd:.4f}"
    )
    tree.add(Text(facts + (f" · resumed from {s.resumed_from}" if s.resumed_from else ""), style="dim"))
    if view.plan is not None:
        plan = tree.add(Text(f"plan: {view.plan.rationale or 'no rationale given'}", style="dim"))
        if view.plan.asks_for:
            plan.add(Text(f"the answer must state: {', '.join(view.plan.asks_for)}", style="dim"))
    for phase in view.phases:
        _phase(tree, phase)
    result = view.result
    if result is not None:
        for replan in result.replans:
            tree.add(Text(f"replanned after {', '.join(replan.failed)}: {replan.reason}", style="yellow"))
        if result.output:
            tree.add(Text(f"answer: {clip(result.output.strip(), 2000)}"))
        for artifact in result.artifacts:
            tree.add(Text(f"file: {artifact.path}"))
        in_phases = [e for p in result.phases for e in p.errors]
        _errors(tree, [e for e in result.errors if e not in in_phases])
    if view.error:
        tree.add(Text(f"the run broke: {view.error}", style="red"))
    return Group(tree)


def print_renderable(renderable: Any) -> None:
    """Print for a terminal at its width; into a pipe or file, wide enough that no column is cut."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(renderable)


# -- the commands ------------------------------------------------------------------------------------------------


def command(args: Any, config_path: Path) -> int:
    """``echelon runs``, ``echelon trace`` and ``echelon ui``."""
    url = runs_database(config_path)
    if args.command == "runs" and getattr(args, "runs_command", None) == "save":
        return save_run(url, args.run, args.file)
    if args.command == "runs":
        runs = list_runs(url, limit=args.limit, status=args.status)
        if args.json:
            print(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        elif not runs:
            print(f"no runs{f' with status {args.status}' if args.status else ''} in {shown(url)}")
        else:
            print_renderable(runs_table(runs))
        return 0
    if args.command == "trace":
        view = get_run(url, args.run)
        if args.html:
            from .ui import write_html

            path = write_html(view, Path(args.html))
            print(f"echelon: wrote {path} (readable by you only: it holds the run's requests and data)")
        elif args.json:
            print(view.model_dump_json(indent=2))
        else:
            print_renderable(run_tree(view))
        return 0
    from .ui import UiError, bind, serve

    try:
        sock = bind(args.host, args.port, allow_remote=args.allow_remote)
        serve(url, sock, check_host=not args.allow_remote, shown=shown(url))
    except UiError as exc:
        raise CommandError(str(exc)) from None
    return 0


def save_run(url: str, run_id: str, file: str) -> int:
    """``echelon runs save RUN FILE``: the finished run as a workflow with every call pinned."""
    from ._workflows import from_run, write

    view = get_run(url, run_id)
    if view.result is None:
        raise CommandError(f"run {run_id!r} has not finished ({view.summary.status}); save it once it has")
    workflow, unpinned = from_run(view.result, view.result.plan)
    write(file, workflow)
    if unpinned:
        print(
            f"echelon: phases {', '.join(unpinned)} made no successful call; they stay unpinned and need a model",
            file=sys.stderr,
        )
    return 0
