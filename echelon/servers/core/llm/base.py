"""The one small model interface every level uses.

A ``Model`` takes a ``ModelRequest`` (system prompt, chat messages, tool definitions, an optional JSON schema for
structured output) and returns a ``ModelResponse`` (text, tool calls, stop reason, token usage). Providers translate
this to their wire format; planners and executors never see a provider SDK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal

from pydantic import BaseModel, Field

from .pricing import Price

StopReason = Literal["end_turn", "tool_use", "max_tokens", "refusal", "other"]

Purpose = Literal["plan_phases", "plan_steps", "route_step", "step", "synthesis", "answer", "decide", "other"]
"""What a model request is for. Test doubles answer by purpose (never by matching prompt text), traces and budgets
count by it, and each purpose has its own token allowance (``MAX_TOKENS``)."""

MAX_TOKENS: dict[Purpose, int] = {
    # A plan or a routed step is a few hundred tokens of JSON; an allowance far above that only lets a small model
    # run on in a loop (measured: 1,023 tokens, about 3 minutes on 2 cores, inside one structured answer).
    "plan_phases": 600,
    "plan_steps": 600,
    "route_step": 700,
    # A tool call may carry a deck's text.
    "step": 800,
    "synthesis": 400,
    "answer": 500,
    # A constrained choice: {"asks_for_file": "yes"} is a dozen tokens.
    "decide": 24,
    "other": 1024,
}


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
    purpose: Purpose = "other"
    max_tokens: int = Field(default=0, description="0: the purpose's allowance (MAX_TOKENS)")
    temperature: float = 0.0

    def model_post_init(self, __context: Any) -> None:
        if self.max_tokens <= 0:
            self.max_tokens = MAX_TOKENS[self.purpose]


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
    price: Price | None = None  # set by resolve_model from the price table; None: cost unknown

    @abstractmethod
    async def request(self, request: ModelRequest) -> ModelResponse:
        """Send one request and return the answer."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most models hold nothing
        """Release network clients. Optional."""
