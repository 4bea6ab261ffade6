"""The ``echelon`` command: ask, plan, demo, serve, token new, install/uninstall, config check/import, model
fetch, doctor, and runs/trace/ui to see runs.

``ask`` and ``plan`` start the orchestrator as a stdio subprocess, the same path a desktop host takes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from echelon import __version__
from echelon.servers.core.serve import add_http_auth_args

from . import _commands
from ._commands import LIMIT_NAMES
from ._follow import kept_message
from .install import HOSTS

DEMO_REQUEST = "Which region grew fastest last year? Make a 3-slide deck of the findings."


CONFIG_HELP = "echelon.toml (default: $ECHELON_CONFIG, else ./echelon.toml or a parent's, else the demo)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="echelon", description="A hierarchy of AI agents over MCP.")
    parser.add_argument("--version", action="version", version=f"echelon {__version__}")
    parser.add_argument("--config", default=None, help=CONFIG_HELP)
    # Also accepted after the subcommand (`echelon ask --config x.toml ...`); SUPPRESS keeps the one given first
    # when the subcommand's is absent.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=CONFIG_HELP)
    sub = _Subparsers(parser.add_subparsers(dest="command", required=True), common)

    ask = sub.add_parser("ask", help="Delegate a request through the hierarchy and print the answer")
    ask.add_argument("request")
    ask.add_argument(
        "--model", default=None, help="Model for every level (e.g. local, local:0.5b, anthropic:...)"
    )
    ask.add_argument("--json", action="store_true", help="Print the whole DelegationResult as JSON")
    ask.add_argument("--trace", metavar="FILE", help="Append every model call of every level to FILE (JSONL)")
    ask.add_argument(
        "--limit",
        dest="limits",
        action="append",
        type=_limit_override,
        metavar="NAME=VALUE",
        help=f"Override one of the [limits] for this request (repeatable): {', '.join(LIMIT_NAMES)}; "
        "e.g. --limit deadline_seconds=300",
    )

    plan = sub.add_parser("plan", help="Show the phases and steps a request would take; nothing runs")
    plan.add_argument("request")
    plan.add_argument("--model", default=None)
    plan.add_argument("--save", metavar="FILE", help="Write the plan as a workflow file to review and run")
    plan.add_argument("--json", action="store_true")

    demo = sub.add_parser("demo", help="Run the demo delegation on the demo hierarchy (offline by default)")
    demo.add_argument(
        "--model", default=None, help="Default: local (the embedded model); 'auto' uses an API key if set"
    )
    demo.add_argument("--request", default=DEMO_REQUEST)
    demo.add_argument("--json", action="store_true", help="Print the whole DelegationResult as JSON")
    demo.add_argument(
        "--trace", metavar="FILE", help="Append every model call of every level to FILE (JSONL)"
    )

    resume = sub.add_parser(
        "resume", help="Continue a cancelled, broken or failed run and follow it to its end"
    )
    resume.add_argument("run_id")
    resume.add_argument("--json", action="store_true", help="Print the whole DelegationResult as JSON")

    serve = sub.add_parser("serve", help="Serve one level: orchestrator | manager NAME | worker NAME")
    serve.add_argument("level", choices=["orchestrator", "manager", "worker"])
    serve.add_argument("name", nargs="?")
    serve.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    add_http_auth_args(serve)

    token = sub.add_parser("token", help="Bearer tokens for servers on Streamable HTTP")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    new = token_sub.add_parser(
        "new", help="Mint a token; print it once, and the hashed line a server's --auth-token-file needs"
    )
    new.add_argument("--name", default=None, help="A name for the token in the file and in server logs")
    new.add_argument("--file", default=None, help="Append the hashed line to this token file (created 0600)")

    install = sub.add_parser("install", help="Add the orchestrator to a desktop/IDE host's MCP config")
    install.add_argument("host", choices=HOSTS)
    install.add_argument("--print", dest="dry_run", action="store_true", help="Print the merged config only")
    install.add_argument("--name", default="echelon")
    install.add_argument("--model", default=None)
    install.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A variable for the host-started orchestrator, e.g. ANTHROPIC_API_KEY=... (repeatable)",
    )
    install.add_argument("--env-file", metavar="FILE", help="Variables from a .env file (KEY=VALUE lines)")

    uninstall = sub.add_parser(
        "uninstall", help="Remove the orchestrator from a desktop/IDE host's MCP config"
    )
    uninstall.add_argument("host", choices=HOSTS)
    uninstall.add_argument("--name", default="echelon")
    uninstall.add_argument("--print", dest="dry_run", action="store_true", help="Print the result only")

    doctor = sub.add_parser(
        "doctor", help="Check this installation and the active config; print a fix per problem"
    )
    doctor.add_argument(
        "--skip-network", action="store_true", help="Do not check that the package index is reachable"
    )
    doctor.add_argument(
        "--index-url", default=None, help="The package index to check (default: $PIP_INDEX_URL or PyPI)"
    )

    config = sub.add_parser("config", help="Check a hierarchy file or import workers from a desktop config")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="Report every problem in a hierarchy file")
    check.add_argument("file", nargs="?")
    imp = config_sub.add_parser(
        "import", help="Print [workers.*] tables from a Claude Desktop/Cursor/VS Code config"
    )
    imp.add_argument("file")

    runs = sub.add_parser(
        "runs", help="List the runs in the run database, newest first (runs save: a replay)"
    )
    runs.add_argument("--limit", type=_limit, default=20, help="How many runs (1-200, default 20)")
    runs.add_argument("--status", choices=RUN_STATUSES, default=None, help="Only runs in this state")
    runs.add_argument("--json", action="store_true", help="Print the runs' summaries as JSON")
    runs_sub = runs.add_subparsers(dest="runs_command")
    save = runs_sub.add_parser("save", help="Write a finished run as a workflow with every call pinned")
    save.add_argument("run", help="A run id (`echelon runs` lists them)")
    save.add_argument("file", help="The workflow file to write (.toml or .json)")

    workflow = sub.add_parser("workflow", help="Workflow files: print their JSON Schema, or check one")
    workflow_sub = workflow.add_subparsers(dest="workflow_command", required=True)
    workflow_sub.add_parser("schema", help="Print the JSON Schema of a workflow file (for editors)")
    wf_check = workflow_sub.add_parser("check", help="Check a workflow against the hierarchy's live tools")
    wf_check.add_argument("file")
    wf_check.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")

    run = sub.add_parser("run", help="Run a workflow file as a durable run and print the answer")
    run.add_argument("file")
    run.add_argument(
        "--input", action="append", default=[], metavar="NAME=VALUE", help="An input (repeatable)"
    )
    run.add_argument("--json", action="store_true", help="Print the whole DelegationResult as JSON")

    trace = sub.add_parser("trace", help="Show one run as a tree: phase › step › tool call")
    trace.add_argument("run", help="A run id (`echelon runs` lists them)")
    output = trace.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="Print the whole run record as JSON")
    output.add_argument(
        "--html", metavar="FILE", help="Write the run as one self-contained web page to share (created 0600)"
    )

    ui = sub.add_parser("ui", help="Serve a local web page that shows every run, live as it executes")
    ui.add_argument(
        "--host", default="127.0.0.1", help="Address to serve (default 127.0.0.1: this machine only)"
    )
    ui.add_argument("--port", type=int, default=8765, help="Port (default 8765; 0 picks a free one)")
    ui.add_argument(
        "--allow-remote",
        action="store_true",
        help="Allow a non-loopback --host (run records hold requests and data; the page has no login)",
    )

    model = sub.add_parser("model", help="The embedded local model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    fetch = model_sub.add_parser("fetch", help="Download and verify the local model now")
    fetch.add_argument("variant", nargs="?", default="1.5b")
    return parser


RUN_STATUSES = ["queued", "running", "ok", "partial", "failed", "cancelled"]


def _limit_override(text: str) -> tuple[str, float]:
    """``NAME=VALUE`` of ``ask --limit``: a name of the [limits] table and a number; the value's range is checked
    with the limits themselves (``_commands.request_limits``)."""
    name, sep, value = (part.strip() for part in text.partition("="))
    if not sep or name not in LIMIT_NAMES:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=VALUE, NAME one of {', '.join(LIMIT_NAMES)}")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {name} takes a number, e.g. {name}=300") from None


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 1 to 200")
    return int(text)


class _Subparsers:
    """Adds every subcommand with the options all of them take (``--config``)."""

    def __init__(self, action: Any, common: argparse.ArgumentParser) -> None:
        self.action, self.common = action, common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.action.add_parser(name, parents=[self.common], **kwargs)
        return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``echelon`` console script."""
    args = _parser().parse_args(argv)
    try:
        code = _dispatch(args, args.config)
    except KeyboardInterrupt:
        code = 130
    except _commands.Kept as kept:
        print(kept_message(kept.run_id), file=sys.stderr)
        code = 130
    except _commands.CommandError as exc:
        print(f"echelon: error: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


def _dispatch(args: argparse.Namespace, config_path: str | None) -> int:
    if args.command in ("ask", "demo"):
        demo = args.command == "demo"
        if args.trace:
            # The orchestrator and managers are child processes: they inherit the variable.
            os.environ["ECHELON_TRACE"] = str(Path(args.trace).resolve())
        # The demo is the offline path: the embedded local model unless a model is named.
        model = args.model or ("local" if demo else None)
        # `demo` is the demo hierarchy whatever the folder holds; only an explicit --config replaces it.
        path = _commands.find_config(config_path, demo=demo)
        limits = _commands.request_limits(getattr(args, "limits", None) or [])
        result = _commands.run_ask(args.request, config_path=path, model=model, demo=demo, limits=limits)
        if getattr(args, "json", False):
            print(result.model_dump_json(indent=2))
        else:
            print(_commands.render_result(result))
        return 0 if result.status in ("ok", "partial") else 1
    if args.command == "resume":
        result = _commands.run_resume(args.run_id, config_path=_commands.find_config(config_path))
        print(result.model_dump_json(indent=2) if args.json else _commands.render_result(result))
        return 0 if result.status in ("ok", "partial") else 1
    if args.command == "plan":
        preview = _commands.run_plan(
            args.request, config_path=_commands.find_config(config_path), model=args.model
        )
        print(json.dumps(preview, indent=2) if args.json else _commands.render_plan(preview))
        if args.save:
            from ._workflows import from_plan, write

            write(args.save, from_plan(preview))
        return 0
    if args.command == "workflow":
        from . import _workflows

        if args.workflow_command == "schema":
            return _workflows.schema()
        return _workflows.check(args.file, args.input, _commands.find_config(config_path))
    if args.command == "run":
        from ._workflows import run

        result = run(args.file, args.input, _commands.find_config(config_path))
        print(result.model_dump_json(indent=2) if args.json else _commands.render_result(result))
        return 0 if result.status in ("ok", "partial") else 1
    if args.command == "serve":
        return _commands.serve(args, _commands.find_config(config_path))
    if args.command == "install":
        return _commands.install(args, _commands.find_config(config_path))
    if args.command == "uninstall":
        return _commands.uninstall(args)
    if args.command == "doctor":
        from ._doctor import run_doctor

        return run_doctor(
            _commands.find_config(config_path), network=not args.skip_network, index_url=args.index_url
        )
    if args.command == "config":
        if args.config_command == "check":
            return _commands.config_check(_commands.find_config(args.file or config_path))
        return _commands.config_import(Path(args.file))
    if args.command == "token":
        return _commands.token_new(args.name, Path(args.file) if args.file else None)
    if args.command in ("runs", "trace", "ui"):
        from ._runs import command

        return command(args, _commands.find_config(config_path))
    if args.command == "model":
        return _commands.model_fetch(args.variant)
    raise AssertionError(args.command)


if __name__ == "__main__":
    main()
