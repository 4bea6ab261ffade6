"""Installing the orchestrator into Claude Desktop, VS Code and Cursor configs under a temporary home."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from echelon.clients.install import (
    HOSTS,
    ConfigFileError,
    Host,
    config_path,
    install,
    orchestrator_entry,
    uninstall,
)

ENTRY = {
    "command": "/opt/echelon/.venv/bin/python",
    "args": ["-m", "echelon.servers.orchestrator"],
    "env": {},
}

# A Claude Desktop config as users have them: app settings next to the servers.
DESKTOP_CONFIG: dict[str, Any] = {
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
        "git": {"command": "uvx", "args": ["mcp-server-git", "--repository", "/Users/ana/src/app"]},
    },
    "preferences": {"quickEntryDictationShortcut": "capslock", "menuBarEnabled": False, "ünïcode": "☃"},
}


def _servers_key(host: Host) -> str:
    return "servers" if host == "vscode" else "mcpServers"


def _write_json(path: Path, data: dict[str, Any], indent: int = 2) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    return path.read_bytes()


def _existing_config(host: Host) -> dict[str, Any]:
    """DESKTOP_CONFIG with its servers under the host's key."""
    config = dict(DESKTOP_CONFIG)
    config[_servers_key(host)] = config.pop("mcpServers")
    return {k: config[k] for k in ("globalShortcut", _servers_key(host), "preferences")}


def _backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.bak-*"))


@pytest.mark.parametrize(
    ("host", "platform", "expected"),
    [
        ("claude-desktop", "darwin", "home/Library/Application Support/Claude/claude_desktop_config.json"),
        ("claude-desktop", "win32", "home/AppData/Roaming/Claude/claude_desktop_config.json"),
        ("claude-desktop", "linux", "home/.config/Claude/claude_desktop_config.json"),
        ("vscode", "darwin", "home/Library/Application Support/Code/User/mcp.json"),
        ("vscode", "win32", "home/AppData/Roaming/Code/User/mcp.json"),
        ("vscode", "linux", "home/.config/Code/User/mcp.json"),
        ("cursor", "darwin", "home/.cursor/mcp.json"),
        ("cursor", "win32", "home/.cursor/mcp.json"),
        ("cursor", "linux", "home/.cursor/mcp.json"),
    ],
)
def test_config_path_is_each_hosts_real_user_config_location(
    tmp_path: Path, host: Host, platform: str, expected: str
) -> None:
    env = {"APPDATA": str(tmp_path / "home" / "AppData" / "Roaming")} if platform == "win32" else {}
    assert config_path(host, platform=platform, home=tmp_path / "home", env=env) == tmp_path / expected


def test_config_path_on_windows_uses_appdata_and_falls_back_when_unset(tmp_path: Path) -> None:
    env = {"APPDATA": str(tmp_path / "Roaming")}
    got = config_path("claude-desktop", platform="win32", home=tmp_path / "home", env=env)
    assert got == tmp_path / "Roaming" / "Claude" / "claude_desktop_config.json"
    got = config_path("vscode", platform="win32", home=tmp_path / "home", env={})
    assert got == tmp_path / "home" / "AppData" / "Roaming" / "Code" / "User" / "mcp.json"


def test_config_path_on_linux_respects_an_absolute_xdg_config_home_only(tmp_path: Path) -> None:
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    got = config_path("claude-desktop", platform="linux", home=tmp_path, env=xdg)
    assert got == tmp_path / "xdg" / "Claude" / "claude_desktop_config.json"
    assert (
        config_path("vscode", platform="linux", home=tmp_path, env=xdg) == tmp_path / "xdg/Code/User/mcp.json"
    )
    # Cursor keeps its config in the home directory whatever XDG says.
    assert (
        config_path("cursor", platform="linux", home=tmp_path, env=xdg) == tmp_path / ".cursor" / "mcp.json"
    )
    relative = {"XDG_CONFIG_HOME": "relative/dir"}
    got = config_path("claude-desktop", platform="linux", home=tmp_path, env=relative)
    assert got == tmp_path / ".config" / "Claude" / "claude_desktop_config.json"


def test_config_path_rejects_an_unknown_host(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown host 'zed'.*claude-desktop, vscode, cursor"):
        config_path("zed", home=tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", HOSTS)
def test_fresh_install_creates_the_file_and_its_directories(tmp_path: Path, host: Host) -> None:
    path = config_path(host, platform="darwin", home=tmp_path, env={})
    result = install(host, entry=ENTRY, path=path)
    assert result.created and result.written and not result.replaced and result.backup is None
    written = json.loads(path.read_text(encoding="utf-8"))
    expected_entry = {"type": "stdio", **ENTRY} if host == "vscode" else ENTRY
    assert written == {_servers_key(host): {"echelon": expected_entry}}
    if host == "vscode":
        assert next(iter(written["servers"]["echelon"])) == "type"
    assert path.read_text(encoding="utf-8") == result.text
    assert result.text == json.dumps(written, indent=2) + "\n"
    assert _backups(path) == []


@pytest.mark.parametrize("host", HOSTS)
def test_install_keeps_every_other_server_and_top_level_key_in_order(tmp_path: Path, host: Host) -> None:
    path = config_path(host, platform="linux", home=tmp_path, env={})
    before = _existing_config(host)
    _write_json(path, before, indent=4)
    result = install(host, entry=ENTRY, path=path)
    after = json.loads(path.read_text(encoding="utf-8"))
    key = _servers_key(host)
    assert list(after) == list(before)
    assert after["globalShortcut"] == before["globalShortcut"]
    assert after["preferences"] == before["preferences"]
    assert list(after[key]) == ["filesystem", "git", "echelon"]
    for name in ("filesystem", "git"):
        assert after[key][name] == before[key][name]
    assert not result.created and not result.replaced and result.changed
    assert result.config == after


def test_install_adds_the_servers_map_when_the_file_has_none(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    _write_json(path, {"globalShortcut": "Alt+Space"})
    install("claude-desktop", entry=ENTRY, path=path)
    assert json.loads(path.read_text()) == {"globalShortcut": "Alt+Space", "mcpServers": {"echelon": ENTRY}}


@pytest.mark.parametrize("host", HOSTS)
def test_reinstall_replaces_only_the_echelon_entry_in_place(tmp_path: Path, host: Host) -> None:
    path = tmp_path / "config.json"
    before = _existing_config(host)
    key = _servers_key(host)
    before[key] = {
        "filesystem": before[key]["filesystem"],
        "echelon": {"command": "old"},
        "git": before[key]["git"],
    }
    _write_json(path, before)
    new_entry = orchestrator_entry(python="/opt/py/bin/python", model="anthropic:claude-sonnet-4-5")
    result = install(host, entry=new_entry, path=path)
    after = json.loads(path.read_text())
    assert result.replaced and not result.created
    assert list(after[key]) == ["filesystem", "echelon", "git"]
    assert after[key]["echelon"]["args"] == [
        "-m",
        "echelon.servers.orchestrator",
        "--model",
        "anthropic:claude-sonnet-4-5",
    ]
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}
    assert after[key]["filesystem"] == before[key]["filesystem"]
    assert after[key]["git"] == before[key]["git"]


def test_changing_an_existing_file_first_writes_a_timestamped_backup_of_it(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = _write_json(path, DESKTOP_CONFIG, indent=4)
    result = install("claude-desktop", entry=ENTRY, path=path)
    assert result.backup is not None
    assert _backups(path) == [result.backup]
    assert result.backup.name.startswith("claude_desktop_config.json.bak-")
    stamp = result.backup.name.removeprefix("claude_desktop_config.json.bak-")
    assert len(stamp) == len("YYYYmmdd-HHMMSS") and stamp[8] == "-" and stamp.replace("-", "").isdigit()
    assert result.backup.read_bytes() == original
    # A second change in the same second gets its own backup instead of overwriting the first.
    second = install(
        "claude-desktop", entry={**ENTRY, "args": ["-m", "echelon.servers.orchestrator", "-v"]}, path=path
    )
    assert second.backup is not None and second.backup != result.backup
    assert second.backup.read_text() == result.text
    assert result.backup.read_bytes() == original


def test_reinstalling_the_identical_entry_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    install("cursor", entry=ENTRY, path=path)
    hand_formatted = json.dumps({"mcpServers": {"echelon": ENTRY}}, indent=8).encode()
    path.write_bytes(hand_formatted)
    result = install("cursor", entry=ENTRY, path=path)
    assert result.replaced and not result.changed and not result.written and result.backup is None
    assert path.read_bytes() == hand_formatted
    assert _backups(path) == []


@pytest.mark.parametrize("host", HOSTS)
def test_invalid_json_is_an_error_naming_file_and_position_and_the_file_is_untouched(
    tmp_path: Path, host: Host
) -> None:
    path = tmp_path / "config.json"
    broken = b'{\n  "mcpServers": {\n    // my servers\n    "git": {"command": "uvx"},\n  }\n}\n'
    path.write_bytes(broken)
    with pytest.raises(ConfigFileError) as info:
        install(host, entry=ENTRY, path=path)
    message = str(info.value)
    assert str(path) in message and "line 3, column 5" in message and "left unchanged" in message
    assert path.read_bytes() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no backup, no temp file


def test_a_top_level_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigFileError, match=r"config\.json: the top level must be a JSON object, got list"):
        install("claude-desktop", entry=ENTRY, path=path)
    path.write_text('{"mcpServers": ["git"]}')
    with pytest.raises(ConfigFileError, match="'mcpServers' must be a JSON object, got list"):
        install("claude-desktop", entry=ENTRY, path=path)
    assert path.read_text() == '{"mcpServers": ["git"]}'


def test_an_empty_file_is_treated_as_an_empty_config(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text("  \n")
    result = install("vscode", entry=ENTRY, path=path)
    assert not result.created and result.backup is not None and result.backup.read_text() == "  \n"
    assert json.loads(path.read_text()) == {"servers": {"echelon": {"type": "stdio", **ENTRY}}}


@pytest.mark.parametrize("host", HOSTS)
def test_dry_run_writes_nothing_and_returns_the_text_install_would_write(tmp_path: Path, host: Host) -> None:
    missing = config_path(host, platform="win32", home=tmp_path / "home", env={})
    preview = install(host, entry=ENTRY, path=missing, dry_run=True)
    assert not preview.written and preview.created
    assert not (tmp_path / "home").exists()

    path = tmp_path / "existing.json"
    original = _write_json(path, _existing_config(host), indent=4)
    preview = install(host, entry=ENTRY, path=path, dry_run=True)
    assert not preview.written and preview.changed and preview.backup is None
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.json"]
    real = install(host, entry=ENTRY, path=path)
    assert path.read_text(encoding="utf-8") == preview.text == real.text


def test_install_refuses_an_invalid_entry_and_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    original = _write_json(path, DESKTOP_CONFIG)
    with pytest.raises(ValueError, match=r"not a valid MCP server entry.*one of 'command' or 'url'"):
        install("cursor", entry={"command": "x", "url": "http://localhost:1/mcp"}, path=path)
    assert path.read_bytes() == original


def test_install_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    _write_json(path, DESKTOP_CONFIG)
    path.chmod(0o600)
    install("claude-desktop", entry=ENTRY, path=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform.startswith("win"), reason="symlinks need privileges on Windows")
def test_install_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude.json"
    _write_json(real, DESKTOP_CONFIG)
    link = tmp_path / "Claude" / "claude_desktop_config.json"
    link.parent.mkdir()
    link.symlink_to(real)
    install("claude-desktop", entry=ENTRY, path=link)
    assert link.is_symlink()
    assert json.loads(real.read_text())["mcpServers"]["echelon"] == ENTRY


@pytest.mark.parametrize("host", HOSTS)
def test_uninstall_removes_only_the_entry_and_backs_up_first(tmp_path: Path, host: Host) -> None:
    path = tmp_path / "config.json"
    before = _existing_config(host)
    _write_json(path, before)
    installed = install(host, entry=ENTRY, path=path)
    result = uninstall(host, path=path)
    assert result.removed and result.written
    assert json.loads(path.read_text()) == before
    assert result.backup is not None and result.backup.read_text() == installed.text


def test_uninstall_without_the_entry_or_the_file_writes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mcp.json"
    result = uninstall("cursor", path=missing)
    assert not result.removed and not result.written and not missing.parent.exists()

    path = tmp_path / "claude_desktop_config.json"
    original = _write_json(path, DESKTOP_CONFIG)
    result = uninstall("claude-desktop", name="echelon", path=path)
    assert not result.removed and not result.written and result.backup is None
    assert path.read_bytes() == original and _backups(path) == []


def test_uninstall_dry_run_previews_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    _write_json(path, {**DESKTOP_CONFIG, "mcpServers": {**DESKTOP_CONFIG["mcpServers"], "echelon": ENTRY}})
    original = path.read_bytes()
    result = uninstall("claude-desktop", path=path, dry_run=True)
    assert result.removed and not result.written and result.backup is None
    assert json.loads(result.text) == DESKTOP_CONFIG
    assert path.read_bytes() == original


def test_orchestrator_entry_uses_this_environments_absolute_python_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    entry = orchestrator_entry(config=Path("echelon.toml"), model="local")
    command = Path(entry["command"])
    assert command.is_absolute() and command.exists() and os.access(command, os.X_OK)
    # Not resolved: a virtualenv's python is a symlink, and its target lacks the venv's packages.
    assert entry["command"] == os.path.abspath(sys.executable)
    assert entry["args"] == [
        "-m",
        "echelon.servers.orchestrator",
        "--config",
        str(tmp_path / "echelon.toml"),
        "--model",
        "local",
    ]
    assert entry["env"] == {}
    assert orchestrator_entry()["args"] == ["-m", "echelon.servers.orchestrator"]


def test_the_entrys_python_finds_echelon_from_any_directory_with_an_empty_environment(tmp_path: Path) -> None:
    # Desktop hosts start servers with a minimal environment and an unknown cwd.
    entry = orchestrator_entry()
    done = subprocess.run(
        [entry["command"], "-c", "import echelon.servers.core.target, echelon.clients.install; print('ok')"],
        cwd=tmp_path,
        env={},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
