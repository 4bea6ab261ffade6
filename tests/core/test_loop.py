"""The one tool loop: model -> tool calls -> results -> answer, with the policies deciding and a typed trace."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import ClassVar

import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.calls import ToolCaller
from echelon.servers.core.catalog import discover
from echelon.servers.core.llm import ModelResponse, TokenUsage
from echelon.servers.core.loop import NO_MORE_TOOLS, LoopOutcome, run_tool_loop
from echelon.servers.core.policies import (
    Allow,
    CallDecision,
    PendingCall,
    Policy,
    Refuse,
    Rewrite,
    RunState,
    SendBack,
    build_policies,
)
from echelon.servers.core.pool import ConnectionPool
from echelon.servers.core.target import Target
from echelon.servers.core.testing import ScriptedModel, tool_call
from echelon.servers.core.toolset import WorkerToolset
from tests._toy_servers import build_calc_server

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def calc_toolset(budget: Budget | None = None) -> AsyncGenerator[WorkerToolset]:
    async with ConnectionPool({"calc": Target.in_process(build_calc_server())}) as pool:
        workers = await discover(pool, {"calc": "a calculator"})
        yield WorkerToolset([workers["calc"]], ToolCaller(pool), budget or Budget.start(Limits()), step="S")


async def run(
    model: ScriptedModel,
    *,
    policies: list[Policy] | None = None,
    max_tool_calls: int = 4,
    budget: Budget | None = None,
    state: RunState | None = None,
) -> LoopOutcome:
    async with calc_toolset(budget) as toolset:
        return await run_tool_loop(
            model,
            system="You add numbers.",
            prompt="Add 2 and 3",
            toolset=toolset,
            policies=policies if policies is not None else build_policies(["loop_guard"]),
            state=state or RunState(given="Add 2 and 3"),
            max_tool_calls=max_tool_calls,
            where="test.S",
        )


async def test_a_model_that_answers_at_once_makes_no_call() -> None:
    outcome = await run(ScriptedModel(["Five."]))
    assert (outcome.stop, outcome.answer, outcome.records) == ("answered", "Five.", [])
    assert outcome.usage.llm_calls == 1


async def test_each_call_is_traced_with_its_arguments_result_and_timing() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), "2 + 3 = 5"])
    outcome = await run(model)
    (record,) = outcome.records
    assert (record.worker, record.tool, record.arguments, record.outcome) == (
        "calc",
        "add",
        {"a": 2, "b": 3},
        "ok",
    )
    assert record.result == {"value": 5.0} and record.duration_ms > 0 and record.started_at > 0
    assert record.step == "S" and record.attempts == 1
    assert model.requests[1].messages[-1].role == "tool"
    assert outcome.usage.tool_calls == 1 and outcome.answer == "2 + 3 = 5"
    assert [r.purpose for r in model.requests] == ["step", "step"]


async def test_a_call_of_a_tool_that_does_not_exist_names_the_tools_and_spends_the_allowance() -> None:
    model = ScriptedModel([tool_call("multiply", a=2, b=3), tool_call("add", a=2, b=3), "5"])
    outcome = await run(model, max_tool_calls=2)
    text = model.requests[1].messages[-1].content
    assert text.startswith("Not run: there is no tool 'multiply'. The tools are: add, divide")
    assert [r.tool for r in outcome.records] == ["add"]


async def test_when_the_allowance_is_spent_the_model_must_answer_without_tools() -> None:
    model = ScriptedModel([tool_call("add", a=1, b=1), tool_call("add", a=2, b=2), "Done: 2 and 4"])
    outcome = await run(model, max_tool_calls=2)
    last = model.requests[-1]
    assert not last.tools and last.messages[-1].content == NO_MORE_TOOLS
    assert outcome.answer == "Done: 2 and 4" and len(outcome.records) == 2


class _Never(Policy):
    name: ClassVar[str] = "never"
    description: ClassVar[str] = "sends every answer back"

    def check_answer(self, answer: str, state: RunState) -> None:
        raise SendBack("say it differently")


async def test_an_answer_a_policy_objects_to_goes_back_once_then_stands_with_the_objection_recorded() -> None:
    model = ScriptedModel(["Five.", "5, said differently."])
    outcome = await run(model, policies=[_Never()])
    assert "That answer was sent back: say it differently" in model.requests[1].messages[-1].content
    assert outcome.answer == "5, said differently."
    assert [(e.kind, e.message) for e in outcome.errors] == [("grounding", "say it differently")]
    model.assert_consumed()


def _looping(tokens: int) -> ModelResponse:
    """A reply the local server cut off: it stopped ``tokens`` in, marked as over its allowance."""
    return ModelResponse(
        text="The total is 4,321. " * 60,
        stop_reason="max_tokens",
        usage=TokenUsage(requests=1, output_tokens=tokens),
    )


async def test_a_reply_cut_off_for_repeating_itself_is_asked_again_in_short_and_never_taken_as_the_answer() -> (
    None
):
    model = ScriptedModel([tool_call("add", a=2, b=3), _looping(120), "2 + 3 = 5"])
    outcome = await run(model)
    retry = model.requests[2].messages
    assert retry[-1].content.startswith(
        "Your reply began to repeat itself and was cut off. Reply again, short"
    )
    assert len(retry[-2].content) < 400  # the loop is not read back in full
    assert (outcome.stop, outcome.answer, outcome.errors) == ("answered", "2 + 3 = 5", [])
    model.assert_consumed()


async def test_a_step_cut_off_twice_ends_without_an_answer_and_says_why() -> None:
    model = ScriptedModel([_looping(800), _looping(800)])
    outcome = await run(model)
    assert (outcome.stop, outcome.answer) == ("no_answer", "")
    assert [e.message for e in outcome.errors] == ["your reply ran past 800 tokens and was cut off"]
    model.assert_consumed()


class _Doubling(Policy):
    name: ClassVar[str] = "doubling"
    description: ClassVar[str] = "doubles a"

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        return Rewrite({**call.arguments, "a": call.arguments["a"] * 2}, "a was doubled")


async def test_a_policy_may_rewrite_a_call_and_the_model_is_told_what_changed() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), "7"])
    outcome = await run(model, policies=[_Doubling()])
    assert outcome.records[0].arguments == {"a": 4, "b": 3} and outcome.records[0].note == "a was doubled"
    assert "(a was doubled)" in model.requests[1].messages[-1].content


async def test_a_spent_budget_ends_the_loop_with_the_limit_named() -> None:
    budget = Budget.start(Limits(max_tool_calls=1))
    model = ScriptedModel([tool_call("add", a=1, b=1), tool_call("add", a=2, b=2), "never asked"])
    outcome = await run(budget.model(model), budget=budget)  # type: ignore[arg-type]
    assert outcome.stop == "budget"
    assert [e.kind for e in outcome.errors] == ["budget"] and "(max_tool_calls)" in outcome.errors[0].message
    assert len(outcome.records) == 1


async def test_the_figure_grounding_policy_refuses_a_content_call_with_an_invented_figure() -> None:
    model = ScriptedModel([tool_call("add", a=2, b=3), "The sum is 5, up 40% on last year.", "The sum is 5."])
    outcome = await run(model, policies=build_policies(["figure_grounding"]))
    assert "figures that are not in the results: 40%" in model.requests[2].messages[-1].content
    assert outcome.answer == "The sum is 5." and not outcome.errors


async def test_the_loop_appends_its_calls_to_a_trace_shared_by_the_steps_of_a_phase() -> None:
    state = RunState(given="Add 2 and 3")
    await run(ScriptedModel([tool_call("add", a=2, b=3), "5"]), state=state)
    outcome = await run(
        ScriptedModel([tool_call("add", a=2, b=3), tool_call("add", a=2, b=3), "5"]), state=state
    )
    # The loop guard saw the earlier step's call: the same call is allowed once more, then refused.
    assert [r.outcome for r in state.records] == ["ok", "ok", "refused"]
    assert [r.outcome for r in outcome.records] == ["ok", "refused"]


async def test_a_model_asking_again_for_a_refused_repeat_of_a_successful_call_is_made_to_answer() -> None:
    model = ScriptedModel([*[tool_call("add", a=2, b=3)] * 4, "2 + 3 = 5"])
    outcome = await run(model, max_tool_calls=8)
    assert [r.outcome for r in outcome.records] == ["ok", "ok", "refused", "refused"]
    assert not model.requests[-1].tools  # the answer is asked for with no tools offered
    assert outcome.answer == "2 + 3 = 5"


async def test_a_call_refused_by_a_policy_and_asked_again_twice_ends_the_tool_calls() -> None:
    class NoAdding(Policy):
        name: ClassVar[str] = "no_adding"
        description: ClassVar[str] = "refuses add"

        def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
            return Refuse("adding is not allowed here") if call.tool == "add" else Allow()

    model = ScriptedModel(
        [tool_call("add", a=2, b=3), tool_call("add", a=2, b=3), tool_call("add", a=2, b=3), "I cannot add."]
    )
    outcome = await run(model, policies=[*build_policies(["loop_guard"]), NoAdding()])
    assert [(r.outcome, r.policy) for r in outcome.records] == [
        ("refused", "no_adding"),
        ("refused", "loop_guard"),
        ("refused", "loop_guard"),
    ]
    assert (
        "this exact call was already refused: adding is not allowed here"
        in model.requests[2].messages[-1].content
    )
    assert model.requests[3].tools == []  # the second repeat ended the tool calls
    model.assert_consumed()
