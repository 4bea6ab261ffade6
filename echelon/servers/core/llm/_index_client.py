"""The HTTP client that fetches model wheels from the package index, and the wording of its network failures.

Trust: httpx alone trusts certifi's roots unless ``SSL_CERT_FILE`` is set (and ignores ``SSL_CERT_DIR`` when both
are), so a company CA installed in the system store is not trusted, and a process started without the variable
fails. Here the CA is chosen explicitly: ``SSL_CERT_FILE`` (else ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) and/or
``SSL_CERT_DIR`` when set, exactly as OpenSSL, curl and uv read them; otherwise the system store plus certifi's
roots. Proxies: ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` (either case) through httpx's
``trust_env``; the failure messages name the proxy and the variable it came from.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .base import ModelError

if TYPE_CHECKING:
    import httpx

DEFAULT_INDEX_URL = "https://pypi.org/simple"
INDEX_VARIABLES = ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "PIP_INDEX_URL")
CA_FILE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class IndexUnreachable(ModelError):
    """The package index cannot be reached; the message says why and which variable fixes it."""


@dataclass(frozen=True)
class Index:
    """The package index in use and where that choice came from (a variable, or the default)."""

    url: str
    source: str

    def __str__(self) -> str:
        return f"{self.url} ({self.source})"


def index_from_env(index_url: str | None = None) -> Index:
    """``index_url`` if given, else ``UV_INDEX_URL``, ``UV_DEFAULT_INDEX``, ``PIP_INDEX_URL``, else PyPI."""
    if index_url:
        return Index(index_url, "given")
    for var in INDEX_VARIABLES:
        if value := os.environ.get(var, "").strip():
            return Index(value, f"from {var}")
    return Index(DEFAULT_INDEX_URL, "the default; UV_INDEX_URL or PIP_INDEX_URL choose another")


@dataclass(frozen=True)
class Trust:
    """The CA certificates a download trusts, and how to say so."""

    context: ssl.SSLContext
    description: str
    variable: str | None


def tls_trust() -> Trust:
    """The TLS context for the index, from the CA variables or the system store plus certifi."""
    cafile_var = next((v for v in CA_FILE_VARIABLES if os.environ.get(v, "").strip()), None)
    cafile = os.environ[cafile_var].strip() if cafile_var else None
    capath = os.environ.get("SSL_CERT_DIR", "").strip() or None
    if cafile_var and cafile and not os.path.isfile(cafile):
        raise IndexUnreachable(
            f"{cafile_var}={cafile} names no file: set it to a CA bundle (PEM) or unset it"
        )
    if cafile or capath:
        named = [f"{cafile_var}={cafile}"] if cafile else []
        named += [f"SSL_CERT_DIR={capath}"] if capath else []
        try:
            context = ssl.create_default_context(cafile=cafile, capath=capath)
        except ssl.SSLError as exc:
            raise IndexUnreachable(f"{' and '.join(named)}: not a usable CA bundle ({exc})") from exc
        return Trust(context, " and ".join(named), cafile_var or "SSL_CERT_DIR")
    import certifi

    context = ssl.create_default_context()  # the system store (OpenSSL's default paths; Windows' store)
    context.load_verify_locations(certifi.where())
    return Trust(context, "the system's CA store and certifi's (SSL_CERT_FILE is not set)", None)


def index_client(timeout: float = 60.0) -> tuple[httpx.Client, Trust]:
    """An HTTP client for the package index that honours the CA and proxy variables."""
    import httpx  # loaded when the index is used, not by every server that imports the providers

    trust = tls_trust()
    try:
        client = httpx.Client(
            timeout=httpx.Timeout(timeout), follow_redirects=True, verify=trust.context, trust_env=True
        )
    except ImportError as exc:  # a socks:// proxy without httpx's socks support
        proxy = proxy_for(DEFAULT_INDEX_URL)
        raise IndexUnreachable(
            f"the proxy {proxy[1] if proxy else ''} ({proxy[0] if proxy else 'ALL_PROXY'}) needs SOCKS support: "
            f"{exc}; use an http:// proxy or install httpx[socks]"
        ) from exc
    return client, trust


def proxy_for(url: str) -> tuple[str, str] | None:
    """(variable, proxy URL) the environment routes ``url`` through, or None (no proxy, or NO_PROXY matches)."""
    parts = urlsplit(url)
    proxies = (
        urllib.request.getproxies()
    )  # what httpx routes by (the environment; system settings on macOS/Windows)
    bypass = urllib.request.proxy_bypass_environment  # pyright: ignore[reportAttributeAccessIssue] - not in typeshed
    if parts.hostname and bypass(parts.hostname, proxies):
        return None
    for scheme in (parts.scheme, "all"):
        if scheme in proxies:
            variable = f"{scheme}_proxy"
            named = next((v for v in (variable.upper(), variable) if os.environ.get(v)), variable.upper())
            return named, proxies[scheme]
    return None


def _tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def network_error(exc: httpx.HTTPError, url: str, index: Index, trust: Trust) -> IndexUnreachable:
    """Why ``url`` on ``index`` could not be fetched, with the variable that fixes it."""
    import httpx

    what = f"cannot reach the package index {index}: fetching {url} failed"
    if _tls_failure(exc):
        if trust.variable:
            fix = (
                f"The download trusts {trust.description}, which does not cover this server's certificate: "
                f"set {trust.variable} to the CA bundle (PEM) that signs it"
            )
        else:
            fix = (
                f"The download trusts {trust.description}. If this network signs TLS with its own CA (a company "
                "proxy or mirror does), set SSL_CERT_FILE to that CA bundle (a PEM file; SSL_CERT_DIR for a "
                "directory of them): the index is reached through it"
            )
        return IndexUnreachable(f"{what}: the TLS certificate is not trusted ({exc}). {fix}.")
    proxy = proxy_for(url)
    if proxy is not None:
        variable, address = proxy
        return IndexUnreachable(
            f"{what} through the proxy {address} (from {variable}): {exc}. Check {variable}, or add the index's "
            "host to NO_PROXY if it must be reached directly."
        )
    if isinstance(exc, httpx.TimeoutException | httpx.ConnectError):
        return IndexUnreachable(
            f"{what}: {exc or type(exc).__name__}. If this machine reaches the internet through a proxy, set "
            "HTTPS_PROXY (and NO_PROXY for hosts reached directly); for a mirror, set UV_INDEX_URL or "
            "PIP_INDEX_URL."
        )
    return IndexUnreachable(f"{what}: {type(exc).__name__}: {exc}")
