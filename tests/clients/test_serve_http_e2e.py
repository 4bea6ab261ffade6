"""``echelon serve`` over HTTP with a token, reached by a manager entry with ``url`` and ``headers``; ``echelon
token new``."""

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from echelon.clients.cli import main
from echelon.servers.core._auth import StaticTokenVerifier, read_token_file
from echelon.servers.core.config import parse_config
from echelon.servers.core.pool import ConnectionFailed, ConnectionPool
from tests._servers import REPO, http_server

pytestmark = pytest.mark.anyio


def mint(capsys: Any, file: Path, name: str) -> str:
    """Run ``echelon token new --file FILE --name NAME`` in this process; return the token it printed."""
    with pytest.raises(SystemExit) as done:
        main(["token", "new", "--name", name, "--file", str(file)])
    assert done.value.code == 0
    return capsys.readouterr().out.strip()


async def test_echelon_token_new_appends_a_hash_that_accepts_the_printed_token(
    tmp_path: Path, capsys: Any
) -> None:
    file = tmp_path / "tokens"
    first, second = mint(capsys, file, "alice"), mint(capsys, file, "ci")
    lines = file.read_text().splitlines()
    assert [line.split()[1] for line in lines] == ["alice", "ci"]
    assert first not in file.read_text()
    assert file.stat().st_mode & 0o777 == 0o600
    verifier = StaticTokenVerifier(read_token_file(file))
    assert [(await verifier.verify_token(t)) is not None for t in (first, second, "x" * 43)] == [
        True,
        True,
        False,
    ]


def write_manager_config(tmp: Path) -> Path:
    config = tmp / "echelon.toml"
    config.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = ["-m", "tests._toy_servers", "calc"]
cwd = {json.dumps(str(REPO))}
"""
    )
    return config


def orchestrator_view(url: str) -> dict[str, Any]:
    """How an orchestrator's echelon.toml declares a manager served elsewhere, its token from the environment."""
    return {
        "managers": {
            "numbers": {
                "description": "Arithmetic",
                "workers": ["calc"],
                "url": url,
                "headers": {"Authorization": "Bearer ${NUMBERS_TOKEN}"},
            }
        },
        "workers": {"calc": {"command": "calc-server"}},
    }


@pytest.mark.e2e
async def test_a_manager_declared_with_url_and_headers_reaches_a_manager_served_with_a_token(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tmp_path / "tokens"
    token = mint(capsys, tokens, "orchestrator")
    config = write_manager_config(tmp_path)
    serve = ["-m", "echelon.clients.cli", "--config", str(config), "serve", "manager", "numbers"]
    env = {"ECHELON_MODEL": "python:tests._e2e_model:build"}
    async with http_server([*serve, "--auth-token-file", str(tokens)], env=env, startup_timeout=60) as url:
        monkeypatch.setenv("NUMBERS_TOKEN", token)
        target = parse_config(orchestrator_view(url)).manager_target("numbers")
        assert target.headers == {"Authorization": f"Bearer {token}"}
        assert token not in repr(target)
        async with ConnectionPool({"numbers": target}) as pool:
            with anyio.fail_after(60):
                catalog = await pool.call_tool("numbers", "list_workers")
        assert not catalog.is_error
        assert catalog.structured_content is not None
        assert catalog.structured_content["manager"] == "numbers"
        assert [w["name"] for w in catalog.structured_content["workers"]] == ["calc"]

        wrong = "w" * 43
        monkeypatch.setenv("NUMBERS_TOKEN", wrong)
        refused = parse_config(orchestrator_view(url)).manager_target("numbers")
        async with ConnectionPool({"numbers": refused}, connect_timeout=30) as pool:
            with anyio.fail_after(60), pytest.raises(ConnectionFailed) as caught:
                await pool.session("numbers")
    assert "401 Unauthorized: the bearer token was not accepted" in str(caught.value)
    assert wrong not in str(caught.value)
