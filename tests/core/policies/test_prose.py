import pytest

from echelon.servers.core.policies import DEFAULT_POLICIES, RawResultAnswer
from echelon.servers.core.testing import ScriptedModel, tool_call
from tests.core.test_loop import run

pytestmark = pytest.mark.anyio


async def test_an_answer_that_copies_a_raw_tool_result_goes_back_once_to_be_written_in_words() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), '{"value": 5.0}', "2 + 3 is 5."])
    outcome = await run(model, policies=[RawResultAnswer()])
    assert "the answer is the raw result of add copied out" in model.requests[2].messages[-1].content
    assert outcome.answer == "2 + 3 is 5." and outcome.errors == []
    model.assert_consumed()


async def test_a_json_answer_that_copies_no_result_and_an_answer_in_words_both_stand() -> None:
    for answer in ('{"total": 5}', "The sum is 5 (the tool returned {'value': 5.0})."):
        model = ScriptedModel([tool_call("add", a=2, b=3), answer])
        outcome = await run(model, policies=[RawResultAnswer()])
        assert outcome.answer == answer and outcome.errors == []
        model.assert_consumed()


def test_the_policy_is_opt_in_and_labelled_as_a_small_model_aid() -> None:
    assert "raw_result_answer" not in DEFAULT_POLICIES and RawResultAnswer.small_model_aid
