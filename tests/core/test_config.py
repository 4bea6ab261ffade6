"""The hierarchy file's ``[http]`` table and the ``headers`` of a manager declared with ``url``."""

from pathlib import Path

import pytest

from echelon.servers.core.config import ConfigError, parse_config


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
