"""The model test doubles shipped in servers.core.testing."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from echelon.servers.core.llm import Message, ModelRequest, ModelResponse, ToolCall, generate_structured
from echelon.servers.core.testing import FunctionModel, ScriptedModel, tool_call

pytestmark = pytest.mark.anyio


def ask(text: str, system: str = "") -> ModelRequest:
    return ModelRequest(system=system, messages=[Message(role="user", content=text)])


class Answer(BaseModel):
    value: int


async def test_scripted_model_answers_in_order_and_records_requests() -> None:
    model = ScriptedModel(["first", {"value": 2}, Answer(value=3)])
    replies = [await model.request(ask(f"q{i}")) for i in range(3)]
    assert [r.text for r in replies] == ["first", '{"value": 2}', '{"value":3}']
    assert [r.messages[0].content for r in model.requests] == ["q0", "q1", "q2"]
    assert all(r.model_name == "test:scripted" and r.usage.requests == 1 for r in replies)
    assert model.remaining == 0
    model.assert_consumed()


async def test_scripted_model_fails_loudly_on_an_unexpected_call() -> None:
    model = ScriptedModel(["only answer"], name="test:planner")
    await model.request(ask("one"))
    with pytest.raises(
        AssertionError, match=r"test:planner got unexpected call #2 \(only 1 scripted\)"
    ) as caught:
        await model.request(ask("what about this?"))
    assert "what about this?" in str(caught.value)
    assert len(model.requests) == 2


async def test_scripted_model_reports_steps_that_were_never_used() -> None:
    model = ScriptedModel(["a", "b", "c"])
    await model.request(ask("one"))
    assert model.remaining == 2
    with pytest.raises(AssertionError, match="2 of 3 scripted steps were not used"):
        model.assert_consumed()


async def test_scripted_tool_calls_stop_for_tool_use() -> None:
    call = tool_call("run_query", sql="SELECT 1")
    model = ScriptedModel([call, [tool_call("a"), tool_call("b", x=1)]])
    single = await model.request(ask("go"))
    several = await model.request(ask("go on"))
    assert single.stop_reason == "tool_use"
    assert single.tool_calls == [call]
    assert call.arguments == {"sql": "SELECT 1"}
    assert [c.name for c in several.tool_calls] == ["a", "b"]
    assert several.tool_calls[0].id != several.tool_calls[1].id
    assert single.text == ""


async def test_scripted_step_may_be_a_function_of_the_request() -> None:
    model = ScriptedModel([lambda request: f"you said {request.messages[-1].content}"])
    response = await model.request(ask("hello"))
    assert response.text == "you said hello"


async def test_scripted_model_response_keeps_its_fields_and_gets_plausible_usage() -> None:
    model = ScriptedModel([ModelResponse(text="cut", stop_reason="max_tokens")], name="test:x")
    response = await model.request(ask("a" * 400, system="b" * 400))
    assert (response.text, response.stop_reason, response.model_name) == ("cut", "max_tokens", "test:x")
    assert response.usage.input_tokens == 200  # about four characters a token
    assert response.usage.output_tokens == 1


async def test_function_model_answers_with_a_sync_or_async_function() -> None:
    def echo(request: ModelRequest) -> str:
        return request.messages[-1].content.upper()

    async def call_tool(request: ModelRequest) -> ToolCall:
        return tool_call("lookup", key=request.messages[-1].content)

    sync_model = FunctionModel(echo)
    async_model = FunctionModel(call_tool, name="test:async")
    assert (await sync_model.request(ask("hi"))).text == "HI"
    response = await async_model.request(ask("k1"))
    assert response.tool_calls[0].name == "lookup"
    assert response.tool_calls[0].arguments == {"key": "k1"}
    assert response.model_name == "test:async"
    assert [r.messages[0].content for r in sync_model.requests] == ["hi"]
    assert len(async_model.requests) == 1


async def test_doubles_drive_generate_structured_like_a_provider() -> None:
    model = FunctionModel(lambda r: json.dumps({"value": len(r.messages)}))
    value, usage = await generate_structured(model, ask("count"), Answer)
    assert value == Answer(value=1)
    assert usage.requests == 1
    assert model.requests[0].output_schema == Answer.model_json_schema()
