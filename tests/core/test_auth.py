"""Token files, minting and the token verifier, and which Host/Origin values a server accepts by default."""

from pathlib import Path

import pytest

from echelon.servers.core._auth import (
    AuthConfigError,
    StaticTokenVerifier,
    env_token,
    hash_line,
    mint_token,
    read_token_file,
)
from echelon.servers.core._http import HttpSecurity, is_loopback

pytestmark = pytest.mark.anyio


def test_a_minted_token_is_random_and_its_line_is_its_sha256_with_the_name() -> None:
    first, second = mint_token(), mint_token()
    assert first != second
    assert len(first) >= 43
    line = hash_line(first, "alice")
    assert line.startswith("sha256:")
    assert line.endswith(" alice")
    assert first not in line


async def test_a_token_file_accepts_exactly_the_tokens_hashed_in_it(tmp_path: Path) -> None:
    alice, ci, stranger = mint_token(), mint_token(), mint_token()
    file = tmp_path / "tokens"
    file.write_text(
        f"# who may call the orchestrator\n\n{hash_line(alice, 'alice')}   # laptop\n{hash_line(ci)}\n"
    )
    verifier = StaticTokenVerifier(read_token_file(file))
    accepted = await verifier.verify_token(alice)
    assert accepted is not None
    assert accepted.client_id == "alice"
    assert accepted.token == "alice"  # the name stands in for the secret in the request context
    unnamed = await verifier.verify_token(ci)
    assert unnamed is not None
    assert unnamed.client_id.startswith("sha256:")
    assert ci not in unnamed.model_dump_json()
    assert await verifier.verify_token(stranger) is None
    assert await verifier.verify_token("") is None


def test_a_plain_token_in_the_token_file_is_reported_by_line_number_without_its_content(
    tmp_path: Path,
) -> None:
    token = mint_token()
    file = tmp_path / "tokens"
    file.write_text(f"{hash_line(mint_token())}\n{token}\nsha256:abc\n")
    with pytest.raises(AuthConfigError) as caught:
        read_token_file(file)
    message = str(caught.value)
    assert f"{file}:2:" in message
    assert f"{file}:3:" in message
    assert "echelon token new" in message
    assert token not in message


def test_a_missing_or_empty_token_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(AuthConfigError, match=r"does not exist.*echelon token new"):
        read_token_file(tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.write_text("# nothing yet\n")
    with pytest.raises(AuthConfigError, match="lists no token"):
        read_token_file(empty)


def test_a_duplicate_hash_is_reported(tmp_path: Path) -> None:
    token = mint_token()
    file = tmp_path / "tokens"
    file.write_text(f"{hash_line(token, 'a')}\n{hash_line(token, 'b')}\n")
    with pytest.raises(AuthConfigError, match=r"tokens:2: the same token hash is listed twice"):
        read_token_file(file)


def test_a_short_environment_token_is_refused_without_echoing_it() -> None:
    assert env_token(None) is None
    with pytest.raises(AuthConfigError) as caught:
        env_token("secret")
    assert "at least 16" in str(caught.value)
    assert "secret" not in str(caught.value)
    entry = env_token("a-long-enough-shared-token")
    assert entry is not None
    assert entry.name == "ECHELON_AUTH_TOKEN"


def test_loopback_addresses_are_told_from_the_rest() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))


def test_default_hosts_are_the_bind_address_and_loopback_names_and_extras_match_any_port() -> None:
    security = HttpSecurity.for_bind(
        "0.0.0.0",
        extra_hosts=["api.example.test", "other.test:8443"],
        extra_origins=["https://app.example.test"],
    )
    assert security.allowed_hosts == [
        "0.0.0.0:*",
        "127.0.0.1:*",
        "localhost:*",
        "[::1]:*",
        "api.example.test",
        "api.example.test:*",
        "other.test:8443",
    ]
    assert "https://app.example.test" in security.allowed_origins
    assert "https://app.example.test:*" in security.allowed_origins
    assert "http://localhost:*" in security.allowed_origins
    assert HttpSecurity.for_bind("::").allowed_hosts[0] == "[::]:*"
