"""Small real MCP servers for tests of the core, managers and orchestrator (the real workers have their own tests).

Run one over stdio with ``python -m tests._toy_servers calc [--broken]``; ``calc`` takes the shared server flags
(``--transport streamable-http --port N --auth-token-file ...``) like every server of ours. Tools that touch files
take the path from the test, so the test can see what the server did (it runs in another process).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel


class Sum(BaseModel):
    value: float


class Pid(BaseModel):
    pid: int


class Env(BaseModel):
    values: dict[str, str]


class Deck(BaseModel):
    artifact: dict[str, Any]
    slides: int


def _count(path: str) -> int:
    """Add one to the counter in the file ``path`` and return it."""
    file = Path(path)
    count = int(file.read_text() or 0) + 1 if file.exists() else 1
    file.write_text(str(count))
    return count


def build_calc_server(*, broken: bool = False) -> MCPServer[Any]:
    """The calculator; ``broken``: its ``add`` kills the server process (a worker that keeps failing)."""
    server = MCPServer(name="calc", instructions="Numbers are floats; divide refuses a zero divisor.")

    @server.tool(annotations=ToolAnnotations(idempotent_hint=True))
    def add(a: float, b: float) -> Sum:
        """Add two numbers."""
        if broken:
            os._exit(3)
        return Sum(value=a + b)

    @server.tool()
    def divide(a: float, b: float) -> Sum:
        """Divide a by b."""
        if b == 0:
            raise ToolError("b is zero: division by zero is undefined; pass a non-zero b")
        return Sum(value=a / b)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def evaluate(expression: str) -> Sum:
        """Evaluate 'a op b' with op one of + - * /."""
        a, op, b = expression.split()
        x, y = float(a), float(b)
        return Sum(value={"+": x + y, "-": x - y, "*": x * y, "/": x / y}[op])

    @server.tool()
    def pid() -> Pid:
        """The server's process id."""
        return Pid(pid=os.getpid())

    @server.tool()
    def env(names: list[str]) -> Env:
        """The values of the named environment variables that are set in the server's process."""
        return Env(values={n: os.environ[n] for n in names if n in os.environ})

    @server.tool()
    def crash() -> Pid:
        """Exit the server process at once (to test restarts)."""
        os._exit(3)

    @server.tool()
    def crash_counted(counter: str) -> Pid:
        """Count the call in the file ``counter``, then exit the server process (a call that may have effects)."""
        _count(counter)
        os._exit(3)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def flaky_read(counter: str) -> Sum:
        """Count the call in the file ``counter``; the first call kills the server, later ones answer."""
        if _count(counter) == 1:
            os._exit(3)
        return Sum(value=1.0)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def wait(seconds: float, marker: str = "") -> Sum:
        """Wait ``seconds``; if cancelled first, write 'cancelled' to the file ``marker``."""
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            if marker:
                Path(marker).write_text("cancelled")  # noqa: ASYNC240 - a few bytes, once
            raise
        return Sum(value=seconds)

    @server.tool()
    def count(counter: str) -> Sum:
        """Count the call in the file ``counter`` and return the count (a call with an effect to see)."""
        return Sum(value=float(_count(counter)))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def wait_once(marker: str, seconds: float) -> Sum:
        """The first call (no file ``marker`` yet) writes its pid there and waits ``seconds``; later calls return at
        once."""
        if not await anyio.Path(marker).exists():
            await anyio.Path(marker).write_text(str(os.getpid()))
            await anyio.sleep(seconds)
        return Sum(value=0.0)

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def block(seconds: float, marker: str = "") -> Pid:
        """Block a worker thread for ``seconds`` (it cannot be cancelled); write the pid to ``marker`` first."""
        if marker:
            Path(marker).write_text(str(os.getpid()))
        time.sleep(seconds)
        return Pid(pid=os.getpid())

    return server


def failing_command(code: int, *lines: str) -> tuple[str, list[str]]:
    """A command (executable, args) that writes ``lines`` to stderr and exits with ``code`` before speaking MCP."""
    script = "import sys\n" + "".join(f"print({line!r}, file=sys.stderr)\n" for line in lines)
    return sys.executable, ["-c", script + f"sys.exit({code})"]


def build_deck_server(output: str) -> MCPServer[Any]:
    server = MCPServer(name="deck")

    @server.tool()
    def make_deck(title: str, bullets: list[str]) -> Deck:
        """Write a small text 'deck' file and return it as an artifact."""
        path = os.path.join(output, f"{title.replace(' ', '_')}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(title + "\n" + "\n".join(bullets))
        return Deck(artifact={"name": title, "path": path, "mime_type": "text/plain"}, slides=len(bullets))

    return server


def _calc_args(parser: Any) -> None:
    parser.add_argument("--broken", action="store_true", help="add kills the server")
    parser.add_argument("--api-token", help="ignored: a secret on the command line, for redaction tests")


if __name__ == "__main__":
    if sys.argv[1] == "calc":
        from echelon.servers.core.serve import serve_main

        serve_main(
            "A toy calculator.",
            lambda args: build_calc_server(broken=args.broken),
            _calc_args,
            argv=sys.argv[2:],
        )
    else:
        build_deck_server(sys.argv[2]).run()
