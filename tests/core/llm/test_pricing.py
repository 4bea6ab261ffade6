from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult, Usage
from echelon.servers.core.llm import ModelSettings, resolve_model
from echelon.servers.core.llm.base import TokenUsage
from echelon.servers.core.llm.pricing import Price, price_of
from echelon.servers.core.testing import ScriptedModel
from tests.orchestrator._hierarchy import build_hierarchy, looping_model


def test_known_models_have_list_prices_the_local_model_is_free_and_unknown_ones_are_not_guessed() -> None:
    assert price_of("anthropic:claude-sonnet-4-5") == Price(input=3.0, output=15.0)
    assert price_of("local") == Price(input=0.0, output=0.0)
    assert price_of("openai:some-private-model") is None
    override = {"openai:some-private-model": Price(input=0.5, output=1.0)}
    assert price_of("openai:some-private-model", override) == Price(input=0.5, output=1.0)
    assert price_of(
        "anthropic:claude-sonnet-4-5", {"anthropic:claude-sonnet-4-5": Price(input=1, output=2)}
    ) == Price(input=1, output=2)


def test_resolved_models_carry_their_price_from_the_table_or_the_config() -> None:
    assert resolve_model("local").price == Price(input=0.0, output=0.0)
    settings = ModelSettings.model_validate({"prices": {"local": {"input": 0.1, "output": 0.2}}})
    assert resolve_model("local", settings=settings).price == Price(input=0.1, output=0.2)
    with pytest.raises(ValueError):
        ModelSettings.model_validate({"prices": {"local": {"input": -1, "output": 0}}})


def test_usage_adds_up_cost_and_names_the_models_without_a_price() -> None:
    step = Usage()
    step.add_tokens(
        TokenUsage(requests=1, input_tokens=1_000_000, output_tokens=100_000), "a", Price(input=3, output=15)
    )
    step.add_tokens(TokenUsage(requests=1, input_tokens=10, output_tokens=10), "b", None)
    run = Usage()
    run.add(step)
    run.add(step)
    assert run.cost_usd == pytest.approx(2 * (3.0 + 1.5))
    assert run.unpriced_models == ["b"]
    assert run.cost_text() == "~$9.00 (no price for b)"


@pytest.mark.anyio
async def test_a_delegations_cost_is_the_sum_over_every_level_at_each_models_price(tmp_path: Path) -> None:
    plan = {
        "plan": {
            "phases": [{"name": "Sum", "worker": "numbers", "goals": "add"}],
            "primary_worker": "numbers",
        }
    }
    orchestrator = ScriptedModel([plan], name="test:orchestrator")
    orchestrator.price = Price(input=10.0, output=20.0)
    numbers = looping_model(2, 3, "2 + 3 = 5")  # plans, then the step's own tool loop: both are priced
    numbers.price = Price(input=1.0, output=2.0)
    server = build_hierarchy(tmp_path, orchestrator=orchestrator, numbers=numbers, content=ScriptedModel([]))
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add"})
    result = DelegationResult.model_validate(answer.structured_content)
    phase = result.phases[0].usage
    assert phase.llm_calls >= 1 and phase.cost_usd == pytest.approx(
        (phase.input_tokens * 1.0 + phase.output_tokens * 2.0) / 1e6
    )
    own_in = result.usage.input_tokens - phase.input_tokens
    own_out = result.usage.output_tokens - phase.output_tokens
    assert own_in > 0
    assert result.usage.cost_usd == pytest.approx(phase.cost_usd + (own_in * 10.0 + own_out * 20.0) / 1e6)
    assert result.usage.unpriced_models == []
