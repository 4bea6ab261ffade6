"""Importing workers from existing Claude Desktop, Cursor and VS Code configs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from echelon.clients._import_desktop import (
    import_workers,
    is_orchestrator_entry,
    read_workers,
    to_toml_workers,
)
from echelon.clients.install import ConfigFileError, install, orchestrator_entry
from echelon.servers.core.config import parse_config
from echelon.servers.core.target import Target

ECHELON = orchestrator_entry(python="/Users/ana/echelon/.venv/bin/python", model="local")

CLAUDE_DESKTOP: dict[str, Any] = {
    "globalShortcut": "Alt+Space",
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": [
                "-y",
                "@modelcontextprotocol/server-filesystem",
                "/Users/ana/Desktop",
                "/Users/ana/Downloads",
            ],
        },
        "git": {
            "command": "uvx",
            "args": ["mcp-server-git", "--repository", "/Users/ana/src/app"],
            "env": {"GIT_AUTHOR_NAME": "Ana"},
        },
        "search": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer t0ken"}},
        "echelon": ECHELON,
    },
}


def _write(tmp_path: Path, data: Any, name: str = "claude_desktop_config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_import_reads_a_claude_desktop_config_into_targets_and_skips_echelon_itself(tmp_path: Path) -> None:
    workers = import_workers(_write(tmp_path, CLAUDE_DESKTOP))
    assert list(workers) == ["filesystem", "git", "search"]
    fs, git, search = workers["filesystem"], workers["git"], workers["search"]
    assert (fs.kind, fs.command, fs.args[:2]) == (
        "stdio",
        "npx",
        ["-y", "@modelcontextprotocol/server-filesystem"],
    )
    assert (git.command, git.args, git.env) == (
        "uvx",
        CLAUDE_DESKTOP["mcpServers"]["git"]["args"],
        {"GIT_AUTHOR_NAME": "Ana"},
    )
    assert (search.kind, search.url, search.headers) == (
        "http",
        "https://mcp.example.com/mcp",
        {"Authorization": "Bearer t0ken"},
    )


def test_read_workers_flags_the_orchestrator_entry_with_the_reason(tmp_path: Path) -> None:
    report = read_workers(_write(tmp_path, CLAUDE_DESKTOP))
    assert report.servers_key == "mcpServers"
    assert list(report.skipped) == ["echelon"]
    assert "own orchestrator" in report.skipped["echelon"]


def test_the_orchestrator_is_recognised_under_any_name_and_spelling() -> None:
    assert is_orchestrator_entry(ECHELON)
    assert is_orchestrator_entry(
        {"command": "uv", "args": ["run", "python", "-m", "echelon.servers.orchestrator"]}
    )
    assert is_orchestrator_entry({"command": "python", "args": ["-mechelon.servers.orchestrator"]})
    assert is_orchestrator_entry(
        {"command": "python", "args": ["-m", "servers.orchestrator"]}
    )  # older installs
    assert not is_orchestrator_entry({"command": "python", "args": ["-m", "echelon.servers.workers.sql"]})
    assert not is_orchestrator_entry({"command": "python", "args": ["echelon.servers.orchestrator"]})
    assert not is_orchestrator_entry({"url": "https://x.example/mcp"})


def test_import_after_install_returns_only_the_users_own_servers(tmp_path: Path) -> None:
    path = _write(tmp_path, {"mcpServers": {"git": CLAUDE_DESKTOP["mcpServers"]["git"]}})
    install("claude-desktop", name="my-echelon", path=path)
    assert list(import_workers(path)) == ["git"]


def test_import_reads_a_vscode_servers_map_and_ignores_host_metadata(tmp_path: Path) -> None:
    config = {
        "inputs": [{"type": "promptString", "id": "api-key", "password": True}],
        "servers": {
            "memory": {
                "type": "stdio",
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-memory"],
                "gallery": "https://api.mcp.github.com/v0/servers/123",
                "version": "0.6.2",
            },
            "docs": {"type": "http", "url": "http://127.0.0.1:8765/mcp"},
            "github": {
                "type": "http",
                "url": "https://api.githubcopilot.com/mcp/",
                "headers": {"Authorization": "Bearer ${input:api-key}"},
            },
            "workspace": {"command": "node", "args": ["${workspaceFolder}/server.js"]},
            "legacy": {"type": "sse", "url": "http://localhost:3000/sse"},
            "off": {"command": "uvx", "args": ["mcp-server-time"], "disabled": True},
        },
    }
    report = read_workers(_write(tmp_path, config, "mcp.json"))
    assert report.servers_key == "servers"
    assert list(report.workers) == ["memory", "docs", "off"]
    assert report.workers["memory"] == Target(
        type="stdio", command="npx", args=["-y", "@modelcontextprotocol/server-memory"]
    )
    assert report.workers["docs"].kind == "http"
    assert report.workers["off"].disabled
    assert "${input:api-key}" in report.skipped["github"]
    assert "${workspaceFolder}" in report.skipped["workspace"]
    assert "SSE" in report.skipped["legacy"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"command": 7}, "mcpServers.git: 'command' must be a string, got a number"),
        ({"command": "uvx", "args": "mcp-server-git"}, "mcpServers.git: 'args' must be a list of strings"),
        ({"command": "uvx", "args": ["--port", 1]}, "mcpServers.git: 'args' must be a list of strings"),
        (
            {"command": "uvx", "env": {"PORT": 8080}},
            "mcpServers.git: 'env' must be an object of string values",
        ),
        ({"command": "uvx", "envFile": "/x/.env"}, "mcpServers.git: unsupported key 'envFile' (copy"),
        ({"command": "uvx", "disabled": "no"}, "mcpServers.git: 'disabled' must be true or false"),
        ({"args": ["mcp-server-git"]}, "mcpServers.git: a target needs 'command' (stdio) or 'url'"),
        (
            {"command": "uvx", "url": "http://h/mcp"},
            "mcpServers.git: a target takes one of 'command' or 'url'",
        ),
        ({"url": "ftp://h/mcp"}, "mcpServers.git: url must start with http:// or https://"),
        (["uvx", "mcp-server-git"], "mcpServers.git: an entry must be a JSON object, got list"),
    ],
)
def test_a_malformed_entry_is_an_error_naming_the_file_and_the_key(
    tmp_path: Path, entry: Any, message: str
) -> None:
    path = _write(tmp_path, {"mcpServers": {"fs": {"command": "npx"}, "git": entry}})
    with pytest.raises(ConfigFileError) as info:
        import_workers(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_null_fields_count_as_absent(tmp_path: Path) -> None:
    path = _write(
        tmp_path, {"mcpServers": {"git": {"command": "uvx", "args": None, "env": None, "cwd": None}}}
    )
    assert import_workers(path) == {"git": Target(command="uvx")}


def test_unreadable_files_are_errors_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigFileError, match=r"nope\.json: no such file"):
        import_workers(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"mcpServers": {"git": {"command": "uvx",}}}')
    with pytest.raises(ConfigFileError, match=r"broken\.json: line 1, column 42: invalid JSON"):
        import_workers(broken)
    with pytest.raises(ConfigFileError, match=r"no 'mcpServers' \(Claude Desktop, Cursor\) or 'servers'"):
        import_workers(_write(tmp_path, {"globalShortcut": "Alt+Space"}))


def test_an_empty_servers_map_imports_no_workers(tmp_path: Path) -> None:
    assert import_workers(_write(tmp_path, {"mcpServers": {}})) == {}
    assert to_toml_workers({}) == ""


def test_toml_workers_round_trip_to_the_same_targets(tmp_path: Path) -> None:
    workers = import_workers(_write(tmp_path, CLAUDE_DESKTOP))
    workers["my.server"] = Target(command="python", args=["-m", "x"], cwd="/srv/x", disabled=True)
    text = to_toml_workers(workers)
    assert "[workers.git]\n" in text and '[workers."my.server"]\n' in text
    assert "[workers.git.env]\n" in text
    parsed = tomllib.loads(text)["workers"]
    assert {name: Target.model_validate(table) for name, table in parsed.items()} == workers
    # Defaults are left out so the tables stay as short as the JSON they came from.
    assert parsed["filesystem"] == CLAUDE_DESKTOP["mcpServers"]["filesystem"]


def test_toml_refuses_an_in_process_worker() -> None:
    with pytest.raises(ValueError, match="'inproc' is an in-process server"):
        to_toml_workers({"inproc": Target.in_process(object())})


def test_imported_tables_load_as_the_workers_of_an_echelon_toml(tmp_path: Path) -> None:
    workers = import_workers(_write(tmp_path, CLAUDE_DESKTOP))
    hierarchy = '[managers.files]\ndescription = "Files and history"\nworkers = ["filesystem", "git"]\n\n'
    config = parse_config(tomllib.loads(hierarchy + to_toml_workers(workers)), file="echelon.toml")
    assert {
        name: Target.model_validate(w.model_dump(exclude={"description", "tools"}))
        for name, w in config.workers.items()
    } == workers
