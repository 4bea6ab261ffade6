"""What the ``echelon`` subcommands do. ``ask``/``plan`` talk to a real orchestrator subprocess over stdio."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from echelon.servers.core.config import ConfigError, load_config, resolve_config_path, unused_workers
from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.pool import OWN_ENV_PREFIXES, inherited_env, result_text


class CommandError(Exception):
    """A command failed in a way the user can fix; the message says how."""


def orchestrator_params(config_path: str | None, model: str | None) -> StdioServerParameters:
    """The stdio command that runs the orchestrator, exactly as a desktop host would run it."""
    args = ["-m", "echelon.servers.orchestrator"]
    if config_path:
        args += ["--config", str(Path(config_path).resolve())]
    env = inherited_env(OWN_ENV_PREFIXES)
    if model:
        # One model for every level: managers read it from the environment they inherit.
        env["ECHELON_MODEL"] = model
    return StdioServerParameters(command=sys.executable, args=args, env=env)


class _Progress:
    """Live progress on stderr: elapsed seconds and the latest message."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"  [{elapsed:6.1f}s] {message or progress}", file=sys.stderr, flush=True)


def prepare_local(config_path: str | None, model: str | None) -> None:
    """Fetch the local model and start its shared server in the foreground when a level resolves to ``local``,
    so a download shows its progress here and a failure stops here, with its fix."""
    from echelon.servers.core.llm import ModelError
    from echelon.servers.core.llm.local import prepare_local_models

    try:
        config = load_config(config_path)  # applies ECHELON_MODEL
    except ConfigError:
        return  # reported by the command itself
    names = [model] if model else [config.orchestrator.model, *(m.model for m in config.managers.values())]
    try:
        prepare_local_models(names)
    except ModelError as exc:
        raise CommandError(str(exc)) from None


async def _call(config_path: str | None, model: str | None, tool: str, arguments: dict[str, Any]) -> Any:
    progress = _Progress()
    print(f"echelon: starting the orchestrator ({tool})...", file=sys.stderr, flush=True)
    async with Client(orchestrator_params(config_path, model), read_timeout_seconds=3600) as client:
        result = await client.call_tool(tool, arguments, progress_callback=progress)
    if result.is_error or result.structured_content is None:
        raise CommandError(f"the orchestrator's {tool} failed: {result_text(result)}")
    return result.structured_content


def _check_config(config_path: str | None) -> None:
    try:
        load_config(config_path)
    except ConfigError as exc:
        raise CommandError(f"the hierarchy file has problems:\n{exc}") from None


def run_ask(
    request: str, *, config_path: str | None, model: str | None, demo: bool = False
) -> DelegationResult:
    """Delegate ``request`` through a real orchestrator subprocess."""
    _check_config(config_path)
    prepare_local(config_path, model)
    if demo:
        from echelon.examples import ensure_demo_data

        data = ensure_demo_data()
        print(f"echelon: demo data in {data.database.parent}", file=sys.stderr)
    data = anyio.run(_call, config_path, model, "delegate", {"request": request})
    return DelegationResult.model_validate(data)


def run_plan(request: str, *, config_path: str | None, model: str | None) -> dict[str, Any]:
    _check_config(config_path)
    prepare_local(config_path, model)
    return anyio.run(_call, config_path, model, "plan", {"request": request})


def render_result(result: DelegationResult) -> str:
    """The answer, the files, and what it cost, for a terminal."""
    lines = [result.output.strip() or "(no answer)", ""]
    if result.artifacts:
        lines.append("Files:")
        lines.extend(f"  {a.path}" for a in result.artifacts)
    for phase in result.phases:
        mark = "ok" if phase.status == "ok" else phase.status
        lines.append(
            f"  phase {phase.phase!r} -> {phase.manager}: {mark}"
            + (f" (missing: {phase.missing})" if phase.missing else "")
        )
    u = result.usage
    lines.append(
        f"status {result.status}; {u.llm_calls} model calls ({u.input_tokens} in / {u.output_tokens} out tokens), "
        f"{u.tool_calls} tool calls, {u.wall_seconds:.1f}s; models: {', '.join(u.models) or '-'}"
    )
    for error in result.errors:
        lines.append(f"  error in {error.where}: {error.message}")
    return "\n".join(lines)


def render_plan(preview: dict[str, Any]) -> str:
    lines = [f"Plan for: {preview['request']}", f"  rationale: {preview['rationale']}"]
    for item in preview["phases"]:
        phase = item["phase"]
        deps = f" after {', '.join(phase['depends_on'])}" if phase["depends_on"] else ""
        lines.append(f"- {phase['name']} -> {phase['worker']}{deps}: {phase['goals']}")
        if item.get("error"):
            lines.append(f"    (could not plan steps: {item['error']})")
        for step in item.get("steps", []):
            call = f" [{step['tool']}]" if step.get("tool") else ""
            lines.append(f"    * {step['name']} ({step['worker']}){call}: {step['goals']}")
    return "\n".join(lines)


def serve(args: argparse.Namespace, config_path: str | None) -> int:
    """Serve the orchestrator, a manager or a worker of the hierarchy in this process."""
    transport = ["--transport", args.transport, "--host", args.host, "--port", str(args.port)]
    conf = ["--config", config_path] if config_path else []
    if args.level == "orchestrator":
        from echelon.servers.orchestrator.server import main as orchestrator_main

        prepare_local(config_path, None)
        orchestrator_main([*conf, *transport])
        return 0
    if not args.name:
        raise CommandError(f"serve {args.level} needs a NAME")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    if args.level == "manager":
        from echelon.servers.managers.server import main as manager_main

        manager_main(["--name", args.name, *conf, *transport])
        return 0
    worker = config.workers.get(args.name)
    if worker is None:
        raise CommandError(f"no worker {args.name!r} (workers: {', '.join(config.workers)})")
    if worker.url:
        raise CommandError(f"worker {args.name!r} is remote ({worker.url}); it is served elsewhere")
    assert worker.command is not None
    extra = transport if args.transport != "stdio" else []
    env = os.environ | worker.env
    if worker.cwd:
        os.chdir(worker.cwd)
    os.execvpe(worker.command, [worker.command, *worker.args, *extra], env)


def install(args: argparse.Namespace, config_path: str | None) -> int:
    from .install import install as do_install
    from .install import orchestrator_entry

    entry = orchestrator_entry(config=Path(config_path).resolve() if config_path else None, model=args.model)
    try:
        result = do_install(args.host, name=args.name, entry=entry, dry_run=args.dry_run)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    if args.dry_run:
        print(result.text, end="")
        return 0
    if not result.changed:
        print(f"echelon: {result.path} already has this {args.name!r} entry; nothing changed")
        return 0
    print(f"echelon: {'replaced' if result.replaced else 'added'} {args.name!r} in {result.path}")
    if result.backup:
        print(f"echelon: the previous file is kept at {result.backup}")
    print("echelon: restart the host to load it.")
    return 0


def config_check(file: str | None) -> int:
    path = resolve_config_path(file)
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    for name in unused_workers(config):
        print(f"warning: {path}: workers.{name}: no manager uses this worker", file=sys.stderr)
    print(f"{path}: ok ({len(config.managers)} managers, {len(config.workers)} workers)")
    return 0


def config_import(file: Path) -> int:
    from ._import_desktop import read_workers, to_toml_workers

    try:
        imported = read_workers(file)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    for name, reason in imported.skipped.items():
        print(f"# skipped {name}: {reason}", file=sys.stderr)
    print(to_toml_workers(imported.workers))
    return 0


def model_fetch(variant: str) -> int:
    from echelon.servers.core.llm._model_files import ensure_model

    path = ensure_model(variant)
    print(path)
    return 0
