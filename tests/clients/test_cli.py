"""The ``echelon`` command line, in-process: config discovery, --config placement, install/uninstall."""

import json
from pathlib import Path

import pytest

from echelon.clients._commands import request_limits
from echelon.clients.cli import _parser, main

MINIMAL = """
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = "calc-server"
"""


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert isinstance(exited.value.code, int)
    return exited.value.code


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch home for host config files (Claude Desktop's lives under $XDG_CONFIG_HOME on Linux)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    return tmp_path / "home"


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "x.toml", "ask", "hi"],
        ["ask", "--config", "x.toml", "hi"],
        ["ask", "hi", "--config", "x.toml"],
    ],
)
def test_config_is_accepted_before_and_after_the_subcommand(argv: list[str]) -> None:
    assert _parser().parse_args(argv).config == "x.toml"


def test_an_echelon_toml_in_a_parent_folder_is_found_before_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "echelon.toml").write_text(MINIMAL)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert run(["config", "check"]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'echelon.toml'}: ok (1 managers, 1 workers)\n"


def test_config_check_names_a_prepare_callable_that_cannot_be_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "echelon.toml"
    config.write_text('prepare = "no_such_package.data:prepare"\n' + MINIMAL)
    assert run(["config", "check", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"{config}: prepare: cannot import 'no_such_package.data'" in err


def test_install_writes_the_env_given_and_names_the_file_but_no_value(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "echelon.toml"
    config.write_text(MINIMAL)
    env_file = tmp_path / "keys.env"
    env_file.write_text("# my keys\nexport OPENAI_API_KEY='sk-openai-secret'\nANTHROPIC_API_KEY=sk-old\n")
    argv = ["install", "claude-desktop", "--config", str(config), "--env-file", str(env_file)]
    assert run([*argv, "--env", "ANTHROPIC_API_KEY=sk-ant-secret"]) == 0

    written = home / ".config" / "Claude" / "claude_desktop_config.json"
    entry = json.loads(written.read_text())["mcpServers"]["echelon"]
    assert entry["env"] == {"OPENAI_API_KEY": "sk-openai-secret", "ANTHROPIC_API_KEY": "sk-ant-secret"}
    assert entry["args"][-2:] == ["--config", str(config)]
    out = capsys.readouterr().out
    assert f"added 'echelon' in {written}" in out
    assert "ANTHROPIC_API_KEY, OPENAI_API_KEY" in out
    assert "secret" not in out


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("ANTHROPIC_API_KEY", "--env 'ANTHROPIC_API_KEY': write KEY=VALUE"),
        ("MY-KEY=1", "'MY-KEY' is not a variable name"),
    ],
)
def test_install_refuses_an_env_that_is_not_key_equals_value(
    env: str, message: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["install", "claude-desktop", "--env", env]) == 2
    assert message in capsys.readouterr().err
    assert not (home / ".config" / "Claude" / "claude_desktop_config.json").exists()


def test_uninstall_removes_the_entry_install_added(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["install", "cursor"]) == 0
    written = home / ".cursor" / "mcp.json"
    assert "echelon" in json.loads(written.read_text())["mcpServers"]
    capsys.readouterr()
    assert run(["uninstall", "cursor"]) == 0
    assert json.loads(written.read_text())["mcpServers"] == {}
    assert f"removed 'echelon' from {written}" in capsys.readouterr().out
    assert run(["uninstall", "cursor"]) == 0
    assert "has no 'echelon' entry; nothing changed" in capsys.readouterr().out


def test_ask_takes_limits_by_name_and_refuses_a_name_it_does_not_know(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = _parser().parse_args(
        ["ask", "hi", "--limit", "deadline_seconds=300", "--limit", "max_tool_calls=5"]
    )
    assert args.limits == [("deadline_seconds", 300.0), ("max_tool_calls", 5.0)]
    with pytest.raises(SystemExit):
        _parser().parse_args(["ask", "hi", "--limit", "timeout=3"])
    err = capsys.readouterr().err
    assert "'timeout=3': give NAME=VALUE, NAME one of max_model_calls, max_tokens" in err


def test_a_limit_s_value_is_checked_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "echelon.toml"
    config.write_text(MINIMAL)
    assert request_limits([("max_model_calls", 5.0), ("deadline_seconds", 2.5)]) == {
        "max_model_calls": 5,
        "deadline_seconds": 2.5,
    }
    # No orchestrator is started: the error comes from the limits themselves (MINIMAL's worker does not exist).
    assert run(["ask", "--config", str(config), "hi", "--limit", "max_model_calls=0"]) == 2
    err = capsys.readouterr().err
    assert err == "echelon: error: --limit: max_model_calls: Input should be greater than or equal to 1\n"
