"""Small real MCP servers for tests of the core, managers and orchestrator (the real workers have their own tests).

Run one over stdio with ``python -m tests._toy_servers calc``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

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


def build_calc_server() -> MCPServer[Any]:
    server = MCPServer(name="calc", instructions="Numbers are floats; divide refuses a zero divisor.")

    @server.tool()
    def add(a: float, b: float) -> Sum:
        """Add two numbers."""
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


if __name__ == "__main__":
    build_calc_server().run() if sys.argv[1] == "calc" else build_deck_server(sys.argv[2]).run()
