"""Tool names as the hosted APIs take them.

MCP allows tool names with dots and slashes (``files.read``, ``github/search``); the Anthropic and OpenAI APIs take
only ``^[a-zA-Z0-9_-]{1,64}$`` and reject the whole request otherwise. A request's names are mapped to such names
on the way out, and the model's tool calls mapped back, so callers only ever see the tools' real names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .base import ModelRequest, ModelResponse

MAX_LENGTH = 64
_VALID = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_LENGTH}}}$")
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class ToolNames:
    """A one-to-one mapping between tool names and names the APIs accept; valid names map to themselves."""

    def __init__(self, names: Iterable[str]) -> None:
        unique = list(dict.fromkeys(names))
        self._to_wire = {name: name for name in unique if _VALID.match(name)}
        self._from_wire = dict(self._to_wire)
        for name in unique:
            if name not in self._to_wire:
                self._add(name)

    @property
    def renamed(self) -> bool:
        return any(name != wire for name, wire in self._to_wire.items())

    def wire(self, name: str) -> str:
        return self._to_wire.get(name) or self._add(name)

    def original(self, wire: str) -> str:
        return self._from_wire.get(wire, wire)

    def _add(self, name: str) -> str:
        base = _INVALID_CHARS.sub("_", name)[:MAX_LENGTH] or "tool"
        wire, n = base, 1
        while wire in self._from_wire:  # two names that differ only in invalid characters, or a clash
            n += 1
            suffix = f"_{n}"
            wire = base[: MAX_LENGTH - len(suffix)] + suffix
        self._to_wire[name], self._from_wire[wire] = wire, name
        return wire


def to_wire(request: ModelRequest) -> tuple[ModelRequest, ToolNames]:
    """``request`` with every tool name (definitions and earlier calls) in a form the APIs accept."""
    names = ToolNames(
        [tool.name for tool in request.tools]
        + [call.name for message in request.messages for call in message.tool_calls]
    )
    if not names.renamed:
        return request, names
    tools = [tool.model_copy(update={"name": names.wire(tool.name)}) for tool in request.tools]
    messages = [
        message.model_copy(
            update={
                "tool_calls": [c.model_copy(update={"name": names.wire(c.name)}) for c in message.tool_calls]
            }
        )
        if message.tool_calls
        else message
        for message in request.messages
    ]
    return request.model_copy(update={"tools": tools, "messages": messages}), names


def from_wire(response: ModelResponse, names: ToolNames) -> ModelResponse:
    """``response`` with the model's tool calls named by the tools' real names again."""
    if not names.renamed or not response.tool_calls:
        return response
    calls = [call.model_copy(update={"name": names.original(call.name)}) for call in response.tool_calls]
    return response.model_copy(update={"tool_calls": calls})
