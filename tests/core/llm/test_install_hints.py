"""Without the ``local`` extra, ``local`` and ``auto`` stop before any server starts with the command that adds
it; a crashed runtime names the command that rebuilds it portably. The extra is made missing by blocking the
import of ``llama_cpp`` (``sys.modules['llama_cpp'] = None``), never by uninstalling anything."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import anyio
import pytest

from echelon.servers.core.llm import Message, ModelRequest, _install_hints, allow_model_requests
from echelon.servers.core.llm._install_hints import (
    LocalRuntimeMissing,
    _DirectUrl,  # pyright: ignore[reportPrivateUsage]
    add_extra_command,
    portable_reinstall_command,
)
from echelon.servers.core.llm.local import LocalModel

ROOT = Path(__file__).resolve().parents[3]
BLOCKER = "import sys\nsys.modules['llama_cpp'] = None  # as if llama-cpp-python were not installed\n"


def dead_index() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/simple"


@pytest.mark.e2e
@pytest.mark.anyio
@pytest.mark.parametrize(
    "args",
    [["demo"], ["ask", "What is 2 + 2?", "--model", "auto"], ["serve", "orchestrator"]],
    ids=["demo", "ask-auto", "serve-orchestrator"],
)
async def test_without_the_local_extra_the_cli_stops_before_any_server_with_the_command_that_adds_it(
    tmp_path: Path, args: list[str]
) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    cache = tmp_path / "cache"
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)]),
        "ECHELON_CACHE_DIR": str(cache),
        "ECHELON_BLOCK_MODEL_REQUESTS": "0",  # so the CLI prepares the local model, as for a user
        "UV_INDEX_URL": dead_index(),  # a bug could not download anything from the internet
        "ECHELON_DEMO_DIR": str(tmp_path / "demo"),
    }
    with anyio.fail_after(120):
        done = await anyio.run_process(
            [sys.executable, "-m", "echelon.clients.cli", *args], env=env, cwd=tmp_path, check=False
        )
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "the local model needs the optional extra 'local' (llama-cpp-python)" in stderr
    assert f"cd {ROOT} && uv sync --extra local" in stderr or "python3 -m uv sync --extra local" in stderr
    assert "uv run --extra local" in stderr  # this test runs from a clone
    assert "ANTHROPIC_API_KEY" in stderr  # or a hosted model
    assert "starting the orchestrator" not in stderr
    assert not cache.exists() or not any(cache.glob("local-server-*"))  # no server was started


def test_a_local_model_request_without_the_extra_raises_before_starting_a_server(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    monkeypatch.delenv("ECHELON_LOCAL_URL", raising=False)
    model = LocalModel("1.5b")
    request = ModelRequest(messages=[Message(role="user", content="hi")])
    with allow_model_requests(), pytest.raises(LocalRuntimeMissing, match=r"optional extra 'local'"):
        anyio.run(model.request, request)
    assert not cache.exists()


def test_a_uv_tool_install_from_a_wheel_gets_the_tool_command_with_portable_build_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "uv-receipt.toml").write_text("[tool]\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    wheel = "file:///home/me/mcp_echelon-0.1.0-py3-none-any.whl"
    monkeypatch.setattr(_install_hints, "_direct_url", lambda: _DirectUrl(url=wheel))
    command = add_extra_command()
    assert command.startswith('CMAKE_ARGS="-DGGML_NATIVE=OFF ')
    assert command.endswith(f"tool install --reinstall 'mcp-echelon[local] @ {wheel}'")


def test_a_pip_install_from_the_index_gets_pip_for_its_own_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(_install_hints, "_direct_url", lambda: None)
    monkeypatch.setattr(_install_hints, "__file__", str(tmp_path / "a" / "b" / "c" / "d" / "e.py"))
    assert add_extra_command().endswith(f"{sys.executable} -m pip install 'mcp-echelon[local]'")


def test_the_portable_reinstall_command_pins_this_environment_and_version_and_skips_the_cache() -> None:
    import importlib.metadata

    command = portable_reinstall_command()
    version = importlib.metadata.version("llama-cpp-python")
    assert command.startswith('CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" ')
    assert f"--python {sys.executable} --reinstall --no-cache llama-cpp-python=={version}" in command
