"""The exact commands that add the local runtime (the ``local`` extra) or rebuild it portably, for this install.

How echelon was installed decides the command: from a clone (an editable install of the project), as a uv tool,
with pipx, or with pip. Outside a clone the project's ``[tool.uv]`` build settings do not apply, so the commands
carry ``CMAKE_ARGS`` that make llama.cpp portable (scikit-build-core reads it) instead of ``-march=native``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import platform
import shlex
import shutil
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from .base import ModelError

DISTRIBUTION = "mcp-echelon"
RUNTIME_PACKAGE = "llama-cpp-python"

InstallKind = Literal["clone", "uv-tool", "pipx", "pip"]


class LocalRuntimeMissing(ModelError):
    """The ``local`` extra (llama-cpp-python) is not installed; the message says which command adds it."""


class _DirectUrl(BaseModel):
    """PEP 610 ``direct_url.json``: where an installed distribution came from (absent for an index install)."""

    url: str
    dir_info: dict[str, bool] | None = None


def _direct_url() -> _DirectUrl | None:
    try:
        text = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        return _DirectUrl.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None


def install_kind() -> InstallKind:
    """How this echelon was installed, judged from the running environment."""
    origin = _direct_url()
    if origin is not None and (origin.dir_info or {}).get("editable"):
        return "clone"
    if origin is None and (Path(__file__).resolve().parents[4] / "pyproject.toml").is_file():
        return "clone"  # run from a source tree without being installed
    prefix = Path(sys.prefix)
    if (prefix / "uv-receipt.toml").is_file():
        return "uv-tool"
    if (prefix / "pipx_metadata.json").is_file():
        return "pipx"
    return "pip"


def _requirement(extra: str) -> str:
    """``mcp-echelon[extra]``, pinned to the file or URL it was installed from when it did not come from an index."""
    origin = _direct_url()
    if origin is not None and not origin.dir_info:
        return f"{DISTRIBUTION}[{extra}] @ {origin.url}"
    return f"{DISTRIBUTION}[{extra}]"


def _uv() -> str:
    # The README installs uv as a module of python3 (`python3 -m pip install uv`), so it may not be on PATH.
    return "uv" if shutil.which("uv") else "python3 -m uv"


def portable_cmake_args() -> str:
    """The llama.cpp build options of the project's own install: a baseline that runs on any AVX2 x86-64 CPU
    (and any arm64 one), whatever CPU builds it."""
    if platform.machine().lower() in ("x86_64", "amd64", "i686", "x86"):
        return "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    return "-DGGML_NATIVE=OFF"


def _with_cmake_args(command: str) -> str:
    if sys.platform == "win32":
        return f'$env:CMAKE_ARGS="{portable_cmake_args()}"; {command}'
    return f'CMAKE_ARGS="{portable_cmake_args()}" {command}'


def add_extra_command() -> str:
    """The one command that adds the ``local`` extra to this install (building llama.cpp portably)."""
    kind = install_kind()
    requirement = shlex.quote(_requirement("local"))
    if kind == "clone":
        root = Path(__file__).resolve().parents[4]
        return f"cd {shlex.quote(str(root))} && {_uv()} sync --extra local"
    if kind == "uv-tool":
        return _with_cmake_args(f"{_uv()} tool install --reinstall {requirement}")
    if kind == "pipx":
        return _with_cmake_args(f"pipx install --force {requirement}")
    return _with_cmake_args(f"{shlex.quote(sys.executable)} -m pip install {requirement}")


def missing_extra_message() -> str:
    kind = install_kind()
    how = {
        "clone": "(this is a clone of the project: `uv run --extra local echelon ...` also works)",
        "uv-tool": "(echelon is installed as a uv tool)",
        "pipx": "(echelon is installed with pipx)",
        "pip": f"(echelon is installed with pip in {sys.prefix})",
    }[kind]
    return (
        f"the local model needs the optional extra 'local' ({RUNTIME_PACKAGE}), which is not installed for "
        f"{sys.executable}. Add it with:\n  {add_extra_command()}\n{how}; it compiles llama.cpp once "
        "(5-15 minutes). Or use a hosted model instead: set ANTHROPIC_API_KEY or OPENAI_API_KEY ('auto' picks "
        "it up) or pass --model anthropic:<model> / openai:<model>."
    )


def local_runtime_installed() -> bool:
    """Whether ``llama_cpp`` can be found (not imported: that loads the native library, the server's job)."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        return False


def require_local_runtime() -> None:
    """Raise LocalRuntimeMissing, naming the command that adds it, unless llama-cpp-python is installed."""
    if not local_runtime_installed():
        raise LocalRuntimeMissing(missing_extra_message())


def portable_reinstall_command() -> str:
    """The command that rebuilds this environment's llama-cpp-python portably, same version, bypassing any cached
    (native) build."""
    try:
        pin = f"{RUNTIME_PACKAGE}=={importlib.metadata.version(RUNTIME_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:
        pin = RUNTIME_PACKAGE
    python = shlex.quote(sys.executable)
    if shutil.which("uv") or not importlib.util.find_spec("pip"):
        command = f"{_uv()} pip install --python {python} --reinstall --no-cache {pin}"
    else:
        command = f"{python} -m pip install --force-reinstall --no-deps --no-cache-dir {pin}"
    return _with_cmake_args(command)
