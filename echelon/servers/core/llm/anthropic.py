"""Claude through Anthropic's Messages API (``anthropic:<model>``).

The SDK is imported on first use, so importing this module (and resolving a name) stays cheap. The SDK's
own retry loop handles rate limits, server errors, connection errors and timeouts (``max_retries``,
exponential backoff, ``retry-after`` headers); whatever still fails becomes a ``ModelError`` that says what
happened. Structured output forces a single tool whose input schema is the requested schema and returns its
input as JSON text. The SDK no longer takes ``temperature``, so ``ModelRequest.temperature`` is not sent.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from ._errors import ProviderErrors, sdk_errors, snippet
from ._guard import check_allowed
from ._tool_names import from_wire, to_wire
from .base import Message, Model, ModelError, ModelRequest, ModelResponse, StopReason, TokenUsage, ToolCall

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import (
        ContentBlockParam,
        MessageParam,
        ToolChoiceToolParam,
        ToolParam,
        ToolResultBlockParam,
    )
    from anthropic.types import Message as WireMessage

ENV_VAR = "ANTHROPIC_API_KEY"

_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "refusal": "refusal",
}


class AnthropicModel(Model):
    """A Claude model. The key comes from ``api_key`` or ``ANTHROPIC_API_KEY``, checked at the first request
    (so building a server never fails on a missing key; its first model call reports it)."""

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 120.0,
    ) -> None:
        self.name = f"anthropic:{model_name}"
        self.model_name = model_name
        self.base_url = base_url
        self.max_retries = max_retries
        self.timeout = timeout
        self._api_key = api_key
        self._client: AsyncAnthropic | None = None
        self._errors: ProviderErrors | None = None

    def _connect(self) -> tuple[AsyncAnthropic, ProviderErrors]:
        if self._client is None or self._errors is None:
            api_key = self._api_key or os.environ.get(ENV_VAR)
            if not api_key:
                raise ProviderErrors(
                    self.name, ENV_VAR, self.base_url or "", self.max_retries, self.timeout
                ).missing_key()
            from anthropic import AsyncAnthropic

            self._client = AsyncAnthropic(
                api_key=api_key, base_url=self.base_url, max_retries=self.max_retries, timeout=self.timeout
            )
            self._errors = ProviderErrors(
                self.name, ENV_VAR, str(self._client.base_url), self.max_retries, self.timeout
            )
        return self._client, self._errors

    async def request(self, request: ModelRequest) -> ModelResponse:
        check_allowed(self.name)
        request, names = to_wire(request)
        client, errors = self._connect()
        import anthropic
        from anthropic import omit

        tools: list[ToolParam] = [
            {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
            for tool in request.tools
        ]
        tool_choice: ToolChoiceToolParam | None = None
        if request.output_schema is not None:
            tools = [
                {
                    "name": request.output_name,
                    "description": "Give your answer as this tool's input.",
                    "input_schema": request.output_schema,
                }
            ]
            tool_choice = {"type": "tool", "name": request.output_name}
        with sdk_errors(anthropic, anthropic.AnthropicError, errors):
            message: object = await client.messages.create(
                model=self.model_name,
                max_tokens=request.max_tokens,
                messages=_to_messages(request.messages),
                system=request.system or omit,
                tools=tools or omit,
                tool_choice=tool_choice or omit,
            )
        return from_wire(self._to_response(message, request, errors), names)

    def _to_response(self, message: object, request: ModelRequest, errors: ProviderErrors) -> ModelResponse:
        from anthropic.types import Message as WireMessage

        if not isinstance(message, WireMessage):
            raise errors.malformed(f"expected a JSON message object, got {snippet(message)}")
        try:
            return self._parse(message, request)
        except (AttributeError, TypeError, ValueError) as exc:  # the SDK does not validate bodies; we do
            raise errors.malformed(f"{exc} in {snippet(message)}") from exc

    def _parse(self, message: WireMessage, request: ModelRequest) -> ModelResponse:
        structured = request.output_schema is not None
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                if structured and block.name == request.output_name:
                    texts = [json.dumps(block.input)]
                    break
                calls.append(ToolCall(id=block.id, name=block.name, arguments=block.input))
        stop_reason = _STOP_REASONS.get(message.stop_reason or "", "other")
        if structured:  # the forced tool call is the answer, not a call to make
            calls = []
            if stop_reason == "tool_use":
                stop_reason = "end_turn"
        usage = message.usage
        return ModelResponse(
            text="".join(texts),
            tool_calls=calls,
            stop_reason=stop_reason,
            usage=TokenUsage(
                requests=1,
                input_tokens=usage.input_tokens
                + (usage.cache_creation_input_tokens or 0)
                + (usage.cache_read_input_tokens or 0),
                output_tokens=usage.output_tokens,
            ),
            model_name=self.name,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _to_messages(messages: list[Message]) -> list[MessageParam]:
    """Chat messages -> Messages API turns: tool results become ``tool_result`` blocks in a user turn, and
    consecutive turns of one role are merged (the API wants all results of one assistant turn together)."""
    turns: list[tuple[str, list[ContentBlockParam]]] = []
    for message in messages:
        blocks: list[ContentBlockParam] = []
        if message.role == "tool":
            if not message.tool_call_id:
                raise ModelError("a tool message needs the tool_call_id of the call it answers")
            result: ToolResultBlockParam = {"type": "tool_result", "tool_use_id": message.tool_call_id}
            if message.content:
                result["content"] = message.content
            if message.is_error:
                result["is_error"] = True
            blocks.append(result)
        else:
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            for call in message.tool_calls:
                blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
        role = "assistant" if message.role == "assistant" else "user"
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    wire: list[MessageParam] = []
    for role, blocks in turns:
        content: list[ContentBlockParam] = blocks or [{"type": "text", "text": "(empty)"}]
        if role == "assistant":
            wire.append({"role": "assistant", "content": content})
        else:
            wire.append({"role": "user", "content": content})
    return wire
