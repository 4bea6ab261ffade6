"""A local server speaking OpenAI's Chat Completions wire format (``POST /v1/chat/completions``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ._fake_server import FakeAPI, serving

_ids = itertools.count(1)


def function_call(name: str, arguments: dict[str, Any] | str, *, id: str | None = None) -> dict[str, Any]:
    """A tool call as it appears in ``choices[0].message.tool_calls`` (``arguments`` is a JSON string)."""
    return {
        "id": id or f"call_{next(_ids):04d}",
        "type": "function",
        "function": {
            "name": name,
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
        },
    }


def completion(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    prompt_tokens: int = 13,
    completion_tokens: int = 5,
    model: str = "gpt-test",
) -> dict[str, Any]:
    """A ``chat.completion`` response body, as api.openai.com sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-{next(_ids):04d}",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error(message: str, *, kind: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@asynccontextmanager
async def fake_openai() -> AsyncIterator[FakeAPI]:
    """The server; pass ``fake.url + "/v1"`` as the model's ``base_url``."""
    async with serving(FakeAPI("/v1/chat/completions")) as api:
        yield api
