"""Envelope boundary checks: synthesized answers are real text, never templates."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from echelon.servers.core.envelope import AnswerText


class Answer(BaseModel):
    answer: AnswerText


@pytest.mark.parametrize(
    "text",
    [
        "The fastest-growing region is [insert region name].",
        "Revenue grew by [X]% last year",
        "Growth was XX% in 2025",
        "Total: [amount] dollars",
    ],
)
def test_an_answer_with_a_placeholder_is_rejected_with_the_placeholder_named(text: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Answer(answer=text)


@pytest.mark.parametrize(
    "text",
    [
        "Mountain West grew fastest: +32.8% (339,965.87 -> 451,623.05).",
        "See [the deck](deck.pptx); revenue per region is in the table [1].",
        "Growth is not known: the query for 2024 failed.",
    ],
)
def test_real_answers_pass(text: str) -> None:
    assert Answer(answer=text).answer == text


def test_an_empty_answer_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Answer(answer="")


def test_a_later_phase_sees_an_earlier_phases_tool_data_not_only_its_summary() -> None:
    from echelon.servers.core.envelope import PhaseContext, PriorResult

    calls = [
        {"tool": "run_query", "arguments": {}, "result": {"columns": ["n"], "rows": []}},
        {"tool": "compare_periods", "arguments": {}, "result": {"groups": [{"group": "North", "to": 1500}]}},
    ]
    prior = PriorResult(
        phase="Growth",
        manager="data",
        output="North grew fastest.",
        data={"steps": {"Query": {"calls": calls}}},
    )
    text = PhaseContext(request="r", prior=[prior]).render()
    assert text == (
        "Result of phase 'Growth' (data):\nNorth grew fastest.\n"
        'Data returned by compare_periods: {"groups": [{"group": "North", "to": 1500}]}'
    )


def test_a_later_phase_is_told_plainly_what_an_earlier_phase_could_not_find() -> None:
    from echelon.servers.core.envelope import PhaseContext, PriorResult

    prior = PriorResult(phase="Growth", manager="data", output="No data.", missing="revenue per category")
    assert PhaseContext(prior=[prior]).render() == (
        "Result of phase 'Growth' (data):\nNo data.\nIts goals were NOT met; missing: revenue per category"
    )
