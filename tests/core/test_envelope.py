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


def test_a_phase_result_carries_each_tool_result_once_and_reads_back_the_same() -> None:
    from echelon.servers.core.envelope import PhaseResult, StepResult, ToolCallRecord, result_as_text

    rows = {"columns": ["name", "total"], "rows": [[f"region {i}", i * 1000.5] for i in range(5)]}
    call = ToolCallRecord(worker="sql", tool="run_query", result=rows, text=result_as_text(rows))
    step = StepResult(step="Rows", worker="sql", output=call.text, calls=[call])
    phase = PhaseResult(phase="Rows", manager="data", output="Five regions.", steps=[step])
    dumped = phase.model_dump_json()
    assert dumped.count("region 3") == 1
    again = PhaseResult.model_validate_json(dumped)
    assert again == phase
    assert again.data == rows and again.steps[0].output == call.text


def test_a_clipped_result_keeps_the_text_the_model_read() -> None:
    from echelon.servers.core.envelope import ToolCallRecord, clip_json, result_as_text

    big = {"rows": [[i, "x" * 100] for i in range(1000)]}
    call = ToolCallRecord(worker="sql", tool="run_query", result=clip_json(big), text=result_as_text(big))
    assert ToolCallRecord.model_validate_json(call.model_dump_json()).text == call.text
