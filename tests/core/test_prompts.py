"""Prompts and few-shot examples: every file loads, dates fill in, and every example is a valid plan."""

from __future__ import annotations

import json
import re
from datetime import date
from importlib import resources

import pytest
from pydantic import BaseModel

from echelon.servers.core.plan import PlanDocument, StepPlanDocument
from echelon.servers.core.prompts import date_values, few_shot, load_prompt
from echelon.servers.managers.planners import RoutedStep

EXAMPLE_DOCUMENTS: dict[str, type[BaseModel]] = {
    "strategic_planner": PlanDocument,
    "decomposer_planner": StepPlanDocument,
    "router_planner": RoutedStep,
}
PROMPTS = sorted(
    p.name.removesuffix(".md")
    for p in resources.files("echelon.servers.core.prompts").iterdir()
    if p.name.endswith(".md")
)


def test_relative_years_come_from_the_given_day() -> None:
    assert date_values(date(2026, 1, 5)) == {
        "today": "2026-01-05",
        "this_year": "2026",
        "last_year": "2025",
        "year_before_last": "2024",
    }


@pytest.mark.parametrize("name", PROMPTS)
def test_every_system_prompt_fills_its_placeholders(name: str) -> None:
    text = load_prompt(
        name, manager="data", worker="sql", description="d", worker_names="sql", max_steps=3, max_phases=4
    )
    assert text and re.search(r"\{[a-z_]+\}", text) is None


@pytest.mark.parametrize("name", sorted(EXAMPLE_DOCUMENTS))
def test_few_shot_examples_fill_dates_and_are_valid_plans(name: str) -> None:
    messages = few_shot(name, today=date(2026, 11, 21))
    assert messages and len(messages) % 2 == 0
    for question, answer in zip(messages[::2], messages[1::2], strict=True):
        assert (question.role, answer.role) == ("user", "assistant")
        for text in (question.content, answer.content):
            assert "{last_year}" not in text and "{year_before_last}" not in text
        EXAMPLE_DOCUMENTS[name].model_validate(json.loads(answer.content))
    assert any("2025" in m.content for m in messages) or name == "router_planner"


def test_a_prompt_without_examples_has_no_few_shot_turns() -> None:
    assert few_shot("step_executor") == []
