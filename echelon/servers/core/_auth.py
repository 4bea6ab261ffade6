"""Static bearer tokens for Streamable HTTP servers: the token file, minting, and the SDK token verifier.

A server never stores a plain token. ``echelon token new`` mints one (32 random bytes, URL-safe) and prints the
line to put in the server's token file::

    # echelon token file: one hashed token per line, an optional name after it; '#' starts a comment
    sha256:3f1c...e9a0  alice-laptop
    sha256:77ab...01d2  ci

Tokens are random, not passwords, so one SHA-256 is enough (no slow hash); a presented token is hashed and
compared with every stored hash by ``hmac.compare_digest``, so timing does not tell how much of it matched.
``ECHELON_AUTH_TOKEN`` may give one plain token instead (for a single host or a test); it is hashed on load.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from pathlib import Path

from mcp.server.auth.provider import AccessToken
from pydantic import BaseModel, ConfigDict, Field

TOKEN_ENV = "ECHELON_AUTH_TOKEN"
MIN_TOKEN_CHARS = 16
_LINE = re.compile(r"sha256:(?P<hex>[0-9a-fA-F]{64})(?:\s+(?P<name>[A-Za-z0-9_.@:+-]{1,64}))?")
_NAME = re.compile(r"[A-Za-z0-9_.@:+-]{1,64}")


class AuthConfigError(ValueError):
    """The token configuration is unusable; the message says what and how to fix it (never a token)."""


class HashedToken(BaseModel):
    """One accepted token, as its SHA-256 digest and the name the server logs for it."""

    model_config = ConfigDict(frozen=True)

    digest: bytes = Field(min_length=32, max_length=32, repr=False)
    name: str

    @property
    def line(self) -> str:
        """The token file line for this token."""
        return f"sha256:{self.digest.hex()} {self.name}"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def mint_token() -> str:
    """A new random token: 32 bytes from ``secrets``, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_line(token: str, name: str | None = None) -> str:
    """The token file line that accepts ``token`` (``sha256:<hex> [name]``)."""
    if name is not None and not _NAME.fullmatch(name):
        raise AuthConfigError(
            f"token name {name!r} is not 1-64 characters of letters, digits and _ . @ : + -"
        )
    digest = _digest(token).hex()
    return f"sha256:{digest} {name}" if name else f"sha256:{digest}"


def _default_name(digest: bytes) -> str:
    # A prefix of the hash of a 256-bit random token says nothing about the token; it tells entries apart in logs.
    return f"sha256:{digest.hex()[:12]}"


def read_token_file(path: Path) -> list[HashedToken]:
    """Parse a token file; every malformed line is reported by number, never by content (it may be a token)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthConfigError(
            f"token file {path} does not exist (make one with: echelon token new --file {path})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"token file {path} cannot be read: {type(exc).__name__}") from None
    tokens: list[HashedToken] = []
    problems: list[str] = []
    seen: set[bytes] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            problems.append(
                f"{path}:{number}: not 'sha256:<64 hex digits> [name]' (a plain token must not be stored here; "
                "`echelon token new` prints the line to use)"
            )
            continue
        digest = bytes.fromhex(match["hex"])
        if digest in seen:
            problems.append(f"{path}:{number}: the same token hash is listed twice")
            continue
        seen.add(digest)
        tokens.append(HashedToken(digest=digest, name=match["name"] or _default_name(digest)))
    if problems:
        raise AuthConfigError("\n".join(problems))
    if not tokens:
        raise AuthConfigError(
            f"token file {path} lists no token (add a line from: echelon token new --file {path})"
        )
    return tokens


def env_token(value: str | None) -> HashedToken | None:
    """The token ``ECHELON_AUTH_TOKEN`` gives (hashed at once), or None when it is unset."""
    if value is None:
        return None
    if len(value.strip()) < MIN_TOKEN_CHARS:
        raise AuthConfigError(
            f"{TOKEN_ENV} is set but has {len(value.strip())} characters; use at least {MIN_TOKEN_CHARS} "
            "(`echelon token new` mints one), or unset it"
        )
    return HashedToken(digest=_digest(value.strip()), name=TOKEN_ENV)


class StaticTokenVerifier:
    """The SDK's ``TokenVerifier`` for a fixed set of hashed tokens.

    The ``AccessToken`` it returns carries the entry's name in place of the token itself: nothing downstream needs
    the secret, so a request context that is logged or dumped cannot leak it.
    """

    def __init__(self, tokens: list[HashedToken]) -> None:
        if not tokens:
            raise AuthConfigError("a token verifier needs at least one token")
        self.tokens = tuple(tokens)

    def match(self, token: str) -> HashedToken | None:
        """The entry ``token`` matches; every entry is compared, so the time does not depend on which one."""
        presented = _digest(token)
        found: HashedToken | None = None
        for entry in self.tokens:
            if hmac.compare_digest(presented, entry.digest):
                found = entry
        return found

    async def verify_token(self, token: str) -> AccessToken | None:
        entry = self.match(token)
        if entry is None:
            return None
        return AccessToken(token=entry.name, client_id=entry.name, scopes=[])
