"""Limits and budgets: checked before every call, charged after, handed down in _meta."""

from __future__ import annotations

import time

import anyio
import pytest
from pydantic import ValidationError

from echelon.servers.core.budget import META_KEY, Budget, BudgetExhausted, Limits
from echelon.servers.core.llm import Message, ModelRequest, ModelResponse
from echelon.servers.core.testing import FunctionModel, ScriptedModel

pytestmark = pytest.mark.anyio
ASK = ModelRequest(messages=[Message(role="user", content="hi")])


async def test_a_model_call_past_the_model_call_limit_is_refused_before_it_is_made() -> None:
    budget = Budget.start(Limits(max_model_calls=1))
    inner = ScriptedModel(["one"])
    model = budget.model(inner)
    await model.request(ASK)
    with pytest.raises(BudgetExhausted) as caught:
        await model.request(ASK)
    assert caught.value.limit == "max_model_calls" and len(inner.requests) == 1


async def test_tokens_are_charged_and_a_spent_token_budget_refuses_the_next_call() -> None:
    budget = Budget.start(Limits(max_tokens=5))
    model = budget.model(ScriptedModel(["a long answer that costs more than five tokens", "x"]))
    await model.request(ASK)
    assert budget.tokens < 0
    with pytest.raises(BudgetExhausted) as caught:
        await model.request(ASK)
    assert caught.value.limit == "max_tokens"


async def test_a_model_call_still_running_at_the_deadline_is_abandoned() -> None:
    budget = Budget.start(Limits(deadline_seconds=0.2))

    async def slow(request: ModelRequest) -> str:
        await anyio.sleep_forever()
        return "never"

    with anyio.fail_after(10), pytest.raises(BudgetExhausted) as caught:
        await budget.model(FunctionModel(slow)).request(ASK)
    assert caught.value.limit == "deadline_seconds"


def test_tool_calls_are_checked_and_charged() -> None:
    budget = Budget.start(Limits(max_tool_calls=1))
    budget.check_tool()
    budget.charge_tool()
    with pytest.raises(BudgetExhausted, match="tool calls"):
        budget.check_tool()


def test_what_remains_travels_in_meta_and_can_only_lower_the_receivers_own_limits() -> None:
    sender = Budget.start(Limits(max_model_calls=10))
    sender.charge(model_calls=7, tokens=100, tool_calls=2)
    meta = sender.to_meta()
    assert meta[META_KEY]["model_calls"] == 3
    received = Budget.from_meta(meta, Limits(max_model_calls=50))
    assert (received.model_calls, received.tool_calls) == (3, Limits().max_tool_calls - 2)
    assert received.deadline == pytest.approx(sender.deadline)
    strict = Budget.from_meta(meta, Limits(max_model_calls=2, deadline_seconds=5))
    assert strict.model_calls == 2 and strict.deadline <= time.time() + 5


def test_a_call_without_a_budget_in_meta_gets_the_receivers_own_limits() -> None:
    assert Budget.from_meta({"other": 1}, Limits(max_model_calls=4)).model_calls == 4
    assert Budget.from_meta({META_KEY: {"model_calls": "many"}}, Limits(max_model_calls=4)).model_calls == 4


def test_overrides_are_validated_and_name_the_bad_limit() -> None:
    assert Limits().merged({"max_model_calls": 3}).max_model_calls == 3
    with pytest.raises(ValidationError, match="max_tool_calls"):
        Limits().merged({"max_tool_calls": 0})
    with pytest.raises(ValidationError, match="max_calls"):
        Limits().merged({"max_calls": 3})


def test_a_response_reports_its_usage_to_the_budget() -> None:
    budget = Budget.start(Limits())
    budget.charge_model(ModelResponse(text="x").usage)
    assert budget.model_calls == Limits().max_model_calls - 1
