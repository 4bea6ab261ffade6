"""The ``echelon`` command: ask, plan, serve, install, config check/import, model fetch, demo.

``ask`` and ``plan`` start the orchestrator as a stdio subprocess, the same path a desktop host takes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from echelon import __version__

from . import _commands

DEMO_REQUEST = "Which region grew fastest last year? Make a 3-slide deck of the findings."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="echelon", description="A hierarchy of AI agents over MCP.")
    parser.add_argument("--version", action="version", version=f"echelon {__version__}")
    parser.add_argument("--config", default=None, help="echelon.toml (default: $ECHELON_CONFIG or the demo)")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="Delegate a request through the hierarchy and print the answer")
    ask.add_argument("request")
    ask.add_argument(
        "--model", default=None, help="Model for every level (e.g. local, local:0.5b, anthropic:...)"
    )
    ask.add_argument("--json", action="store_true", help="Print the whole DelegationResult as JSON")
    ask.add_argument("--trace", metavar="FILE", help="Append every model call of every level to FILE (JSONL)")

    plan = sub.add_parser("plan", help="Show the phases and steps a request would take; nothing runs")
    plan.add_argument("request")
    plan.add_argument("--model", default=None)
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

    serve = sub.add_parser("serve", help="Serve one level: orchestrator | manager NAME | worker NAME")
    serve.add_argument("level", choices=["orchestrator", "manager", "worker"])
    serve.add_argument("name", nargs="?")
    serve.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    install = sub.add_parser("install", help="Add the orchestrator to a desktop/IDE host's MCP config")
    install.add_argument("host", choices=["claude-desktop", "vscode", "cursor"])
    install.add_argument("--print", dest="dry_run", action="store_true", help="Print the merged config only")
    install.add_argument("--name", default="echelon")
    install.add_argument("--model", default=None)

    config = sub.add_parser("config", help="Check a hierarchy file or import workers from a desktop config")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="Report every problem in a hierarchy file")
    check.add_argument("file", nargs="?")
    imp = config_sub.add_parser(
        "import", help="Print [workers.*] tables from a Claude Desktop/Cursor/VS Code config"
    )
    imp.add_argument("file")

    model = sub.add_parser("model", help="The embedded local model")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    fetch = model_sub.add_parser("fetch", help="Download and verify the local model now")
    fetch.add_argument("variant", nargs="?", default="1.5b")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``echelon`` console script."""
    args = _parser().parse_args(argv)
    config_path = args.config or os.environ.get("ECHELON_CONFIG")
    try:
        code = _dispatch(args, config_path)
    except KeyboardInterrupt:
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
        result = _commands.run_ask(args.request, config_path=config_path, model=model, demo=demo)
        if getattr(args, "json", False):
            print(result.model_dump_json(indent=2))
        else:
            print(_commands.render_result(result))
        return 0 if result.status in ("ok", "partial") else 1
    if args.command == "plan":
        preview = _commands.run_plan(args.request, config_path=config_path, model=args.model)
        print(json.dumps(preview, indent=2) if args.json else _commands.render_plan(preview))
        return 0
    if args.command == "serve":
        return _commands.serve(args, config_path)
    if args.command == "install":
        return _commands.install(args, config_path)
    if args.command == "config":
        if args.config_command == "check":
            return _commands.config_check(args.file or config_path)
        return _commands.config_import(Path(args.file))
    if args.command == "model":
        return _commands.model_fetch(args.variant)
    raise AssertionError(args.command)


if __name__ == "__main__":
    main()
