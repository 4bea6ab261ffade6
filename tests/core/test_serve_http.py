"""Who may call a server over Streamable HTTP: real server processes (``serve_main``), raw HTTP and a real Client."""

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psutil
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from echelon.servers.core._auth import hash_line, mint_token
from tests._servers import REPO, free_port, http_server

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CALC = ["-m", "tests._toy_servers", "calc"]
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


async def initialize(url: str, *, token: str | None = None, **headers: str) -> httpx2.Response:
    """One raw ``initialize`` POST, with a bearer token and extra headers when given."""
    sent = MCP_HEADERS | headers | ({"authorization": f"Bearer {token}"} if token else {})
    async with httpx2.AsyncClient() as http:
        return await http.post(url, json=INITIALIZE, headers=sent)


async def tool_names(url: str, token: str) -> list[str]:
    """tools/list through a real ``mcp.Client`` that sends the token on every request."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return sorted(t.name for t in (await client.list_tools()).tools)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


async def test_a_missing_token_gets_401_with_www_authenticate_pointing_at_the_metadata() -> None:
    token = mint_token()
    async with http_server(CALC, env={"ECHELON_AUTH_TOKEN": token}) as url:
        response = await initialize(url)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert (
        "requires a bearer token" in response.json()["error"]["message"]
    )  # a JSON-RPC error MCP clients show
    assert (
        f'resource_metadata="http://127.0.0.1:{port_of(url)}/.well-known/oauth-protected-resource/mcp"'
        in (challenge)
    )


async def test_a_wrong_token_gets_401_and_the_right_one_lists_tools_through_a_client() -> None:
    token = mint_token()
    async with http_server(CALC, env={"ECHELON_AUTH_TOKEN": token}) as url:
        wrong = await initialize(url, token=mint_token())
        right = await initialize(url, token=token)
        names = await tool_names(url, token)
    assert wrong.status_code == 401
    assert "www-authenticate" in wrong.headers
    assert wrong.json()["error"]["message"] == "401 Unauthorized: the bearer token was not accepted"
    assert right.status_code == 200
    assert {"add", "divide", "evaluate"} <= set(names)


async def test_a_hashed_token_file_lets_in_its_tokens_and_no_other(tmp_path: Path) -> None:
    alice, ci = mint_token(), mint_token()
    file = tmp_path / "tokens"
    file.write_text(f"# callers\n{hash_line(alice, 'alice')}\n{hash_line(ci, 'ci')}\n")
    async with http_server([*CALC, "--auth-token-file", str(file)]) as url:
        statuses = [(await initialize(url, token=t)).status_code for t in (alice, ci, mint_token())]
        names = await tool_names(url, ci)
    assert statuses == [200, 200, 401]
    assert "add" in names


async def test_protected_resource_metadata_is_served_without_a_token_and_names_no_authorization_server() -> (
    None
):
    async with http_server(CALC, env={"ECHELON_AUTH_TOKEN": mint_token()}) as url:
        base = url.removesuffix("/mcp")
        async with httpx2.AsyncClient() as http:
            documents = [
                await http.get(f"{base}/.well-known/oauth-protected-resource/mcp"),
                await http.get(f"{base}/.well-known/oauth-protected-resource"),
            ]
    for response in documents:
        assert response.status_code == 200
        assert response.json() == {
            "resource": url,
            "bearer_methods_supported": ["header"],
            "resource_name": "calc",
        }


async def test_a_non_loopback_bind_without_a_token_is_refused_with_how_to_configure_one() -> None:
    port = free_port()
    command = [
        sys.executable,
        *CALC,
        "--transport",
        "streamable-http",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
    ]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, cwd=REPO, check=False, stdin=subprocess.DEVNULL)
    message = done.stderr.decode()
    assert done.returncode == 2
    with pytest.raises(OSError):  # it never listened
        await anyio.connect_tcp("127.0.0.1", port)
    assert "refusing to serve 0.0.0.0 without authentication" in message
    assert "ECHELON_AUTH_TOKEN" in message
    assert "--auth-token-file" in message
    assert "echelon token new" in message
    assert "--allow-unauthenticated" in message


async def test_allow_unauthenticated_serves_a_non_loopback_bind_and_warns() -> None:
    output: list[str] = []
    async with http_server([*CALC, "--allow-unauthenticated"], host="0.0.0.0", output=output) as url:
        response = await initialize(url)
    assert response.status_code == 200
    assert "WARNING" in output[0]
    assert "WITHOUT authentication (--allow-unauthenticated)" in output[0]


async def test_a_foreign_host_on_a_non_loopback_bind_gets_421_and_an_allowed_one_passes() -> None:
    token = mint_token()
    args = [*CALC, "--allowed-host", "api.example.test", "--allowed-origin", "https://app.example.test"]
    async with http_server(args, host="0.0.0.0", env={"ECHELON_AUTH_TOKEN": token}) as url:
        port = port_of(url)
        foreign = await initialize(url, token=token, host=f"evil.example.test:{port}")
        allowed = await initialize(url, token=token, host=f"api.example.test:{port}")
        allowed_unauthenticated = await initialize(url, host=f"api.example.test:{port}")
        foreign_origin = await initialize(url, token=token, origin="https://evil.example.test")
        allowed_origin = await initialize(url, token=token, origin="https://app.example.test")
        foreign_unauthenticated = await initialize(url, host="evil.example.test")
    assert foreign.status_code == 421
    assert allowed.status_code == 200
    assert allowed_unauthenticated.status_code == 401
    assert foreign_origin.status_code == 403
    assert allowed_origin.status_code == 200
    assert foreign_unauthenticated.status_code == 421  # the Host check comes before everything, the 401 too


async def test_a_callers_token_never_appears_in_server_or_client_logs(caplog: Any) -> None:
    token, wrong = mint_token(), mint_token()
    output: list[str] = []
    caplog.set_level(logging.DEBUG)
    args = [*CALC, "--log-level", "DEBUG"]
    async with http_server(args, env={"ECHELON_AUTH_TOKEN": token}, output=output) as url:
        rejected = await initialize(url, token=wrong)
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            result = await client.call_tool("add", {"a": 20, "b": 22})
    assert rejected.status_code == 401
    assert token not in rejected.text
    assert wrong not in rejected.text
    assert result.structured_content == {"value": 42.0}
    log = output[0]
    assert '"POST /mcp HTTP/1.1" 401' in log  # the log did record both requests ...
    assert '"POST /mcp HTTP/1.1" 200' in log
    assert "1 accepted: ECHELON_AUTH_TOKEN" in log  # ... and names the token entry, not the token
    for secret in (token, wrong):
        assert secret not in log
        assert secret not in caplog.text


async def test_the_hierarchy_files_http_table_gives_a_manager_its_token_file_and_allowed_hosts(
    tmp_path: Path,
) -> None:
    token = mint_token()
    (tmp_path / "tokens").write_text(hash_line(token, "orchestrator") + "\n")
    config = tmp_path / "echelon.toml"
    config.write_text(
        f"""
[http]
auth_token_file = "tokens"  # relative to this file
allowed_hosts = ["numbers.example.test"]

[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = ["-m", "tests._toy_servers", "calc"]
"""
    )
    args = ["-m", "echelon.servers.managers", "--name", "numbers", "--config", str(config)]
    env = {"ECHELON_MODEL": "python:tests._e2e_model:build"}
    async with http_server(args, host="0.0.0.0", env=env, startup_timeout=60) as url:
        port = port_of(url)
        without = await initialize(url, host=f"numbers.example.test:{port}")
        allowed = await initialize(url, token=token, host=f"numbers.example.test:{port}")
        foreign = await initialize(url, token=token, host=f"other.example.test:{port}")
    assert (without.status_code, allowed.status_code, foreign.status_code) == (401, 200, 421)


async def test_the_servers_own_token_is_not_passed_to_the_processes_it_starts(tmp_path: Path) -> None:
    token = mint_token()
    config = tmp_path / "echelon.toml"
    config.write_text(
        f"""
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = {json.dumps(sys.executable)}
args = ["-m", "tests._toy_servers", "calc"]
"""
    )
    args = ["-m", "echelon.servers.managers", "--name", "numbers", "--config", str(config)]
    # No tool cache: listing the workers then starts the calc worker, whose environment is what is checked.
    env = {
        "ECHELON_AUTH_TOKEN": token,
        "ECHELON_MODEL": "python:tests._e2e_model:build",
        "ECHELON_TOOL_CACHE_DIR": "off",
    }
    async with (
        http_server(args, env=env, startup_timeout=60) as url,
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        catalog = await client.call_tool("list_workers", {})  # starts the calc worker
        assert not catalog.is_error
        # Found by its command line: a process an earlier test started may not have exited yet on a busy machine.
        (manager,) = [p for p in psutil.Process().children() if "echelon.servers.managers" in p.cmdline()]
        workers = manager.children()
        assert [" ".join(w.cmdline()[1:]) for w in workers] == ["-m tests._toy_servers calc"]
        assert manager.environ()["ECHELON_AUTH_TOKEN"] == token  # what the manager was started with ...
        assert "ECHELON_AUTH_TOKEN" not in workers[0].environ()  # ... is not what its worker got


async def test_a_stateless_worker_gives_no_session_id_and_answers_a_tools_call_sent_without_one() -> None:
    async with http_server([*CALC, "--stateless"]) as url:
        opened = await initialize(url)
        assert opened.status_code == 200
        assert "mcp-session-id" not in opened.headers
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "add", "arguments": {"a": 2, "b": 3}},
        }
        headers = MCP_HEADERS | {"mcp-protocol-version": "2025-11-25"}
        async with httpx2.AsyncClient() as http:
            answered = await http.post(url, json=call, headers=headers)
    assert answered.status_code == 200
    assert '"value":5.0' in answered.text.replace(" ", "")
