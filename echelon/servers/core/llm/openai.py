"""OpenAI's Chat Completions API and every server that speaks it (``openai:<model>``).

``base_url`` (or ``OPENAI_BASE_URL``) points the provider at an OpenAI-compatible server: Ollama, vLLM,
LM Studio, llama.cpp's server, or the embedded local model. Such servers need no key, so with a base URL and
no ``OPENAI_API_KEY`` a placeholder key is sent. The SDK is imported on first use and its own retry loop
handles rate limits, server errors, connection errors and timeouts; whatever still fails becomes a
``ModelError``.

Structured output asks for ``response_format`` ``json_schema``. A server that rejects that type with a 400
naming ``response_format``/``json_schema`` (llama.cpp's server does) gets ``json_object`` with a ``schema``
instead, and this model instance remembers to go straight there. Tool-call arguments that are not a JSON
object are passed on as ``{"_raw": "<the text>"}`` rather than failing the call: the tool's own argument
validation then reports the problem to the model, which can correct itself. OpenAI has no error flag on tool
results, so a failed tool's result is sent as ``"Error: <text>"``.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ._errors import ProviderErrors, sdk_errors, snippet
from ._guard import check_allowed
from ._tool_names import from_wire, to_wire
from .base import Message, Model, ModelError, ModelRequest, ModelResponse, StopReason, TokenUsage, ToolCall

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import (
        ChatCompletion,
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageFunctionToolCallParam,
        ChatCompletionMessageParam,
    )
    from openai.types.shared_params import ResponseFormatJSONSchema

ENV_VAR = "OPENAI_API_KEY"
BASE_URL_ENV_VAR = "OPENAI_BASE_URL"
PLACEHOLDER_KEY = "not-needed"

_FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


class OpenAIModel(Model):
    """A chat model behind the Chat Completions API; ``provider`` only names it (``local`` reuses this)."""

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 120.0,
        provider: str = "openai",
    ) -> None:
        self.name = f"{provider}:{model_name}"
        self.model_name = model_name
        self.base_url = base_url
        self.max_retries = max_retries
        self.timeout = timeout
        self.json_schema_supported = True  # set False once the server rejected response_format json_schema
        self._api_key = api_key
        self._client: AsyncOpenAI | None = None
        self._errors: ProviderErrors | None = None

    def _connect(self) -> tuple[AsyncOpenAI, ProviderErrors]:
        if self._client is None or self._errors is None:
            base_url = self.base_url or os.environ.get(BASE_URL_ENV_VAR) or None
            api_key = self._api_key or os.environ.get(ENV_VAR) or (PLACEHOLDER_KEY if base_url else None)
            if not api_key:
                raise ProviderErrors(
                    self.name, ENV_VAR, "https://api.openai.com/v1", self.max_retries, self.timeout
                ).missing_key()
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=api_key, base_url=base_url, max_retries=self.max_retries, timeout=self.timeout
            )
            self._errors = ProviderErrors(
                self.name, ENV_VAR, str(self._client.base_url), self.max_retries, self.timeout
            )
        return self._client, self._errors

    async def request(self, request: ModelRequest) -> ModelResponse:
        check_allowed(self.name)
        request, names = to_wire(request)
        client, errors = self._connect()
        import openai

        with sdk_errors(openai, openai.OpenAIError, errors):
            try:
                completion = await self._create(client, request)
            except openai.APIStatusError as exc:
                if not (request.output_schema is not None and self.json_schema_supported):
                    raise
                if not _rejects_json_schema(
                    exc.status_code, f"{exc.message} {json.dumps(exc.body, default=str)}"
                ):
                    raise
                self.json_schema_supported = False
                completion = await self._create(client, request)
        return from_wire(self._to_response(completion, request, errors), names)

    async def _create(self, client: AsyncOpenAI, request: ModelRequest) -> object:
        from openai import omit

        tools: list[ChatCompletionFunctionToolParam] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in request.tools
        ]
        response_format: ResponseFormatJSONSchema | None = None
        extra_body: dict[str, Any] | None = None
        if request.output_schema is not None:
            tools = []
            if self.json_schema_supported:
                response_format = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.output_name,
                        "schema": request.output_schema,
                        "strict": False,
                    },
                }
            else:  # the SDK's json_object type has no ``schema`` field; llama.cpp's server reads it
                extra_body = {"response_format": {"type": "json_object", "schema": request.output_schema}}
        # api.openai.com's newer models refuse ``max_tokens``; compatible servers may not know its successor.
        official = client.base_url.host == "api.openai.com"
        return await client.chat.completions.create(
            model=self.model_name,
            messages=_to_messages(request.system, request.messages),
            tools=tools or omit,
            response_format=response_format or omit,
            temperature=request.temperature,
            max_tokens=omit if official else request.max_tokens,
            max_completion_tokens=request.max_tokens if official else omit,
            extra_body=extra_body,
        )

    def _to_response(
        self, completion: object, request: ModelRequest, errors: ProviderErrors
    ) -> ModelResponse:
        from openai.types.chat import ChatCompletion

        if not isinstance(completion, ChatCompletion):
            raise errors.malformed(f"expected a JSON chat.completion object, got {snippet(completion)}")
        try:
            return self._parse(completion, request)
        except (AttributeError, TypeError, ValueError) as exc:  # the SDK does not validate bodies; we do
            raise errors.malformed(f"{exc} in {snippet(completion)}") from exc

    def _parse(self, completion: ChatCompletion, request: ModelRequest) -> ModelResponse:
        if not completion.choices:
            raise ValueError("no choices")
        choice = completion.choices[0]
        message = choice.message
        calls: list[ToolCall] = []
        for index, call in enumerate(message.tool_calls or []):
            if call.type == "function":
                call_id = getattr(call, "id", None) or f"call_{index}"  # some compatible servers omit ids
                arguments = _parse_arguments(call.function.arguments)
                calls.append(ToolCall(id=call_id, name=call.function.name, arguments=arguments))
        stop_reason = _FINISH_REASONS.get(choice.finish_reason or "", "other")
        if message.refusal:
            stop_reason = "refusal"
        if request.output_schema is not None:
            calls = []
        elif calls and stop_reason == "end_turn":
            stop_reason = "tool_use"  # some compatible servers report "stop" with tool calls
        usage = completion.usage
        return ModelResponse(
            text=message.content or message.refusal or "",
            tool_calls=calls,
            stop_reason=stop_reason,
            usage=TokenUsage(
                requests=1,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
            ),
            model_name=self.name,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _rejects_json_schema(status: int, error_text: str) -> bool:
    """Whether an error says the server does not take ``response_format`` of type ``json_schema``."""
    text = error_text.lower()
    return status in (400, 422) and ("response_format" in text or "json_schema" in text)


def _parse_arguments(text: str | None) -> dict[str, Any]:
    """Tool-call arguments as a dict; text that is not a JSON object is kept as ``{"_raw": text}``."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"_raw": text}
    return value if isinstance(value, dict) else {"_raw": text}


def _to_messages(system: str, messages: list[Message]) -> list[ChatCompletionMessageParam]:
    wire: list[ChatCompletionMessageParam] = []
    if system:
        wire.append({"role": "system", "content": system})
    for message in messages:
        if message.role == "user":
            wire.append({"role": "user", "content": message.content})
        elif message.role == "tool":
            if not message.tool_call_id:
                raise ModelError("a tool message needs the tool_call_id of the call it answers")
            content = f"Error: {message.content}" if message.is_error else message.content
            wire.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": content})
        else:
            calls: list[ChatCompletionMessageFunctionToolCallParam] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ]
            if calls:
                wire.append({"role": "assistant", "content": message.content or None, "tool_calls": calls})
            else:
                wire.append({"role": "assistant", "content": message.content})
    return wire
