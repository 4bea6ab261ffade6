import pytest

from echelon.servers.core.envelope import json_text_kind
from echelon.servers.core.policies import DEFAULT_POLICIES, POLICIES, ProseAnswer
from echelon.servers.core.testing import ScriptedModel, tool_call
from tests.core.test_loop import run

pytestmark = pytest.mark.anyio


async def test_an_answer_that_copies_a_raw_tool_result_goes_back_once_to_be_written_in_words() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), '{"value": 5.0}', "2 + 3 is 5."])
    outcome = await run(model, policies=[ProseAnswer()])
    assert "the answer is the raw result of add copied out" in model.requests[2].messages[-1].content
    assert outcome.answer == "2 + 3 is 5." and outcome.errors == []
    model.assert_consumed()


async def test_an_answer_that_is_json_of_the_models_own_making_goes_back_once() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), '```json\n{"total": 5}\n```', "The sum is 5."])
    outcome = await run(model, policies=[ProseAnswer()])
    assert "the answer is JSON: answer the goals" in model.requests[2].messages[-1].content
    assert outcome.answer == "The sum is 5." and outcome.errors == []
    model.assert_consumed()


async def test_an_answer_that_stays_json_after_it_went_back_is_recorded_as_unanswered() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), '{"total": 5}', '{"sum": 5}'])
    outcome = await run(model, policies=[ProseAnswer()])
    assert [e.kind for e in outcome.errors] == ["unanswered"]
    model.assert_consumed()


async def test_a_tool_call_written_as_text_goes_back_and_a_second_one_is_no_answer() -> None:
    call = '{"name": "add", "arguments": {"a": 2, "b": 3}}'
    model = ScriptedModel([tool_call("add", a=2, b=3), call, call])
    outcome = await run(model, policies=[ProseAnswer()])
    assert "a tool call written as text, and it was not run" in model.requests[2].messages[-1].content
    assert outcome.stop == "no_answer" and outcome.answer == ""
    model.assert_consumed()


async def test_a_tool_call_written_as_text_is_no_answer_even_without_the_policy() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), '{"tool": "add", "arguments": {"a": 2, "b": 3}}'])
    outcome = await run(model, policies=[])
    assert outcome.stop == "no_answer"
    model.assert_consumed()


async def test_an_answer_in_words_stands_even_when_it_quotes_json() -> None:
    for answer in ("The sum is 5 (the tool returned {'value': 5.0}).", "[The docs](https://x.test) say 5."):
        model = ScriptedModel([tool_call("add", a=2, b=3), answer])
        outcome = await run(model, policies=[ProseAnswer()])
        assert outcome.answer == answer and outcome.errors == []
        model.assert_consumed()


def test_json_text_is_told_apart_as_a_tool_call_or_data_and_sentences_are_neither() -> None:
    assert json_text_kind('{"function": "sql.aggregate", "parameters": {}}') == "tool_call"
    assert json_text_kind('[{"region": "West", "revenue": 3}]') == "data"
    assert json_text_kind('{"total": 5') == "data"  # cut off, still JSON
    assert json_text_kind("| region | revenue |\n|---|---|") is None
    assert json_text_kind("Revenue rose 5%.") is None


def test_the_policy_is_on_by_default_and_the_old_name_still_chooses_it() -> None:
    assert "prose_answer" in DEFAULT_POLICIES and POLICIES["raw_result_answer"] is ProseAnswer
    assert not ProseAnswer.small_model_aid
