"""The peer to compare with: a FastMCP 4.x proxy over several MCP servers, served over stdio.

    python -m benchmarks._fastmcp_peer CONFIG.json [--each]

``CONFIG.json`` is an ``{"mcpServers": {name: {"command", "args", "env", "cwd"}}}`` config. As given, it is one
``create_proxy(config)``: FastMCP's documented way to aggregate servers, which builds a composite of every
server for each request it serves (each request starts every backend). With ``--each``, every server gets a
proxy of its own (a one-server config, whose stdio process FastMCP keeps alive between requests), mounted under
its name: the fast way to run it. Tools are ``<name>_<tool>`` both ways. Needs the ``bench`` dependency group
(``uv sync --group bench``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    from fastmcp import FastMCP  # pyright: ignore[reportMissingImports]
    from fastmcp.server import create_proxy  # pyright: ignore[reportMissingImports]

    servers: dict[str, Any] = json.loads(Path(argv[0]).read_text())["mcpServers"]
    if "--each" not in argv[1:]:
        proxy: Any = create_proxy({"mcpServers": servers}, name="fastmcp-peer")
    else:
        proxy = FastMCP("fastmcp-peer")
        for name, entry in servers.items():
            proxy.mount(create_proxy({"mcpServers": {name: entry}}, name=name), namespace=name)
    proxy.run(transport="stdio", show_banner=False)


if __name__ == "__main__":
    main(sys.argv[1:])
