"""Install the echelon orchestrator into a desktop or IDE MCP host's config file.

Claude Desktop, VS Code and Cursor each keep their MCP servers in one JSON file. Installing adds (or
replaces) a single entry in that file and leaves every other key and server exactly as it was; an existing
file is backed up first and rewritten atomically, so a crash never leaves a half-written config behind.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ValidationError

from echelon.servers.core.target import Target

Host = Literal["claude-desktop", "vscode", "cursor"]
HOSTS: tuple[Host, ...] = get_args(Host)

# VS Code's mcp.json keeps its servers under "servers"; Claude Desktop and Cursor use "mcpServers".
_SERVERS_KEY: dict[Host, str] = {"claude-desktop": "mcpServers", "vscode": "servers", "cursor": "mcpServers"}


class ConfigFileError(ValueError):
    """A host config file that cannot be read or merged; the message names the file and what is wrong."""


class InstallResult(BaseModel):
    """What ``install`` did (or, for a dry run, would do) to a host's config file."""

    host: Host
    name: str
    path: Path
    backup: Path | None = None
    created: bool
    """The file did not exist before."""
    replaced: bool
    """An entry called ``name`` existed and was replaced."""
    changed: bool
    """The new content differs from the old (an identical re-install writes nothing)."""
    written: bool
    """The file was written (False for a dry run or when nothing changed)."""
    config: dict[str, Any]
    text: str
    """The merged file content, as written (or as it would be written)."""


class UninstallResult(BaseModel):
    """What ``uninstall`` did (or, for a dry run, would do) to a host's config file."""

    host: Host
    name: str
    path: Path
    backup: Path | None = None
    removed: bool
    """An entry called ``name`` existed and was removed."""
    written: bool
    config: dict[str, Any]
    text: str


def servers_key(host: Host) -> str:
    """The top-level key under which ``host`` keeps its servers."""
    _check_host(host)
    return _SERVERS_KEY[host]


def config_path(
    host: Host,
    *,
    platform: str = sys.platform,
    home: Path | None = None,
    env: Mapping[str, str] = os.environ,
) -> Path:
    """The user-level MCP config file of ``host`` on ``platform`` (``sys.platform`` values)."""
    _check_host(host)
    home = Path.home() if home is None else home
    if host == "cursor":
        return home / ".cursor" / "mcp.json"
    app_dir = {"claude-desktop": Path("Claude"), "vscode": Path("Code", "User")}[host]
    file_name = "claude_desktop_config.json" if host == "claude-desktop" else "mcp.json"
    return _app_data_dir(platform, home, env) / app_dir / file_name


def _app_data_dir(platform: str, home: Path, env: Mapping[str, str]) -> Path:
    """Where Electron apps (Claude Desktop, VS Code) keep per-user data on each platform."""
    if platform == "darwin":
        return home / "Library" / "Application Support"
    if platform.startswith(("win", "cygwin")):
        appdata = env.get("APPDATA")
        return Path(appdata) if appdata else home / "AppData" / "Roaming"
    xdg = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"


def orchestrator_entry(
    *,
    python: str = sys.executable,
    config: Path | None = None,
    model: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The stdio entry that runs the orchestrator with this environment's Python.

    Desktop hosts start servers with a minimal environment and an unknown working directory, so every path is
    absolute. The interpreter path is made absolute but not resolved: a virtualenv's ``python`` is a symlink,
    and following it would escape the environment where echelon is installed.
    """
    if not python:
        raise ValueError("no Python interpreter path: pass python= (sys.executable is empty in this process)")
    args = ["-m", "echelon.servers.orchestrator"]
    if config is not None:
        args += ["--config", os.path.abspath(config)]
    if model is not None:
        args += ["--model", model]
    return {"command": os.path.abspath(python), "args": args, "env": dict(env or {})}


def read_config(path: Path) -> dict[str, Any] | None:
    """Read a host's JSON config: None when missing, ``{}`` when empty; a clear error when it isn't JSON."""
    try:
        raw = path.read_text(encoding="utf-8-sig")  # tolerate the BOM some Windows editors write
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(
            f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}). The file was left "
            "unchanged; fix it (JSON allows no comments or trailing commas) and try again."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: the top level must be a JSON object, got {type(data).__name__}")
    return data


def install(
    host: Host,
    *,
    name: str = "echelon",
    entry: Mapping[str, Any] | None = None,
    path: Path | None = None,
    dry_run: bool = False,
) -> InstallResult:
    """Add or replace the server ``name`` in ``host``'s config, keeping every other key and entry intact."""
    target_path = config_path(host) if path is None else path
    entry = orchestrator_entry() if entry is None else entry
    host_entry = _host_entry(host, entry, name)
    existing = read_config(target_path)
    config: dict[str, Any] = {} if existing is None else existing
    servers = _servers_map(config, host, target_path)
    replaced = name in servers
    # Compare values, not text: re-installing the same entry must not reformat a hand-edited file.
    changed = existing is None or not replaced or servers[name] != host_entry
    servers[name] = host_entry  # an existing key keeps its position; a new one goes last
    text = render(config)
    backup = None
    if changed and not dry_run:
        backup = _write(target_path, text, existing is not None)
    return InstallResult(
        host=host,
        name=name,
        path=target_path,
        backup=backup,
        created=existing is None,
        replaced=replaced,
        changed=changed,
        written=changed and not dry_run,
        config=config,
        text=text,
    )


def uninstall(
    host: Host,
    name: str = "echelon",
    *,
    path: Path | None = None,
    dry_run: bool = False,
) -> UninstallResult:
    """Remove the server ``name`` from ``host``'s config; a missing file or entry is left alone."""
    target_path = config_path(host) if path is None else path
    existing = read_config(target_path)
    if existing is None:
        return UninstallResult(
            host=host, name=name, path=target_path, removed=False, written=False, config={}, text=""
        )
    servers = _servers_map(existing, host, target_path, create=False)
    removed = name in servers
    if removed:
        del servers[name]
    text = render(existing)
    backup = _write(target_path, text, True) if removed and not dry_run else None
    return UninstallResult(
        host=host,
        name=name,
        path=target_path,
        backup=backup,
        removed=removed,
        written=removed and not dry_run,
        config=existing,
        text=text,
    )


def render(config: Mapping[str, Any]) -> str:
    """The JSON text written to a host config: indent 2, key order kept, non-ASCII left readable."""
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"


def _check_host(host: str) -> None:
    if host not in HOSTS:
        raise ValueError(f"unknown host {host!r}; choose one of {', '.join(HOSTS)}")


def _host_entry(host: Host, entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Validate ``entry`` as an ``mcpServers``-style target and shape it for ``host``."""
    try:
        Target.model_validate(dict(entry))
    except ValidationError as exc:
        problems = "; ".join(err["msg"] for err in exc.errors())
        raise ValueError(f"server entry {name!r} is not a valid MCP server entry: {problems}") from exc
    shaped = dict(entry)
    if host == "vscode":
        # VS Code wants an explicit transport type, conventionally first.
        kind = shaped.pop("type", None) or ("http" if "url" in shaped else "stdio")
        shaped = {"type": kind, **shaped}
    return shaped


def _servers_map(config: dict[str, Any], host: Host, path: Path, *, create: bool = True) -> dict[str, Any]:
    """The (mutable) server map inside ``config``; created when absent (or an unattached ``{}``)."""
    key = servers_key(host)
    servers = config.get(key)
    if servers is None:
        servers = {}
        if create:
            config[key] = servers
    if not isinstance(servers, dict):
        raise ConfigFileError(f"{path}: {key!r} must be a JSON object, got {type(servers).__name__}")
    return servers


def _write(path: Path, text: str, exists: bool) -> Path | None:
    """Back up an existing file, then replace it atomically; returns the backup path (None for a new file)."""
    # Write through a symlink (configs kept in a dotfiles repo) instead of replacing the link itself.
    real = path.resolve() if path.is_symlink() else path
    real.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    mode = None
    if exists:
        backup = _backup_path(path)
        shutil.copy2(real, backup)
        mode = real.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # keep the old permissions; a new file stays private (it may hold API keys)
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def _backup_path(path: Path) -> Path:
    """``<file>.bak-YYYYmmdd-HHMMSS``, with a counter when two changes land in the same second."""
    base = path.with_name(f"{path.name}.bak-{datetime.now():%Y%m%d-%H%M%S}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate
