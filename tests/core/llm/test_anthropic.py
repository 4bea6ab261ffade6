"""AnthropicModel against a local server speaking the Messages API wire format."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import BaseModel

from echelon.servers.core.llm import (
    Message,
    ModelError,
    ModelRequest,
    ModelRequestsBlocked,
    ToolDefinition,
    allow_model_requests,
    generate_structured,
)
from echelon.servers.core.llm.anthropic import AnthropicModel

from ._fake_anthropic import error, fake_anthropic, message, text, tool_use
from ._fake_server import FAST_RETRY, FakeAPI

pytestmark = pytest.mark.anyio

ASK = ModelRequest(system="You are terse.", messages=[Message(role="user", content="What is 2+2?")])


@asynccontextmanager
async def claude(max_retries: int = 2) -> AsyncIterator[tuple[FakeAPI, AnthropicModel]]:
    async with fake_anthropic() as fake:
        model = AnthropicModel(
            "claude-test", api_key="sk-ant-test", base_url=fake.url, max_retries=max_retries
        )
        try:
            with allow_model_requests():
                yield fake, model
        finally:
            await model.aclose()


async def test_plain_answer_returns_text_and_usage_and_sends_the_system_prompt() -> None:
    async with claude() as (fake, model):
        fake.reply(message(text("4"), input_tokens=21, output_tokens=2))
        response = await model.request(ASK)
    assert response.text == "4"
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"
    assert (response.usage.requests, response.usage.input_tokens, response.usage.output_tokens) == (1, 21, 2)
    assert response.model_name == "anthropic:claude-test"
    [sent] = fake.requests
    assert sent.headers["authorization"] == "Bearer sk-ant-test"
    assert sent.body["model"] == "claude-test"
    assert sent.body["system"] == "You are terse."
    assert sent.body["max_tokens"] == 1024
    assert sent.body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]
    assert "tools" not in sent.body and "tool_choice" not in sent.body


async def test_tool_call_round_trip_sends_results_as_tool_result_blocks_in_one_user_turn() -> None:
    tools = [
        ToolDefinition(
            name="run_query",
            description="Run SQL",
            parameters={"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]},
        )
    ]
    async with claude() as (fake, model):
        fake.reply(
            message(
                text("Let me look."),
                tool_use("run_query", {"sql": "SELECT 1"}, id="toolu_a"),
                tool_use("run_query", {"sql": "SELEC 2"}, id="toolu_b"),
                stop_reason="tool_use",
            )
        )
        fake.reply(message(text("The answer is 1.")))
        first = await model.request(
            ModelRequest(messages=[Message(role="user", content="Count")], tools=tools)
        )
        assert first.stop_reason == "tool_use"
        assert first.text == "Let me look."
        assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
            ("toolu_a", "run_query", {"sql": "SELECT 1"}),
            ("toolu_b", "run_query", {"sql": "SELEC 2"}),
        ]
        history = [
            Message(role="user", content="Count"),
            Message(role="assistant", content=first.text, tool_calls=first.tool_calls),
            Message(role="tool", tool_call_id="toolu_a", content="[[1]]"),
            Message(role="tool", tool_call_id="toolu_b", content="syntax error near SELEC", is_error=True),
        ]
        second = await model.request(ModelRequest(messages=history, tools=tools))
    assert second.text == "The answer is 1."
    assert fake.bodies[0]["tools"] == [
        {"name": "run_query", "description": "Run SQL", "input_schema": tools[0].parameters}
    ]
    assert fake.bodies[1]["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_a", "name": "run_query", "input": {"sql": "SELECT 1"}},
                {"type": "tool_use", "id": "toolu_b", "name": "run_query", "input": {"sql": "SELEC 2"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_a", "content": "[[1]]"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_b",
                    "content": "syntax error near SELEC",
                    "is_error": True,
                },
            ],
        },
    ]


class Verdict(BaseModel):
    answer: int
    confidence: float


async def test_structured_output_forces_one_tool_and_repairs_an_invalid_answer() -> None:
    async with claude() as (fake, model):
        fake.reply(message(tool_use("verdict", {"answer": "four"}), stop_reason="tool_use"))
        fake.reply(message(tool_use("verdict", {"answer": 4, "confidence": 0.9}), stop_reason="tool_use"))
        request = ModelRequest(messages=[Message(role="user", content="2+2?")], output_name="verdict")
        value, usage = await generate_structured(model, request, Verdict)
    assert value == Verdict(answer=4, confidence=0.9)
    assert (usage.requests, usage.input_tokens, usage.output_tokens) == (2, 22, 14)
    first, second = fake.bodies
    assert first["tools"] == [
        {
            "name": "verdict",
            "description": "Give your answer as this tool's input.",
            "input_schema": Verdict.model_json_schema(),
        }
    ]
    assert first["tool_choice"] == {"type": "tool", "name": "verdict"}
    assert second["tool_choice"] == {"type": "tool", "name": "verdict"}
    # The invalid answer goes back as the assistant's turn, followed by the validation error.
    assert second["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": '{"answer": "four"}'}],
    }
    repair = second["messages"][2]["content"][0]["text"]
    assert "That answer is invalid" in repair
    assert "answer: Input should be a valid integer" in repair
    assert "confidence: Field required" in repair


async def test_structured_answer_is_the_forced_tool_input_as_json_text() -> None:
    async with claude() as (fake, model):
        fake.reply(message(tool_use("output", {"answer": 4, "confidence": 1}), stop_reason="tool_use"))
        response = await model.request(ASK.model_copy(update={"output_schema": Verdict.model_json_schema()}))
    assert response.text == '{"answer": 4, "confidence": 1}'
    assert response.tool_calls == []
    assert response.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("wire", "ours"),
    [
        ("max_tokens", "max_tokens"),
        ("refusal", "refusal"),
        ("stop_sequence", "end_turn"),
        ("pause_turn", "other"),
    ],
)
async def test_stop_reasons_are_mapped(wire: str, ours: str) -> None:
    async with claude() as (fake, model):
        fake.reply(message(text("..."), stop_reason=wire))
        response = await model.request(ASK)
    assert response.stop_reason == ours


async def test_rate_limit_is_retried_by_the_sdk_then_succeeds() -> None:
    async with claude() as (fake, model):
        fake.reply(error("rate_limit_error", "slow down"), status=429, headers=FAST_RETRY)
        fake.reply(message(text("4")))
        response = await model.request(ASK)
    assert response.text == "4"
    assert len(fake.requests) == 2
    assert fake.requests[1].headers["x-stainless-retry-count"] == "1"


async def test_server_errors_become_a_model_error_once_retries_are_exhausted() -> None:
    async with claude(max_retries=2) as (fake, model):
        for _ in range(3):
            fake.reply(error("api_error", "internal trouble"), status=500, headers=FAST_RETRY)
        with pytest.raises(ModelError) as caught:
            await model.request(ASK)
    assert len(fake.requests) == 3
    message_text = str(caught.value)
    assert "anthropic:claude-test" in message_text
    assert "HTTP 500" in message_text
    assert "gave up after 3 attempts" in message_text
    assert "internal trouble" in message_text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "text/html"),
        ('{"id": "msg_1", "type": "message"', "application/json"),
        ('{"id": "msg_1", "type": "message", "role": "assistant"}', "application/json"),
        ('["not", "a", "message"]', "application/json"),
    ],
    ids=["html", "truncated-json", "missing-content", "json-list"],
)
async def test_malformed_body_becomes_a_model_error(body: str, content_type: str) -> None:
    async with claude() as (fake, model):
        fake.reply_text(body, content_type=content_type)
        with pytest.raises(ModelError, match="returned a malformed response"):
            await model.request(ASK)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_authentication_failure_names_the_key_variable_and_is_not_retried(status: int) -> None:
    async with claude() as (fake, model):
        fake.reply(error("authentication_error", "invalid x-api-key"), status=status)
        with pytest.raises(ModelError) as caught:
            await model.request(ASK)
    assert "ANTHROPIC_API_KEY" in str(caught.value)
    assert "invalid x-api-key" in str(caught.value)
    assert len(fake.requests) == 1


async def test_missing_key_names_the_variable_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    async with fake_anthropic() as fake:
        model = AnthropicModel("claude-test", base_url=fake.url)
        with allow_model_requests(), pytest.raises(ModelError, match="set ANTHROPIC_API_KEY"):
            await model.request(ASK)
    assert fake.requests == []


async def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
    async with fake_anthropic() as fake:
        model = AnthropicModel("claude-test", base_url=fake.url)
        fake.reply(message(text("ok")))
        with allow_model_requests():
            await model.request(ASK)
        await model.aclose()
    assert fake.requests[0].headers["authorization"] == "Bearer sk-ant-from-env"


async def test_unreachable_server_becomes_a_model_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = AnthropicModel("claude-test", api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with allow_model_requests(), pytest.raises(ModelError, match="could not connect"):
        await model.request(ASK)
    await model.aclose()


async def test_a_request_that_outlives_the_timeout_becomes_a_model_error() -> None:
    async with fake_anthropic() as fake:
        fake.hang()
        model = AnthropicModel("claude-test", api_key="k", base_url=fake.url, max_retries=0, timeout=0.3)
        with allow_model_requests(), pytest.raises(ModelError, match=r"timed out after 0\.3s"):
            await model.request(ASK)
        await model.aclose()
    assert len(fake.requests) == 1


async def test_guard_blocks_real_requests_unless_a_test_opts_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHELON_BLOCK_MODEL_REQUESTS", "1")
    async with fake_anthropic() as fake:
        model = AnthropicModel("claude-test", api_key="k", base_url=fake.url)
        with pytest.raises(ModelRequestsBlocked, match="anthropic:claude-test"):
            await model.request(ASK)
        assert fake.requests == []
        fake.reply(message(text("allowed")))
        with allow_model_requests():
            response = await model.request(ASK)
        await model.aclose()
    assert response.text == "allowed"
    assert len(fake.requests) == 1


async def test_tool_names_the_api_would_reject_are_sent_renamed_and_come_back_as_they_were() -> None:
    tool = ToolDefinition(name="db.run_query", description="Run SQL", parameters={"type": "object"})
    async with claude() as (fake, model):
        fake.reply(message(tool_use("db_run_query", {"sql": "SELECT 1"}), stop_reason="tool_use"))
        response = await model.request(
            ModelRequest(messages=[Message(role="user", content="Count")], tools=[tool])
        )
    assert fake.bodies[0]["tools"][0]["name"] == "db_run_query"
    assert [c.name for c in response.tool_calls] == ["db.run_query"]
