"""What the ``echelon`` subcommands do. ``ask``/``plan`` talk to a real orchestrator subprocess over stdio."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

import anyio
from mcp import Client, StdioServerParameters
from pydantic import ValidationError

from echelon.servers.core._stdio import ChildRecord, stdio_transport
from echelon.servers.core.budget import LimitName, Limits
from echelon.servers.core.config import (
    ConfigError,
    load_config,
    prepare_function,
    resolve_config_path,
    unused_workers,
)
from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.pool import OWN_ENV_PREFIXES, child_env

from ._follow import CommandError, Kept, TerminalProgress, answer_of, follow

__all__ = ["CommandError", "Kept"]

LIMIT_NAMES: tuple[str, ...] = get_args(LimitName)

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def find_config(given: str | Path | None, *, demo: bool = False) -> Path:
    """The config a command uses: ``given`` (--config), else ``$ECHELON_CONFIG``, else ``./echelon.toml`` or the
    nearest parent's, else the demo hierarchy that ships with echelon. ``demo`` skips straight to the demo
    unless a config was given."""
    from echelon.examples import demo_config_path

    if demo and not given:
        return demo_config_path()
    try:
        return resolve_config_path(given, fallback=demo_config_path())
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def orchestrator_params(config_path: str | Path | None, model: str | None) -> StdioServerParameters:
    """The stdio command that runs the orchestrator, exactly as a desktop host would run it."""
    args = ["-m", "echelon.servers.orchestrator"]
    if config_path:
        args += ["--config", str(Path(config_path).resolve())]
    env = child_env(OWN_ENV_PREFIXES)
    if model:
        # One model for every level: managers read it from the environment they inherit.
        env["ECHELON_MODEL"] = model
    return StdioServerParameters(command=sys.executable, args=args, env=env)


async def call_orchestrator(
    config_path: Path, model: str | None, tool: str, arguments: dict[str, Any]
) -> Any:
    """Call ``tool`` on a new orchestrator subprocess; a delegation (or a resumed run) is followed to its end."""
    progress = TerminalProgress()
    print(f"echelon: starting the orchestrator ({tool}) on {config_path}...", file=sys.stderr, flush=True)
    child = ChildRecord()
    transport = stdio_transport(orchestrator_params(config_path, model), child)
    try:
        async with Client(transport, read_timeout_seconds=3600) as client:
            answer = answer_of(await client.call_tool(tool, arguments, progress_callback=progress), tool)
            if tool in ("delegate", "resume_run", "run_workflow"):
                return (await follow(client, answer, progress)).model_dump(mode="json")
            return answer
    except (CommandError, Kept):
        raise
    except Exception:  # the session's own error (connection closed) says less than how the process ended
        ended = child.describe_exit()
        if ended is None:
            raise
        # Its stderr, the whole cause, was passed on to ours just above.
        raise CommandError(f"the orchestrator {ended} before answering (its error is above)") from None


def prepare_local(config_path: str | Path | None, model: str | None) -> None:
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


def _check_config(config_path: Path) -> None:
    try:
        load_config(config_path)
    except ConfigError as exc:
        raise CommandError(f"the hierarchy file has problems:\n{exc}") from None


def request_limits(overrides: Sequence[tuple[str, float]]) -> dict[str, float | int]:
    """``ask --limit`` pairs as ``delegate``'s ``limits`` argument, checked against what each limit accepts (a
    whole number of calls or tokens, a positive deadline) so a bad value is named before anything starts."""
    given = dict(overrides)
    try:
        checked = Limits().merged(given)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(f"--limit: {problems}") from None
    return {name: getattr(checked, name) for name in given}


def run_ask(
    request: str,
    *,
    config_path: Path,
    model: str | None,
    demo: bool = False,
    limits: Mapping[str, float | int] | None = None,
) -> DelegationResult:
    """Delegate ``request`` through a real orchestrator subprocess, with ``limits`` overriding the configured
    ones for this request."""
    _check_config(config_path)
    prepare_local(config_path, model)
    if demo:
        from echelon.examples import ensure_demo_data

        data = ensure_demo_data()
        print(f"echelon: demo data in {data.database.parent}", file=sys.stderr)
    # The run id comes back at once; the run is then followed (Ctrl-C can cancel or keep it).
    data = anyio.run(
        call_orchestrator,
        config_path,
        model,
        "delegate",
        {"request": request, "wait_seconds": 1} | ({"limits": dict(limits)} if limits else {}),
    )
    return DelegationResult.model_validate(data)


def run_resume(run_id: str, *, config_path: Path) -> DelegationResult:
    """Continue a run through a new orchestrator and follow it to its end."""
    _check_config(config_path)
    data = anyio.run(call_orchestrator, config_path, None, "resume_run", {"run_id": run_id})
    return DelegationResult.model_validate(data)


def run_plan(request: str, *, config_path: Path, model: str | None) -> dict[str, Any]:
    _check_config(config_path)
    prepare_local(config_path, model)
    return anyio.run(call_orchestrator, config_path, model, "plan", {"request": request})


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
        f"{u.tool_calls} tool calls, {u.wall_seconds:.1f}s, {u.cost_text()}; models: {', '.join(u.models) or '-'}"
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


def serve(args: argparse.Namespace, config_path: Path) -> int:
    """Serve the orchestrator, a manager or a worker of the hierarchy in this process."""
    transport = ["--transport", args.transport, "--host", args.host, "--port", str(args.port)]
    transport += _http_auth_flags(args)
    conf = ["--config", str(config_path)]
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


def _http_auth_flags(args: argparse.Namespace) -> list[str]:
    """``echelon serve``'s HTTP flags (auth, stateless), passed on unchanged to the server it runs."""
    flags = ["--auth-token-file", args.auth_token_file] if args.auth_token_file else []
    flags += [f for host in args.allowed_host for f in ("--allowed-host", host)]
    flags += [f for origin in args.allowed_origin for f in ("--allowed-origin", origin)]
    flags += ["--allow-unauthenticated"] if args.allow_unauthenticated else []
    return flags + (["--stateless"] if args.stateless else [])


def token_new(name: str | None, file: Path | None) -> int:
    """Mint a token. The plain token goes to stdout once; servers keep only its hashed line."""
    from echelon.servers.core._auth import AuthConfigError, hash_line, mint_token

    token = mint_token()
    try:
        line = hash_line(token, name)
    except AuthConfigError as exc:
        raise CommandError(str(exc)) from None
    if file is None:
        print(f"token (give it to the client; it is not stored anywhere): {token}")
        print(f"line for the server's token file (--auth-token-file): {line}")
        return 0
    try:
        fd = os.open(file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CommandError(f"cannot write the token file {file}: {exc.strerror}") from None
    with os.fdopen(fd, "a+", encoding="utf-8") as out:
        out.seek(0)
        ends_open = (text := out.read()) and not text.endswith("\n")
        out.write(("\n" if ends_open else "") + line + "\n")
    print(token)
    print(f"echelon: appended the token's hash to {file}; the token above is shown only now", file=sys.stderr)
    return 0


def install(args: argparse.Namespace, config_path: Path) -> int:
    from .install import install as do_install
    from .install import orchestrator_entry

    env = _install_env(args.env, args.env_file)
    entry = orchestrator_entry(config=config_path.resolve(), model=args.model, env=env)
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
    print(f"echelon: it runs the orchestrator on {config_path}")
    if env:
        # Names only: the values are secrets, and the host's file now holds them.
        print(f"echelon: with {', '.join(sorted(env))} set (stored in that file, readable by you only)")
    if result.backup:
        print(f"echelon: the previous file is kept at {result.backup}")
    print("echelon: restart the host to load it.")
    return 0


def _install_env(pairs: list[str], env_file: str | None) -> dict[str, str]:
    """The variables given with --env-file and --env (which wins), checked so a typo fails here, not in the host."""
    env: dict[str, str] = {}
    if env_file:
        from dotenv import dotenv_values

        path = Path(env_file).expanduser()
        if not path.is_file():
            raise CommandError(f"--env-file {env_file}: no such file")
        for key, value in dotenv_values(path).items():
            if value is None:
                raise CommandError(f"--env-file {env_file}: {key!r} has no value; write {key}=VALUE")
            env[key] = value
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--env {pair!r}: write KEY=VALUE (e.g. --env ANTHROPIC_API_KEY=sk-...)")
        env[key.strip()] = value
    for key in env:
        if not _ENV_NAME.fullmatch(key):
            raise CommandError(
                f"{key!r} is not a variable name: use letters, digits and '_', not first a digit"
            )
    return env


def uninstall(args: argparse.Namespace) -> int:
    from .install import uninstall as do_uninstall

    try:
        result = do_uninstall(args.host, args.name, dry_run=args.dry_run)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    if args.dry_run:
        print(result.text, end="")
        return 0
    if not result.removed:
        print(f"echelon: {result.path} has no {args.name!r} entry; nothing changed")
        return 0
    print(f"echelon: removed {args.name!r} from {result.path}")
    if result.backup:
        print(f"echelon: the previous file is kept at {result.backup}")
    print("echelon: restart the host to unload it.")
    return 0


def config_check(path: Path) -> int:
    try:
        config = load_config(path)
        prepare_function(config)
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
