import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from echelon.clients._commands import orchestrator_params
from echelon.clients.cli import main

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


@pytest.mark.e2e
def test_ask_says_how_the_orchestrator_ended_when_it_exits_before_answering(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "echelon.toml"
    config.write_text('[managers.m]\ndescription = "d"\nworkers = ["w"]\n\n[workers.w]\ncommand = "w"\n')
    with pytest.raises(SystemExit) as exited:
        main(["ask", "--config", str(config), "--model", "nosuchprovider:x", "hi"])
    assert exited.value.code == 2
    err = capfd.readouterr().err
    assert "unknown model 'nosuchprovider:x'" in err  # the orchestrator's own stderr, passed on
    assert err.endswith(
        "echelon: error: the orchestrator exited with code 2 before answering (its error is above)\n"
    )
