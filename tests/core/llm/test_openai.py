"""OpenAIModel against a local server speaking the Chat Completions wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import BaseModel

from echelon.servers.core.llm import (
    Message,
    ModelError,
    ModelRequest,
    ModelRequestsBlocked,
    ToolCall,
    ToolDefinition,
    allow_model_requests,
    generate_structured,
)
from echelon.servers.core.llm.openai import OpenAIModel

from ._fake_openai import completion, error, fake_openai, function_call
from ._fake_server import FAST_RETRY, FakeAPI

pytestmark = pytest.mark.anyio

ASK = ModelRequest(system="You are terse.", messages=[Message(role="user", content="What is 2+2?")])
QUERY_TOOL = ToolDefinition(
    name="run_query",
    description="Run SQL",
    parameters={"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]},
)


@asynccontextmanager
async def gpt(max_retries: int = 2) -> AsyncIterator[tuple[FakeAPI, OpenAIModel]]:
    async with fake_openai() as fake:
        model = OpenAIModel("gpt-test", api_key="sk-test", base_url=f"{fake.url}/v1", max_retries=max_retries)
        try:
            with allow_model_requests():
                yield fake, model
        finally:
            await model.aclose()


class Verdict(BaseModel):
    answer: int
    confidence: float


async def test_plain_answer_returns_text_and_usage_and_sends_the_system_message() -> None:
    async with gpt() as (fake, model):
        fake.reply(completion("4", prompt_tokens=30, completion_tokens=1))
        response = await model.request(ASK)
    assert response.text == "4"
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"
    assert (response.usage.requests, response.usage.input_tokens, response.usage.output_tokens) == (1, 30, 1)
    assert response.model_name == "openai:gpt-test"
    [sent] = fake.requests
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "gpt-test"
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is 2+2?"},
    ]
    assert sent.body["temperature"] == 0.0
    assert sent.body["max_tokens"] == 1024  # compatible servers get max_tokens; api.openai.com its successor
    assert "tools" not in sent.body and "response_format" not in sent.body


async def test_provider_argument_names_the_model() -> None:
    assert OpenAIModel("qwen", base_url="http://127.0.0.1:1/v1", provider="local").name == "local:qwen"


async def test_tool_call_round_trip_sends_tool_messages_with_their_call_ids() -> None:
    async with gpt() as (fake, model):
        fake.reply(
            completion(
                tool_calls=[
                    function_call("run_query", {"sql": "SELECT 1"}, id="call_a"),
                    function_call("run_query", {"sql": "SELEC 2"}, id="call_b"),
                ]
            )
        )
        fake.reply(completion("The answer is 1."))
        first = await model.request(
            ModelRequest(messages=[Message(role="user", content="Count")], tools=[QUERY_TOOL])
        )
        assert first.stop_reason == "tool_use"
        assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
            ("call_a", "run_query", {"sql": "SELECT 1"}),
            ("call_b", "run_query", {"sql": "SELEC 2"}),
        ]
        history = [
            Message(role="user", content="Count"),
            Message(role="assistant", content=first.text, tool_calls=first.tool_calls),
            Message(role="tool", tool_call_id="call_a", content="[[1]]"),
            Message(role="tool", tool_call_id="call_b", content="syntax error near SELEC", is_error=True),
        ]
        second = await model.request(ModelRequest(messages=history, tools=[QUERY_TOOL]))
    assert second.text == "The answer is 1."
    assert fake.bodies[0]["tools"] == [
        {
            "type": "function",
            "function": {"name": "run_query", "description": "Run SQL", "parameters": QUERY_TOOL.parameters},
        }
    ]
    assert fake.bodies[1]["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "run_query", "arguments": '{"sql": "SELECT 1"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "run_query", "arguments": '{"sql": "SELEC 2"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "[[1]]"},
        {"role": "tool", "tool_call_id": "call_b", "content": "Error: syntax error near SELEC"},
    ]


async def test_tool_arguments_that_are_not_a_json_object_are_kept_raw_for_the_caller_to_report() -> None:
    async with gpt() as (fake, model):
        fake.reply(
            completion(
                tool_calls=[
                    function_call("run_query", "{sql: SELECT 1", id="c1"),
                    function_call("run_query", '"SELECT 1"', id="c2"),
                    function_call("list_tables", "", id="c3"),
                ]
            )
        )
        response = await model.request(ModelRequest(messages=ASK.messages, tools=[QUERY_TOOL]))
    assert response.tool_calls == [
        ToolCall(id="c1", name="run_query", arguments={"_raw": "{sql: SELECT 1"}),
        ToolCall(id="c2", name="run_query", arguments={"_raw": '"SELECT 1"'}),
        ToolCall(id="c3", name="list_tables", arguments={}),
    ]


async def test_structured_output_asks_for_a_json_schema_and_repairs_an_invalid_answer() -> None:
    async with gpt() as (fake, model):
        fake.reply(completion('{"answer": "four"}'))
        fake.reply(completion('{"answer": 4, "confidence": 0.9}'))
        request = ModelRequest(messages=[Message(role="user", content="2+2?")], output_name="verdict")
        value, usage = await generate_structured(model, request, Verdict)
    assert value == Verdict(answer=4, confidence=0.9)
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 26, 10)
    first, second = fake.bodies
    expected_format = {
        "type": "json_schema",
        "json_schema": {"name": "verdict", "schema": Verdict.model_json_schema(), "strict": False},
    }
    assert first["response_format"] == expected_format
    assert second["response_format"] == expected_format
    assert "tools" not in first
    assert second["messages"][1] == {"role": "assistant", "content": '{"answer": "four"}'}
    repair = second["messages"][2]["content"]
    assert "That answer is invalid" in repair
    assert "answer: Input should be a valid integer" in repair
    assert "confidence: Field required" in repair


async def test_server_rejecting_json_schema_gets_json_object_with_the_schema_from_then_on() -> None:
    schema = Verdict.model_json_schema()
    async with gpt() as (fake, model):
        # llama.cpp's server answers OpenAI's json_schema type like this.
        fake.reply(error("Unsupported response_format type: json_schema"), status=400)
        fake.reply(completion('{"answer": 4, "confidence": 1}'))
        fake.reply(completion('{"answer": 5, "confidence": 1}'))
        request = ModelRequest(messages=[Message(role="user", content="2+2?")])
        first, _ = await generate_structured(model, request, Verdict)
        later, _ = await generate_structured(model, request, Verdict)
    assert (first.answer, later.answer) == (4, 5)
    rejected, retried, straight = fake.bodies
    assert rejected["response_format"]["type"] == "json_schema"
    assert retried["response_format"] == {"type": "json_object", "schema": schema}
    assert straight["response_format"] == {"type": "json_object", "schema": schema}
    assert retried["messages"] == rejected["messages"]
    assert model.json_schema_supported is False


async def test_unrelated_bad_request_is_reported_not_retried_as_json_object() -> None:
    async with gpt() as (fake, model):
        fake.reply(error("This model's maximum context length is 8192 tokens"), status=400)
        request = ModelRequest(messages=ASK.messages, output_schema=Verdict.model_json_schema())
        with pytest.raises(ModelError, match=r"HTTP 400 bad request .*maximum context length"):
            await model.request(request)
    assert len(fake.requests) == 1
    assert model.json_schema_supported is True


@pytest.mark.parametrize(
    ("wire", "ours"),
    [("length", "max_tokens"), ("content_filter", "refusal"), ("tool_calls", "tool_use"), ("weird", "other")],
)
async def test_finish_reasons_are_mapped(wire: str, ours: str) -> None:
    async with gpt() as (fake, model):
        fake.reply(completion("...", finish_reason=wire))
        response = await model.request(ASK)
    assert response.stop_reason == ours


async def test_rate_limit_is_retried_by_the_sdk_then_succeeds() -> None:
    async with gpt() as (fake, model):
        fake.reply(
            error("Rate limit reached", kind="requests", code="rate_limit_exceeded"),
            status=429,
            headers=FAST_RETRY,
        )
        fake.reply(completion("4"))
        response = await model.request(ASK)
    assert response.text == "4"
    assert len(fake.requests) == 2
    assert fake.requests[1].headers["x-stainless-retry-count"] == "1"


async def test_server_errors_become_a_model_error_once_retries_are_exhausted() -> None:
    async with gpt(max_retries=2) as (fake, model):
        for _ in range(3):
            fake.reply(error("The server had an error", kind="server_error"), status=503, headers=FAST_RETRY)
        with pytest.raises(ModelError) as caught:
            await model.request(ASK)
    assert len(fake.requests) == 3
    text = str(caught.value)
    assert "openai:gpt-test" in text
    assert "HTTP 503" in text
    assert "gave up after 3 attempts" in text
    assert "The server had an error" in text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"id": "chatcmpl-1", "object": "chat.completion"', "application/json"),
        ('{"id": "chatcmpl-1", "object": "chat.completion"}', "application/json"),
        ('{"id": "chatcmpl-1", "object": "chat.completion", "choices": []}', "application/json"),
        ('{"id": "c", "choices": [{"index": 0, "finish_reason": "stop"}]}', "application/json"),
    ],
    ids=["html", "truncated-json", "missing-choices", "empty-choices", "missing-message"],
)
async def test_malformed_body_becomes_a_model_error(body: str, content_type: str) -> None:
    async with gpt() as (fake, model):
        fake.reply_text(body, content_type=content_type)
        with pytest.raises(ModelError, match="returned a malformed response"):
            await model.request(ASK)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_authentication_failure_names_the_key_variable_and_is_not_retried(status: int) -> None:
    async with gpt() as (fake, model):
        fake.reply(error("Incorrect API key provided: sk-test", code="invalid_api_key"), status=status)
        with pytest.raises(ModelError) as caught:
            await model.request(ASK)
    assert "OPENAI_API_KEY" in str(caught.value)
    assert "Incorrect API key provided" in str(caught.value)
    assert len(fake.requests) == 1


async def test_missing_key_without_a_base_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    model = OpenAIModel("gpt-test")
    with allow_model_requests(), pytest.raises(ModelError, match="set OPENAI_API_KEY"):
        await model.request(ASK)


async def test_base_url_from_the_environment_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with fake_openai() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.url}/v1")
        model = OpenAIModel("qwen2.5-coder")
        fake.reply(completion("hello from a local server"))
        with allow_model_requests():
            response = await model.request(ASK)
        await model.aclose()
    assert response.text == "hello from a local server"
    [sent] = fake.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer not-needed"
    assert sent.body["model"] == "qwen2.5-coder"


async def test_a_request_that_outlives_the_timeout_becomes_a_model_error() -> None:
    async with fake_openai() as fake:
        fake.hang()
        model = OpenAIModel("gpt-test", api_key="k", base_url=f"{fake.url}/v1", max_retries=0, timeout=0.3)
        with allow_model_requests(), pytest.raises(ModelError, match=r"timed out after 0\.3s"):
            await model.request(ASK)
        await model.aclose()
    assert len(fake.requests) == 1


async def test_guard_blocks_real_requests_unless_a_test_opts_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHELON_BLOCK_MODEL_REQUESTS", "1")
    async with fake_openai() as fake:
        model = OpenAIModel("gpt-test", api_key="k", base_url=f"{fake.url}/v1")
        with pytest.raises(ModelRequestsBlocked, match="openai:gpt-test"):
            await model.request(ASK)
        assert fake.requests == []
        fake.reply(completion("allowed"))
        with allow_model_requests():
            response = await model.request(ASK)
        await model.aclose()
    assert response.text == "allowed"
    assert len(fake.requests) == 1


async def test_tool_names_the_api_would_reject_are_sent_renamed_and_come_back_as_they_were() -> None:
    dotted = QUERY_TOOL.model_copy(update={"name": "db.run_query"})
    async with gpt() as (fake, model):
        fake.reply(completion(tool_calls=[function_call("db_run_query", {"sql": "SELECT 1"}, id="call_a")]))
        response = await model.request(
            ModelRequest(messages=[Message(role="user", content="Count")], tools=[dotted])
        )
    assert fake.bodies[0]["tools"][0]["function"]["name"] == "db_run_query"
    assert [c.name for c in response.tool_calls] == ["db.run_query"]
