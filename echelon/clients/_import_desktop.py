"""Import workers from a desktop host's MCP config (Claude Desktop, Cursor, VS Code).

Every server a user already runs in a desktop host can be an echelon worker unchanged: its
``mcpServers`` entry is exactly a :class:`~servers.core.target.Target`. This module reads such a file into
targets, leaves out what echelon cannot run (our own orchestrator, legacy SSE, host-only ``${...}``
variables) with the reason, and renders the result as ``[workers.<name>]`` TOML tables for ``echelon.toml``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, ValidationError

from echelon.clients.install import ConfigFileError, read_config
from echelon.servers.core.target import Target

# Keys hosts store for their own bookkeeping; they don't change how the server runs.
_METADATA_KEYS = frozenset({"gallery", "version", "description", "icon", "dev", "autoApprove", "alwaysAllow"})
_STRING_KEYS = ("command", "cwd", "url", "type")
_MAP_KEYS = ("env", "headers")
_TARGET_KEYS = frozenset(Target.model_fields) - {"server"}  # "server" is an in-process object, never JSON
# ${workspaceFolder}, ${input:api-key}, ${env:HOME}, ${userHome}: resolved by VS Code / Cursor, not by us.
_HOST_VARIABLE = re.compile(r"\$\{[A-Za-z][\w.:-]*\}")


class ImportedWorkers(BaseModel):
    """The workers read from a host config, and the entries left out with the reason for each."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: Path
    servers_key: str
    workers: dict[str, Target]
    skipped: dict[str, str]


def is_orchestrator_entry(entry: Mapping[str, Any]) -> bool:
    """Whether ``entry`` runs echelon's own orchestrator (``python -m echelon.servers.orchestrator``)."""
    args = entry.get("args")
    if not isinstance(args, list):
        return False
    items = [a for a in args if isinstance(a, str)]
    # Entries written before the package had its own namespace run `servers.orchestrator`.
    modules = ("echelon.servers.orchestrator", "servers.orchestrator")
    if any(f"-m{m}" in items for m in modules):
        return True
    return any(a == "-m" and b in modules for a, b in itertools.pairwise(items))


def read_workers(desktop_config: Path) -> ImportedWorkers:
    """Read every server of a host config, keeping the usable ones as targets and flagging the rest."""
    data = read_config(desktop_config)
    if data is None:
        raise ConfigFileError(f"{desktop_config}: no such file")
    key = "mcpServers" if "mcpServers" in data else "servers" if "servers" in data else None
    if key is None:
        raise ConfigFileError(
            f"{desktop_config}: no 'mcpServers' (Claude Desktop, Cursor) or 'servers' (VS Code) map; "
            "is this an MCP host config?"
        )
    servers = data[key] if data[key] is not None else {}
    if not isinstance(servers, dict):
        got = type(servers).__name__
        raise ConfigFileError(f"{desktop_config}: {key!r} must be a JSON object, got {got}")
    workers: dict[str, Target] = {}
    skipped: dict[str, str] = {}
    for name, entry in servers.items():
        where = f"{desktop_config}: {key}.{name}"
        if not isinstance(entry, dict):
            raise ConfigFileError(f"{where}: an entry must be a JSON object, got {type(entry).__name__}")
        reason = _skip_reason(entry)
        if reason is not None:
            skipped[name] = reason
            continue
        workers[name] = _to_target(entry, where)
    return ImportedWorkers(source=desktop_config, servers_key=key, workers=workers, skipped=skipped)


def import_workers(desktop_config: Path) -> dict[str, Target]:
    """The usable workers of a host config; see :func:`read_workers` for what was left out and why."""
    return read_workers(desktop_config).workers


def to_toml_workers(workers: Mapping[str, Target]) -> str:
    """Render workers as ``[workers.<name>]`` tables, ready to print or append to an ``echelon.toml``."""
    tables: dict[str, Any] = {}
    for name, target in workers.items():
        if target.server is not None:
            raise ValueError(f"worker {name!r} is an in-process server and cannot be written to TOML")
        tables[name] = target.model_dump(mode="json", exclude_defaults=True)
    return tomli_w.dumps({"workers": tables}) if tables else ""


def _skip_reason(entry: Mapping[str, Any]) -> str | None:
    """Why echelon cannot run ``entry`` as a worker, or None when it can."""
    if is_orchestrator_entry(entry):
        return "this is echelon's own orchestrator; it cannot be a worker of itself"
    if entry.get("type") == "sse":
        return "uses the legacy SSE transport, which echelon does not support; use its Streamable HTTP url"
    found = sorted({m for value in _strings(entry) for m in _HOST_VARIABLE.findall(value)})
    if found:
        return (
            f"uses host variables ({', '.join(found)}) that only the desktop host resolves; "
            "add it to echelon.toml by hand with the values filled in"
        )
    return None


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value (for spotting ``${...}`` variables)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _to_target(entry: Mapping[str, Any], where: str) -> Target:
    """Check the JSON types of an entry (for messages that name the key), then validate it as a target."""
    # null means "not given", as most hosts read it.
    fields = {k: v for k, v in entry.items() if k not in _METADATA_KEYS and v is not None}
    for key in _STRING_KEYS:
        if key in fields and not isinstance(fields[key], str):
            raise ConfigFileError(f"{where}: {key!r} must be a string, got {_json_type(fields[key])}")
    if "args" in fields and not (
        isinstance(fields["args"], list) and all(isinstance(a, str) for a in fields["args"])
    ):
        raise ConfigFileError(f"{where}: 'args' must be a list of strings")
    for key in _MAP_KEYS:
        value = fields.get(key, {})
        if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
            raise ConfigFileError(f"{where}: {key!r} must be an object of string values (quote numbers)")
    if "disabled" in fields and not isinstance(fields["disabled"], bool):
        raise ConfigFileError(f"{where}: 'disabled' must be true or false")
    unknown = sorted(set(fields) - _TARGET_KEYS)
    if unknown:
        hint = " (copy the file's variables into 'env')" if "envFile" in unknown else ""
        raise ConfigFileError(f"{where}: unsupported key {', '.join(map(repr, unknown))}{hint}")
    try:
        return Target.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(str(err["msg"]).removeprefix("Value error, ") for err in exc.errors())
        raise ConfigFileError(f"{where}: {problems}") from exc


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
