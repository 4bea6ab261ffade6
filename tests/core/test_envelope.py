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
        "The winner is {name}.",
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


def test_a_long_tool_result_is_clipped_by_keeping_the_first_items_of_its_lists() -> None:
    from echelon.servers.core.envelope import clip_json

    rows = [[f"group {i}", i * 1.5] for i in range(2000)]
    clipped = clip_json({"columns": ["group", "value"], "rows": rows}, limit=5000)
    assert clipped["columns"] == ["group", "value"]
    assert clipped["rows"][:3] == rows[:3]
    assert str(clipped["rows"][-1]).endswith("more items cut")
    assert clip_json({"value": 5}) == {"value": 5}


def test_a_call_record_is_an_error_unless_its_outcome_is_ok() -> None:
    from echelon.servers.core.envelope import ToolCallRecord

    assert not ToolCallRecord(worker="w", tool="t").is_error
    assert ToolCallRecord(worker="w", tool="t", outcome="refused").is_error
    assert ToolCallRecord(worker="w", tool="t").model_dump()["is_error"] is False
