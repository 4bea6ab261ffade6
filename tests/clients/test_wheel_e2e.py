"""The built wheel, installed into a fresh venv without the local extra, works from any folder.

Slow: pip installs every dependency from the package index (pip's own cache makes repeated runs quick).
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from echelon import __version__
from tests._servers import DEMO_WORKFLOW_TOOLS, ORCHESTRATOR_TOOLS

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    "echelon/examples/echelon.toml",
    "echelon/examples/company.py",
    "echelon/servers/core/prompts/strategic_planner.md",
    "echelon/servers/core/prompts/strategic_planner.examples.json",
]


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def clean_env(tmp: Path) -> dict[str, str]:
    """This environment without what would point the venv at the source tree or another config."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ECHELON_CONFIG")}
    return env | {"ECHELON_DEMO_DIR": str(tmp / "demo"), "ECHELON_CACHE_DIR": str(tmp / "cache")}


def run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this tree and its dependencies (not the local extra)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = clean_env(tmp)
    run([*uv(), "build", "--wheel", "--out-dir", str(tmp / "dist")], cwd=ROOT, env=env, timeout=300)
    [wheel] = (tmp / "dist").glob("mcp_echelon-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert all(name in names for name in SHIPPED), sorted(set(SHIPPED) - set(names))
    run([sys.executable, "-m", "venv", str(tmp / "venv")], cwd=tmp, env=env)
    pip = [str(tmp / "venv" / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    run([*pip, str(wheel)], cwd=tmp, env=env, timeout=1200)
    return tmp / "venv" / "bin"


def test_the_installed_wheel_has_no_local_runtime_and_answers_version_and_help(
    installed: Path, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    assert run([str(installed / "echelon"), "--version"], cwd=tmp_path, env=env) == f"echelon {__version__}\n"
    assert "doctor" in run([str(installed / "echelon"), "--help"], cwd=tmp_path, env=env)
    probe = "import importlib.util; print(importlib.util.find_spec('llama_cpp') is None)"
    assert run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=env) == "True\n"


def test_the_installed_wheel_checks_the_demo_config_it_ships(installed: Path, tmp_path: Path) -> None:
    out = run([str(installed / "echelon"), "config", "check"], cwd=tmp_path, env=clean_env(tmp_path))
    demo = installed.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert out == f"{demo / 'echelon' / 'examples' / 'echelon.toml'}: ok (3 managers, 5 workers)\n"


@pytest.mark.anyio
async def test_the_installed_wheel_serves_the_orchestrator_over_stdio_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=str(installed / "echelon"),
        args=["serve", "orchestrator"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
    )
    with anyio.fail_after(120):
        async with Client(params) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            info = client.server_info
    assert set(tools) == ORCHESTRATOR_TOOLS | DEMO_WORKFLOW_TOOLS
    assert info is not None and info.version == __version__
    assert (tmp_path / "demo" / "aurora_trail_gear.db").is_file()  # its prepare step made the demo data
