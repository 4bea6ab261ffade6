"""Every server reports the package version in its server info, and ``echelon --version`` prints it."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from echelon import __version__
from echelon.clients.cli import main
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.managers.server import build_server as build_manager
from echelon.servers.orchestrator.server import build_server as build_orchestrator
from echelon.servers.workers.docs.server import build_server as build_docs
from echelon.servers.workers.math.server import build_server as build_math
from echelon.servers.workers.slides.server import build_server as build_slides
from echelon.servers.workers.sql.server import build_server as build_sql
from tests._servers import stdio_params
from tests.orchestrator._hierarchy import toy_config
from tests.workers._shop_db import make_database


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


SERVERS: dict[str, Callable[[Path], MCPServer[Any]]] = {
    "orchestrator": lambda _tmp: build_orchestrator(toy_config(), model=ScriptedModel([])),
    "manager": lambda _tmp: build_manager(toy_config(), "numbers", model=ScriptedModel([])),
    "sql": lambda tmp: build_sql(make_database(tmp / "shop.db")),
    "math": lambda _tmp: build_math(),
    "docs": lambda tmp: build_docs(_folder(tmp / "documents"), index_path=tmp / "index.db"),
    "slides": lambda tmp: build_slides(tmp / "decks"),
}


@pytest.mark.anyio
@pytest.mark.parametrize("level", SERVERS)
async def test_every_server_reports_the_package_version_in_its_server_info(
    level: str, tmp_path: Path
) -> None:
    with anyio.fail_after(30):
        async with Client(SERVERS[level](tmp_path)) as client:
            info = client.server_info
    assert info is not None and info.version == __version__


@pytest.mark.anyio
@pytest.mark.e2e
async def test_a_worker_over_stdio_reports_the_package_version() -> None:
    with anyio.fail_after(30):
        async with Client(stdio_params(["-m", "echelon.servers.workers.math"])) as client:
            info = client.server_info
    assert info is not None and (info.name, info.version) == ("echelon-math", __version__)


def test_echelon_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"echelon {__version__}\n"
