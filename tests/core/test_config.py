import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from echelon.examples import demo_config_path, demo_dir
from echelon.servers.core.config import (
    ConfigError,
    load_config,
    parse_config,
    prepare_function,
    resolve_config_path,
    run_prepare,
)
from echelon.servers.core.testing import ScriptedModel
from echelon.servers.orchestrator.server import build_server as build_orchestrator

MINIMAL = """
[managers.numbers]
description = "Arithmetic"
workers = ["calc"]

[workers.calc]
command = "calc-server"
"""
PREPARED: list[str] = []


def record_prepare() -> None:
    """A ``prepare`` callable for the tests below."""
    PREPARED.append("called")


NOT_CALLABLE = 42


def write(path: Path, text: str = MINIMAL) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_given_path_wins_then_echelon_config_then_the_nearest_echelon_toml_then_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write(tmp_path / "project" / "echelon.toml")
    inner = tmp_path / "project" / "src" / "deep"
    inner.mkdir(parents=True)
    from_env = write(tmp_path / "env.toml")
    given = write(tmp_path / "given.toml")
    fallback = tmp_path / "demo.toml"

    assert resolve_config_path(None, fallback=fallback, cwd=inner) == project
    assert resolve_config_path(None, fallback=fallback, cwd=tmp_path) == fallback
    monkeypatch.setenv("ECHELON_CONFIG", str(from_env))
    assert resolve_config_path(None, fallback=fallback, cwd=inner) == from_env
    assert resolve_config_path(given, fallback=fallback, cwd=inner) == given


def test_no_config_and_no_fallback_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no echelon.toml found in .*: pass --config FILE, set ECHELON_CONFIG"
    ):
        resolve_config_path(None, cwd=tmp_path)


def test_the_demo_config_points_its_workers_where_demo_dir_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECHELON_DEMO_DIR")
    monkeypatch.setenv("ECHELON_DATA_DIR", "/srv/echelon-data")
    config = load_config(demo_config_path())
    assert demo_dir() == Path("/srv/echelon-data/demo")
    assert str(demo_dir() / "aurora_trail_gear.db") in config.workers["sql"].args
    monkeypatch.setenv("ECHELON_DEMO_DIR", "/tmp/my-demo")
    config = load_config(demo_config_path())
    assert demo_dir() == Path("/tmp/my-demo")
    assert "/tmp/my-demo/documents" in config.workers["docs"].args


def test_echelon_data_dir_is_a_builtin_that_the_environment_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = {**_minimal(), "workers": {"calc": {"command": "calc", "args": ["${ECHELON_DATA_DIR}/x"]}}}
    monkeypatch.delenv("ECHELON_DATA_DIR", raising=False)
    assert parse_config(data).workers["calc"].args[0].endswith("echelon/x")
    monkeypatch.setenv("ECHELON_DATA_DIR", "/d")
    assert parse_config(data).workers["calc"].args == ["/d/x"]


def _minimal() -> dict[str, object]:
    return {"managers": {"numbers": {"description": "Arithmetic", "workers": ["calc"]}}}


def test_an_unset_variable_is_reported_with_its_key() -> None:
    data = {**_minimal(), "workers": {"calc": {"command": "calc", "args": ["${NOT_SET_ANYWHERE}"]}}}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, file="x.toml")
    assert str(caught.value).startswith("x.toml: workers.calc.args[0]: ${NOT_SET_ANYWHERE} is not set")


def test_a_prepare_that_is_not_module_colon_function_is_a_config_problem() -> None:
    data = {**_minimal(), "prepare": "no_colon", "workers": {"calc": {"command": "calc"}}}
    with pytest.raises(ConfigError, match=r"x.toml: prepare: 'no_colon' is not 'module:function'"):
        parse_config(data, file="x.toml")


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        ("no_such_module_anywhere:f", "prepare: cannot import 'no_such_module_anywhere'"),
        ("tests.core.test_config:missing", "prepare: module 'tests.core.test_config' has no 'missing'"),
        ("tests.core.test_config:NOT_CALLABLE", "prepare: 'tests.core.test_config:NOT_CALLABLE' is a int"),
    ],
)
def test_a_prepare_that_cannot_be_imported_or_called_is_named_with_why(prepare: str, message: str) -> None:
    config = parse_config({**_minimal(), "prepare": prepare, "workers": {"calc": {"command": "calc"}}})
    with pytest.raises(ConfigError, match=message):
        prepare_function(config)


@pytest.mark.anyio
async def test_the_orchestrator_calls_prepare_once_before_it_serves() -> None:
    PREPARED.clear()
    config = parse_config(
        {
            **_minimal(),
            "prepare": "tests.core.test_config:record_prepare",
            "workers": {"calc": {"command": "c"}},
        }
    )
    run_prepare(parse_config({**_minimal(), "workers": {"calc": {"command": "c"}}}))  # none named: nothing
    assert PREPARED == []
    with anyio.fail_after(30):
        async with Client(build_orchestrator(config, model=ScriptedModel([]))) as client:
            assert PREPARED == ["called"]
            await client.list_tools()
    assert PREPARED == ["called"]


def test_the_core_and_the_servers_do_not_import_the_demo() -> None:
    code = (
        "import sys, echelon.servers.core.config, echelon.servers.orchestrator.server, "
        "echelon.servers.managers.server; print('echelon.examples' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def config_with(manager: dict[str, object], **top: object) -> dict[str, object]:
    return {
        "managers": {"numbers": {"description": "Arithmetic", "workers": ["calc"], **manager}},
        "workers": {"calc": {"command": "calc-server"}},
        **top,
    }


def test_a_manager_declared_with_url_gets_its_headers_expanded_in_its_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NUMBERS_TOKEN", "s3cret-s3cret-s3cret")
    data = config_with(
        {"url": "https://numbers.example.test/mcp", "headers": {"Authorization": "Bearer ${NUMBERS_TOKEN}"}}
    )
    config = parse_config(data)
    target = config.manager_target("numbers")
    assert target.url == "https://numbers.example.test/mcp"
    assert target.headers == {"Authorization": "Bearer s3cret-s3cret-s3cret"}
    assert "s3cret" not in repr(config)
    assert "s3cret" not in repr(target)


def test_headers_on_a_manager_without_url_are_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_with({"headers": {"Authorization": "Bearer x"}}), file="e.toml")
    assert str(caught.value) == "e.toml: managers.numbers.headers: headers apply only to a manager with 'url'"


def test_an_unset_variable_in_a_header_is_reported_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBERS_TOKEN", raising=False)
    data = config_with(
        {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer ${NUMBERS_TOKEN}"}}
    )
    with pytest.raises(
        ConfigError, match=r"managers\.numbers\.headers\.Authorization: \$\{NUMBERS_TOKEN\} is not set"
    ):
        parse_config(data, file="e.toml")


def test_the_http_table_takes_a_token_file_and_allowed_hosts_and_origins_and_no_other_key() -> None:
    config = parse_config(
        config_with(
            {},
            http={
                "auth_token_file": "tokens",
                "allowed_hosts": ["api.example.test"],
                "allowed_origins": ["https://app.example.test"],
            },
        )
    )
    assert config.http.auth_token_file == Path("tokens")
    assert config.http.allowed_hosts == ["api.example.test"]
    assert config.http.allowed_origins == ["https://app.example.test"]
    assert parse_config(config_with({})).http.auth_token_file is None
    with pytest.raises(ConfigError, match=r"http\.token: unknown key"):
        parse_config(config_with({}, http={"token": "plain"}), file="e.toml")
