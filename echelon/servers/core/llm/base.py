"""The one small model interface every level uses.

A ``Model`` takes a ``ModelRequest`` (system prompt, chat messages, tool definitions, an optional JSON schema for
structured output) and returns a ``ModelResponse`` (text, tool calls, stop reason, token usage). Providers translate
this to their wire format; planners and executors never see a provider SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, Field

StopReason = Literal["end_turn", "tool_use", "max_tokens", "refusal", "other"]


class ToolCall(BaseModel):
    """A tool call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(BaseModel):
    """One chat message. ``tool`` messages carry a tool result for ``tool_call_id``."""

    role: Literal["user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    is_error: bool = False


class ToolDefinition(BaseModel):
    """A tool the model may call; ``parameters`` is its JSON schema (an MCP tool's ``input_schema``)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ModelRequest(BaseModel):
    """What a level asks of a model."""

    system: str = ""
    messages: list[Message]
    tools: list[ToolDefinition] = Field(default_factory=list)
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON schema the answer must follow (structured output); excludes tools"
    )
    output_name: str = "output"
    max_tokens: int = 1024
    temperature: float = 0.0


class TokenUsage(BaseModel):
    """Tokens one or more model calls used."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            requests=self.requests + other.requests,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ModelResponse(BaseModel):
    """A model's answer: text (JSON text for structured output), tool calls, why it stopped, what it cost."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason = "end_turn"
    usage: TokenUsage = Field(default_factory=lambda: TokenUsage(requests=1))
    model_name: str = ""


class ModelError(Exception):
    """A model call failed in a way the caller should report (not retry): bad key, refused request, bad output."""


class Model(ABC):
    """A chat model. ``name`` is the ``provider:model`` string it was resolved from."""

    name: str

    @abstractmethod
    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one request and return the answer."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most models hold nothing
        """Release network clients. Optional."""
