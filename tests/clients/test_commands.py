import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from echelon.clients._commands import orchestrator_params

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
NETWORK = {"SSL_CERT_FILE": "/etc/company/ca.pem", "HTTPS_PROXY": "http://proxy.example:3128"}


async def test_the_orchestrator_the_cli_starts_sees_the_network_variables_and_the_api_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in {**NETWORK, "ANTHROPIC_API_KEY": "sk-for-our-levels", "UNRELATED": "x"}.items():
        monkeypatch.setenv(key, value)
    params = orchestrator_params(None, "local")
    # The CLI's environment, in a real child that can report it (the orchestrator has no such tool).
    probe = StdioServerParameters(
        command=sys.executable, args=["-m", "tests._toy_servers", "calc"], env=params.env, cwd=ROOT
    )
    names = [*NETWORK, "ANTHROPIC_API_KEY", "ECHELON_MODEL", "UNRELATED"]
    with anyio.fail_after(30):
        async with Client(probe) as client:
            result = await client.call_tool("env", {"names": names})
    assert result.structured_content is not None
    assert result.structured_content["values"] == {
        **NETWORK,
        "ANTHROPIC_API_KEY": "sk-for-our-levels",
        "ECHELON_MODEL": "local",
    }
