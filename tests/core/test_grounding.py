"""Figures in a planned tool call must come from the phase and its context."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client

from echelon.servers.core.envelope import DelegationResult
from echelon.servers.core.grounding import Grounding, states_a_figure, ungrounded_figures
from echelon.servers.core.testing import ScriptedModel
from tests.orchestrator._hierarchy import adding_model, build_hierarchy

SOURCE = "Context: Mountain West grew fastest: +32.84%, from 339,965.87 in 2024 to 451623.05 in 2025."


def test_figures_from_the_context_pass_as_written_or_rounded() -> None:
    bullets = ["Mountain West: +32.84%", "32.8% growth", "$451,623 in 2025", "339965.87 in 2024", "3 slides"]
    assert ungrounded_figures({"slides": [{"bullets": bullets}]}, SOURCE) == []


def test_figures_the_context_does_not_hold_are_named_once_each() -> None:
    arguments = {"title": "Growth", "slides": [{"bullets": ["2024: $80M", "2025: $100M", "again $100M"]}]}
    assert ungrounded_figures(arguments, SOURCE) == ["80", "100"]


def test_a_number_written_as_a_percent_must_be_a_percent_in_the_context() -> None:
    source = '{"group": "North", "difference": 29347.51, "percent_change": 4.43} and +12.0% overall'
    bullets = ["North: 4.43% growth", "12% overall", "29,347.51 more revenue", "North: 29347.51% growth"]
    assert ungrounded_figures(bullets, source) == ["29347.51%"]


def test_a_value_is_a_percent_by_its_key_only_when_the_key_ends_with_a_percent_word() -> None:
    source = '{"growth_value": 437409.72, "growth_rate": 29.73}'
    answer = '{"growth_value": 437409.72, "growth_rate": 29.73, "percent_change": 29.73}'
    assert ungrounded_figures(answer, source) == []
    assert ungrounded_figures('{"growth_rate": 437409.72}', source) == ["437409.72%"]


def test_numbers_inside_words_and_non_text_arguments_are_not_figures() -> None:
    assert ungrounded_figures({"title": "Q3 plan for H2O", "limit": 500, "flag": True}, SOURCE) == []


def deck(title: str, *bullets: str) -> dict[str, object]:
    step = {"name": "Deck", "worker": "deck", "goals": "one slide", "tool": "make_deck"}
    return {"step": {**step, "arguments": {"title": title, "bullets": list(bullets)}}}


async def run_with_content(tmp_path: Path, content: ScriptedModel) -> DelegationResult:
    phases = {
        "plan": {
            "asks_for": ["file"],
            "phases": [
                {"name": "Compute", "worker": "numbers", "goals": "Add 2 and 3"},
                {"name": "Deck", "worker": "content", "goals": "One slide", "depends_on": ["Compute"]},
            ],
            "primary_worker": "numbers",
        }
    }
    numbers = adding_model(2, 3, {"answer": "The sum of 2 and 3 is 5.", "goal_met": True})
    server = build_hierarchy(tmp_path, orchestrator=ScriptedModel([phases]), numbers=numbers, content=content)
    async with Client(server) as client:
        answer = await client.call_tool("delegate", {"request": "add 2 and 3, one slide"})
    return DelegationResult.model_validate(answer.structured_content)


@pytest.mark.anyio
async def test_a_planned_bullet_with_an_invented_figure_is_left_out_and_the_step_says_so(
    tmp_path: Path,
) -> None:
    content = ScriptedModel(
        [deck("Sum", "The sum is 5", "Up 40% on last year"), {"answer": "Deck written", "goal_met": True}]
    )
    result = await run_with_content(tmp_path, content)
    assert result.status == "ok"
    assert result.phases[1].calls()[0].arguments == {"title": "Sum", "bullets": ["The sum is 5"]}
    assert (
        "Left out, as their figures were not given: Up 40% on last year"
        in content.requests[1].messages[-1].content
    )
    content.assert_consumed()


@pytest.mark.anyio
async def test_an_invented_figure_outside_a_list_goes_back_to_the_router(tmp_path: Path) -> None:
    content = ScriptedModel(
        [
            deck("Sum up 40%", "The sum is 5"),
            deck("Sum", "The sum is 5"),
            {"answer": "Deck written", "goal_met": True},
        ]
    )
    result = await run_with_content(tmp_path, content)
    assert result.status == "ok"
    retry = content.requests[1].messages[-1].content
    assert "figures that are not in the phase or its context: 40%." in retry
    assert result.phases[1].calls()[0].arguments == {"title": "Sum", "bullets": ["The sum is 5"]}
    content.assert_consumed()


def test_a_text_cites_the_source_when_it_states_one_of_its_numbers_as_written_or_rounded() -> None:
    grounding = Grounding("339965.87 451623.05 32.84")
    assert grounding.cited("It grew 32.8% to 451,623.") and grounding.cited("The total is 339965.87")
    assert not grounding.cited("It grew a lot") and not grounding.cited("It grew 12%")


def test_an_answer_states_a_figure_with_a_percent_a_decimal_or_two_digits() -> None:
    assert (
        states_a_figure("Mountain West, +29.73%") and states_a_figure("50 orders") and states_a_figure("2.5")
    )
    assert not states_a_figure("Mountain West grew fastest, in 3 steps")


def test_figures_a_source_writes_in_words_are_figures_it_holds() -> None:
    grounding = Grounding(
        "A: Every product carries a ten-year warranty; outfitters get up to fifteen percent off."
    )
    assert grounding.missing("The warranty lasts 10 years; the discount is at most 15%.") == []
    assert grounding.missing("The warranty lasts 12 years, at 16% off.") == ["12", "16%"]
