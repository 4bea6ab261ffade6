"""A local server speaking Anthropic's Messages API wire format (``POST /v1/messages``), scripted per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._fake_server import FakeAPI, serving

_ids = itertools.count(1)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, input: dict[str, Any], *, id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or f"toolu_{next(_ids):04d}", "name": name, "input": input}


def message(
    *content: dict[str, Any],
    stop_reason: str = "end_turn",
    input_tokens: int = 11,
    output_tokens: int = 7,
    model: str = "claude-test",
) -> dict[str, Any]:
    """A Messages API response body, as api.anthropic.com sends it."""
    return {
        "id": f"msg_{next(_ids):04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": list(content),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def error(kind: str, message: str) -> dict[str, Any]:
    """An error body (``kind``: authentication_error, rate_limit_error, api_error, invalid_request_error, ...)."""
    return {"type": "error", "error": {"type": kind, "message": message}}


@asynccontextmanager
async def fake_anthropic() -> AsyncIterator[FakeAPI]:
    """The server; pass ``fake.url`` as the model's ``base_url``."""
    async with serving(FakeAPI("/v1/messages")) as api:
        yield api
