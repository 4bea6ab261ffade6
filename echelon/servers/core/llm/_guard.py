"""A global switch that stops real model requests, so a test suite can never reach a paid API by accident.

Set ``ECHELON_BLOCK_MODEL_REQUESTS=1`` (the test suite does, and subprocesses inherit it); a test that means to reach
a provider (against a local fake server) opts in with ``allow_model_requests()``.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from contextlib import contextmanager

ENV_VAR = "ECHELON_BLOCK_MODEL_REQUESTS"
_allowed_override: bool | None = None


class ModelRequestsBlocked(RuntimeError):
    """Raised when a real model request is made while requests are blocked."""


def check_allowed(model_name: str) -> None:
    """Raise ModelRequestsBlocked if real model requests are blocked here."""
    if _allowed_override is True:
        return
    if _allowed_override is False or os.environ.get(ENV_VAR, "") not in ("", "0"):
        raise ModelRequestsBlocked(
            f"real model request to {model_name!r} blocked: {ENV_VAR} is set (tests use ScriptedModel or "
            "FunctionModel from echelon.servers.core.testing; wrap a deliberate request in allow_model_requests())"
        )


@contextmanager
def allow_model_requests(allowed: bool = True) -> Generator[None]:
    """Allow (or block) real model requests in this process for the duration of the block."""
    global _allowed_override
    previous = _allowed_override
    _allowed_override = allowed
    try:
        yield
    finally:
        _allowed_override = previous
