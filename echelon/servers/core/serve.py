"""The one ``main()`` every server module shares: parse ``--transport`` and run the server.

Servers build themselves in ``build_server(...)`` with no I/O; this module is where a process starts serving.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Literal

from mcp.server.mcpserver import MCPServer

from . import _lifeline

Transport = Literal["stdio", "streamable-http"]


def add_transport_args(parser: argparse.ArgumentParser) -> None:
    """The transport flags every server accepts."""
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="Streamable HTTP bind address")
    parser.add_argument("--port", type=int, default=8000, help="Streamable HTTP port")
    parser.add_argument("--log-level", default="WARNING", help="stderr log level (DEBUG, INFO, WARNING)")


def configure_logging(level: str) -> None:
    """Log to stderr only: stdout belongs to the stdio transport."""
    logging.basicConfig(
        stream=sys.stderr, level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )


def run_server(server: MCPServer, args: argparse.Namespace) -> None:
    """Serve over the transport the flags asked for; the server's children never outlive it (``_lifeline``)."""
    _lifeline.install()
    if args.transport == "stdio":
        server.run()
    else:
        server.run("streamable-http", host=args.host, port=args.port)


def serve_main(
    description: str,
    build: Callable[[argparse.Namespace], MCPServer],
    add_args: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse server flags, build the server and run it. ``build`` may raise SystemExit with a message."""
    parser = argparse.ArgumentParser(description=description)
    if add_args is not None:
        add_args(parser)
    add_transport_args(parser)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        server = build(args)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    run_server(server, args)
