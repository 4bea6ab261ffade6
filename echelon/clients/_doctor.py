"""``echelon doctor``: check this installation and the active config, and say how to fix each problem.

Every check is real: the local runtime generates a token in a child process, the package index is requested with
the CA and proxy in use, and every worker and manager of the config is started and listed. Exit code 0 only when
nothing failed; a check that does not apply (no local model in this config, ``--skip-network``) is skipped.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from echelon.servers.core.config import ConfigError, HierarchyConfig, load_config, prepare_function

Status = Literal["ok", "fail", "skip"]
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL")
PACKAGES = ("mcp-echelon", "mcp", "pydantic", "anthropic", "openai", "httpx")


class Check(BaseModel):
    """One line of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def run_doctor(config_path: Path, *, network: bool = True, index_url: str | None = None) -> int:
    """Run every check, print the table, and return the exit code (0 only if none failed)."""
    checks = collect_checks(config_path, network=network, index_url=index_url)
    render(checks)
    return 1 if any(c.status == "fail" for c in checks) else 0


def collect_checks(config_path: Path, *, network: bool = True, index_url: str | None = None) -> list[Check]:
    """Every check, in the order of the table."""
    import anyio

    from ._doctor_hierarchy import check_hierarchy

    checks = [check_python(), check_packages()]
    config: HierarchyConfig | None = None
    try:
        config = load_config(config_path)
        prepare_function(config)
        checks.append(Check(name="config", status="ok", detail=str(config_path)))
    except ConfigError as exc:
        fix = f"edit {config_path}; `echelon config check` lists the same problems"
        checks.append(Check(name="config", status="fail", detail=str(exc), fix=fix))
    local = config is not None and uses_local_model(config)
    spec = model_spec(config)
    checks += [check_local_runtime(local, spec), check_model_file(local, spec), check_demo_data(config)]
    checks.append(check_index(index_url) if network else _skipped("package index", "--skip-network"))
    checks.append(check_api_keys(config))
    if config is not None:
        checks += anyio.run(check_hierarchy, config)
    return checks


def render(checks: list[Check]) -> None:
    """The checks as a table on stdout: what was checked, the verdict, what was found, and the fix."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="echelon doctor", show_lines=True)
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "fail": "bold red", "skip": "yellow"}
    for check in checks:
        # Text, not markup: details and fixes hold brackets ('mcp-echelon[local]') that are no styles.
        table.add_row(
            Text(check.name),
            Text(check.status, style=colours[check.status]),
            Text(check.detail),
            Text(check.fix),
        )
    console = Console(soft_wrap=False)
    console.print(table)
    failed = sum(c.status == "fail" for c in checks)
    console.print(
        f"{failed} of {len(checks)} checks failed" if failed else f"all {len(checks)} checks passed"
    )


def _skipped(name: str, why: str) -> Check:
    return Check(name=name, status="skip", detail=f"skipped ({why})")


def check_python() -> Check:
    """The Python running echelon (the package itself requires 3.11 or newer)."""
    version = ".".join(map(str, sys.version_info[:3]))
    return Check(name="python", status="ok", detail=f"{version} at {sys.executable}")


def check_packages() -> Check:
    found, missing = [], []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        fix = f"reinstall echelon with its dependencies: {reinstall_command()}"
        return Check(name="packages", status="fail", detail=f"missing: {', '.join(missing)}", fix=fix)
    return Check(name="packages", status="ok", detail=", ".join(found))


def _installed_as() -> Literal["uv-tool", "pipx", "source", "pip"]:
    # Each tool installer leaves its receipt in the environment it made.
    if (Path(sys.prefix) / "uv-receipt.toml").is_file():
        return "uv-tool"
    if (Path(sys.prefix) / "pipx_metadata.json").is_file():
        return "pipx"
    if (Path(__file__).resolve().parents[2] / "pyproject.toml").is_file():
        return "source"
    return "pip"


def reinstall_command(extra: str = "") -> str:
    """The command that (re)installs echelon the way it is installed here, with ``extra`` if given."""
    spec = f"'mcp-echelon[{extra}]'" if extra else "mcp-echelon"
    return {
        "uv-tool": f"uv tool install --force {spec}",
        "pipx": f"pipx install --force {spec}",
        "source": f"python3 -m uv sync{f' --extra {extra}' if extra else ''}",
        "pip": f"{sys.executable} -m pip install --force-reinstall {spec}",
    }[_installed_as()]


def uses_local_model(config: HierarchyConfig) -> bool:
    """Whether any level of ``config`` runs on the embedded local model (``auto`` with no API key does)."""
    from echelon.servers.core.llm import describe_auto

    names = [config.orchestrator.model, *(m.model for m in config.managers.values())]
    roles = ["orchestrator", *(["manager"] * len(config.managers))]
    resolved = [
        describe_auto("orchestrator" if r == "orchestrator" else "manager") if n == "auto" else n
        for n, r in zip(names, roles, strict=True)
    ]
    return any(n == "local" or n.startswith("local:") for n in resolved)


def model_spec(config: HierarchyConfig | None) -> str | None:
    """The local model spec the config names (``local:0.5b`` -> ``0.5b``), or None for the default."""
    if config is None:
        return None
    for name in [config.orchestrator.model, *(m.model for m in config.managers.values())]:
        if name.startswith("local:"):
            return name.removeprefix("local:")
    return None


_GENERATE = """
import json, sys
import llama_cpp
out = {"version": llama_cpp.__version__}
if len(sys.argv) > 1:
    llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False)
    out["tokens"] = llm("Hello", max_tokens=1)["usage"]["completion_tokens"]
print(json.dumps(out))
"""


def check_local_runtime(needed: bool, spec: str | None) -> Check:
    """Import llama.cpp and, when the model file is there, generate one token, in a child process: a build that
    uses instructions this CPU refuses dies there with SIGILL instead of here."""
    import json
    import subprocess

    name = "local runtime"
    if importlib.util.find_spec("llama_cpp") is None:
        status: Status = "fail" if needed else "skip"
        detail = "not installed" + (" (this config runs on the local model)" if needed else "")
        return Check(name=name, status=status, detail=detail, fix=f"add it: {reinstall_command('local')}")
    path = _model_file(spec)
    args = [str(path)] if path is not None and path.is_file() else []
    try:
        done = subprocess.run(
            [sys.executable, "-c", _GENERATE, *args], capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        return Check(name=name, status="fail", detail="no token within 600 s", fix="check the machine's load")
    if done.returncode != 0:
        return Check(
            name=name,
            status="fail",
            detail=_died(done.returncode, done.stderr),
            fix=_runtime_fix(done.returncode),
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    detail = f"llama-cpp-python {result['version']}"
    detail += ", generated 1 token" if args else f", not tried on a model (no file at {path})"
    return Check(name=name, status="ok", detail=detail)


def _died(code: int, stderr: str) -> str:
    import signal

    tail = "\n".join(stderr.strip().splitlines()[-5:])
    how = (
        f"killed by {signal.Signals(-code).name}"
        if code < 0 and -code in signal.valid_signals()
        else f"exit code {code}"
    )
    return f"the child {how}" + (f":\n{tail}" if tail else "")


def _runtime_fix(code: int) -> str:
    import signal

    if code == -signal.SIGILL:
        return (
            "its llama.cpp build uses CPU instructions this machine refuses; reinstall the local extra, which "
            f"builds a portable llama.cpp: {reinstall_command('local')}"
        )
    return f"reinstall the local extra: {reinstall_command('local')}"


def _model_file(spec: str | None) -> Path | None:
    from echelon.servers.core.llm._model_files import resolve_model_spec

    try:
        return resolve_model_spec(spec).path
    except ValueError:
        return None


def check_model_file(needed: bool, spec: str | None) -> Check:
    """The model file and its sha256 against the pinned one (nothing is downloaded)."""
    import hashlib

    from echelon.servers.core.llm._model_files import resolve_model_spec

    name = "model file"
    try:
        resolved = resolve_model_spec(spec)
    except ValueError as exc:
        return Check(
            name=name, status="fail", detail=str(exc), fix="name a variant (1.5b, 0.5b) or a .gguf path"
        )
    fetch = f"echelon model fetch {resolved.known.key}" if resolved.known else "check the path"
    if not resolved.path.is_file():
        status: Status = "fail" if needed else "skip"
        return Check(name=name, status=status, detail=f"not there: {resolved.path}", fix=f"fetch it: {fetch}")
    if resolved.known is None:
        return Check(name=name, status="ok", detail=f"{resolved.path} (your own file: no pinned sha256)")
    digest = hashlib.sha256()
    with resolved.path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != resolved.known.sha256:
        return Check(
            name=name,
            status="fail",
            detail=f"{resolved.path}: sha256 {digest.hexdigest()[:16]}..., expected {resolved.known.sha256[:16]}...",
            fix=f"delete the file and fetch it again: {fetch}",
        )
    return Check(
        name=name, status="ok", detail=f"{resolved.path} (sha256 {resolved.known.sha256[:16]}... as pinned)"
    )


def check_demo_data(config: HierarchyConfig | None) -> Check:
    """Whether the demo data is there and covers the two years before today (nothing is generated here)."""
    import json

    from echelon.examples import DATABASE_NAME, MARKER_NAME, demo_config_path, demo_dir
    from echelon.examples.company import demo_years

    name = "demo data"
    is_demo = config is not None and (
        config.source == demo_config_path() or config.prepare == "echelon.examples:ensure_demo_data"
    )
    root = demo_dir()
    fix = "python -m echelon.examples (or any command on the demo makes it)"
    try:
        years = tuple(json.loads((root / MARKER_NAME).read_text(encoding="utf-8"))["years"])
    except (OSError, ValueError, KeyError):
        years = None
    if not (root / DATABASE_NAME).is_file() or years is None:
        return Check(
            name=name,
            status="skip",
            detail=f"not generated yet in {root}" + ("" if is_demo else " (this config does not use it)"),
            fix=fix,
        )
    if years != demo_years():
        return Check(
            name=name,
            status="skip",
            detail=f"{root} covers {years[0]}-{years[1]}; it is regenerated on next use",
            fix=fix,
        )
    return Check(name=name, status="ok", detail=f"{root} ({years[0]}-{years[1]})")


def check_index(index_url: str | None) -> Check:
    """Reach the package index (where the model comes from) with the CA and proxy settings in use."""
    import ssl

    import httpx

    from echelon.servers.core.llm._index_client import index_from_env

    url = index_from_env(index_url).url
    ca = os.environ.get("SSL_CERT_FILE")
    ca_text = f"CA: SSL_CERT_FILE={ca}" if ca else "CA: the default bundle"
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    ca_text += f"; proxy {proxy}" if proxy else ""
    try:
        verify = ssl.create_default_context(cafile=ca) if ca else True
        response = httpx.get(url, timeout=15, follow_redirects=True, verify=verify)
    except (httpx.HTTPError, OSError) as exc:  # OSError: an unreadable SSL_CERT_FILE
        message = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in message:
            fix = (
                "set SSL_CERT_FILE to the PEM file of your network's CA (every child echelon starts gets it)"
            )
        else:
            fix = "check the network; behind a proxy set HTTPS_PROXY (and NO_PROXY); for a mirror set PIP_INDEX_URL"
        return Check(name="package index", status="fail", detail=f"{url}: {message} ({ca_text})", fix=fix)
    if response.status_code >= 400:
        return Check(
            name="package index",
            status="fail",
            detail=f"{url}: HTTP {response.status_code} ({ca_text})",
            fix="check the index URL (PIP_INDEX_URL / UV_INDEX_URL)",
        )
    return Check(name="package index", status="ok", detail=f"{url}: HTTP {response.status_code} ({ca_text})")


def check_api_keys(config: HierarchyConfig | None) -> Check:
    """Which API keys are set (never their values), and whether a level names a provider whose key is missing."""
    from echelon.servers.core.llm import describe_auto

    shown = [f"{k} {'set' if os.environ.get(k) else 'not set'}" for k in KEY_VARIABLES]
    detail = f"{', '.join(shown)}; auto -> {describe_auto('orchestrator')}"
    if config is None:
        return Check(name="API keys", status="ok", detail=detail)
    custom = config.models.api_key_env
    needed: dict[str, str] = {}
    for level, model in [
        ("orchestrator", config.orchestrator.model),
        *((f"managers.{k}", m.model) for k, m in config.managers.items()),
    ]:
        provider = model.partition(":")[0]
        key = custom or {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}.get(provider)
        if (
            key
            and not os.environ.get(key)
            and not (provider == "openai" and os.environ.get("OPENAI_BASE_URL"))
        ):
            needed.setdefault(key, level)
    if needed:
        missing = ", ".join(f"{key} (for {level})" for key, level in needed.items())
        fix = "set it in your shell; for a desktop host: echelon install <host> --env KEY=VALUE"
        return Check(name="API keys", status="fail", detail=f"{detail}; missing: {missing}", fix=fix)
    return Check(name="API keys", status="ok", detail=detail)
