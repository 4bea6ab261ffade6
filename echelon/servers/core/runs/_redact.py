"""Secrets never reach a run record, a trace or an error a record keeps.

A record holds requests, plans, tool arguments and results, and errors, and errors can quote a worker's command
line (``could not connect to server --token abc``). ``Redactor`` removes the values of secret-looking environment
variables, the values a config declares for workers' ``env`` and ``headers`` (tokens often come that way), the
argument after a secret-looking flag, and bearer tokens, wherever they appear in a JSON value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
SECRET_NAME = re.compile(r"(?i)(key|token|secret|passw(or)?d|credential|auth|cookie)")
_SECRET_FIELD = re.compile(
    r"(?i)(api[_-]?key|secret|passw(or)?d|credential|(^|_)token$|authorization|cookie)"
)
_FLAG_VALUE = re.compile(
    r"(?i)(--?[\w-]*(?:key|token|secret|passw(?:or)?d|credential|auth)[\w-]*)(=|\s+)(?!-)(\S+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_KNOWN_KEYS = re.compile(r"\b(sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,})\b")
MIN_SECRET_LENGTH = 6


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of variables named like secrets (``*_API_KEY``, ``*TOKEN*``, ``*PASSWORD*``, ...)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH]


class Redactor:
    """Removes known secret values and secret-shaped text from strings and JSON values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        values.update(secret_env_values())
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(values, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        value = _FLAG_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", value)
        value = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)
        return _KNOWN_KEYS.sub(MASK, value)

    def json(self, value: Any) -> Any:
        """``value`` with every string in it (keys kept) redacted, and values under secret-looking keys masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                k: (
                    MASK
                    if isinstance(k, str) and _SECRET_FIELD.search(k) and isinstance(v, str) and v
                    else self.json(v)
                )
                for k, v in value.items()  # pyright: ignore[reportUnknownVariableType]
            }
        if isinstance(value, list):
            return [self.json(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
        return value
