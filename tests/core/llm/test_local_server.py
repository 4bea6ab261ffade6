"""The embedded server's translation between OpenAI's wire format and what a small model is asked to write.

No model is loaded here (the real runs are in test_local_model.py); the grammar converter is llama_cpp's own.
"""

from __future__ import annotations

import json

import pytest
from llama_cpp import LlamaGrammar
from pydantic import BaseModel

from echelon.servers.core.llm._local_server import (
    ChatRequest,
    RequestError,
    WireFunction,
    WireMessage,
    _selected_tools,  # pyright: ignore[reportPrivateUsage]
    parse_tool_reply,
    render_messages,
    response_schema,
    tool_call_schema,
    tool_prompt,
)


class Filter(BaseModel):
    column: str
    value: str


class QueryArgs(BaseModel):
    table: str
    filters: list[Filter] = []


def tools() -> list[WireFunction]:
    return [
        WireFunction(name="query", description="Query a table", parameters=QueryArgs.model_json_schema()),
        WireFunction(name="now", description="The time", parameters={"type": "object", "properties": {}}),
    ]


def test_tool_call_schema_offers_each_tool_with_its_arguments_or_a_final_answer() -> None:
    schema = tool_call_schema(tools(), required=False, answer=None)
    options = schema["anyOf"]
    assert [o["properties"].get("tool", {}).get("const") for o in options] == ["query", "now", None]
    assert options[2]["properties"]["answer"] == {"type": "string"}
    # The tool's own $defs are hoisted to the root and its $refs rewritten, so the nested schema still resolves.
    assert set(schema["$defs"]) == {"t0_Filter"}
    assert options[0]["properties"]["arguments"]["properties"]["filters"]["items"] == {
        "$ref": "#/$defs/t0_Filter"
    }
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    rules = grammar._grammar  # pyright: ignore[reportPrivateUsage]
    assert r'::= "\"query\""' in rules and r'::= "\"now\""' in rules
    assert "root ::= alternative-0 | alternative-1 | alternative-2" in rules


def test_a_required_tool_call_leaves_out_the_answer_option() -> None:
    schema = tool_call_schema(tools(), required=True, answer=None)
    assert all("tool" in option["properties"] for option in schema["anyOf"])


def test_tool_choice_selects_the_tools_the_model_may_call() -> None:
    wire = [{"type": "function", "function": t.model_dump()} for t in tools()]
    base = {"messages": [{"role": "user", "content": "hi"}], "tools": wire}
    assert _selected_tools(ChatRequest.model_validate(base)) == (tools(), False)
    assert _selected_tools(ChatRequest.model_validate({**base, "tool_choice": "none"})) == ([], False)
    assert _selected_tools(ChatRequest.model_validate({**base, "tool_choice": "required"})) == (tools(), True)
    named = {**base, "tool_choice": {"type": "function", "function": {"name": "now"}}}
    assert _selected_tools(ChatRequest.model_validate(named)) == ([tools()[1]], True)
    with pytest.raises(RequestError, match="not in tools"):
        _selected_tools(ChatRequest.model_validate({**named, "tool_choice": {"function": {"name": "x"}}}))


def test_tool_prompt_can_describe_the_tools_as_signatures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECHELON_LOCAL_TOOL_TEXT", "signatures")
    prompt = tool_prompt(tools(), required=False, answer_is_json=False)
    assert "  table (required): string" in prompt and "arguments schema" not in prompt


def test_tool_prompt_describes_the_tools_and_the_reply_format() -> None:
    prompt = tool_prompt(tools(), required=False, answer_is_json=False)
    assert "- query: Query a table" in prompt
    assert '{"tool": "<tool name>"' in prompt and '{"answer": "<your final answer>"}' in prompt
    assert '"answer"' not in tool_prompt(tools(), required=True, answer_is_json=False)


def test_history_with_tool_calls_is_rendered_as_the_json_the_model_writes() -> None:
    messages = [
        WireMessage(role="system", content="Be brief."),
        WireMessage(role="user", content=[{"type": "text", "text": "Rows in sales?"}]),
        WireMessage.model_validate(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "query", "arguments": '{"table": "sales"}'},
                    }
                ],
            }
        ),
        WireMessage(role="tool", tool_call_id="c1", content="42 rows"),
    ]
    rendered = render_messages(messages, "TOOLS")
    assert rendered == [
        {"role": "system", "content": "Be brief.\n\nTOOLS"},
        {"role": "user", "content": "Rows in sales?"},
        {"role": "assistant", "content": '{"tool": "query", "arguments": {"table": "sales"}}'},
        {"role": "user", "content": "Result of query:\n42 rows"},
    ]


def test_replies_become_openai_tool_calls_or_content() -> None:
    content, calls = parse_tool_reply(
        '{"tool": "query", "arguments": {"table": "sales"}}', answer_is_json=False
    )
    assert content is None
    assert calls[0]["type"] == "function" and calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "query", "arguments": '{"table": "sales"}'}
    assert parse_tool_reply('{"answer": "42 rows"}', answer_is_json=False) == ("42 rows", [])
    assert parse_tool_reply('{"answer": {"n": 42}}', answer_is_json=True) == ('{"n": 42}', [])
    assert parse_tool_reply('{"tool": "que', answer_is_json=False) == ('{"tool": "que', [])  # cut off


def test_response_formats_json_object_json_schema_and_text() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert response_schema({"type": "json_object", "schema": schema}) == schema
    assert response_schema({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}) == schema
    assert response_schema({"type": "json_object"}) == {}
    assert response_schema({"type": "text"}) is None
    assert response_schema(None) is None
    with pytest.raises(RequestError, match="not supported"):
        response_schema({"type": "xml"})
