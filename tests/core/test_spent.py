"""What a nested level spent travels back to its caller in the result's ``_meta``."""

from __future__ import annotations

from mcp.types import CallToolResult

from echelon.servers.core.envelope import PhaseResult, ToolCallRecord, Usage
from echelon.servers.core.spent import SPENT_KEY, reporting, spent_below, spent_of


def test_a_reported_result_carries_its_value_and_what_it_spent() -> None:
    usage = Usage(llm_calls=3, input_tokens=100, output_tokens=20, tool_calls=2, wall_seconds=4.0)
    result = reporting(PhaseResult(phase="Sum", manager="data", output="42"), usage)
    assert result.structured_content is not None and result.structured_content["output"] == "42"
    spent = spent_of(result)
    assert spent is not None and (spent.llm_calls, spent.tokens, spent.tool_calls) == (3, 120, 2)
    assert spent.wall_seconds == 0  # wall time overlaps the caller's own and is not charged


def test_a_result_without_a_report_or_with_an_unreadable_one_spent_nothing_known() -> None:
    assert spent_of(CallToolResult(content=[])) is None
    assert spent_of(CallToolResult(content=[], _meta={SPENT_KEY: {"llm_calls": "many"}})) is None
    assert spent_of(reporting({"status": "running"}, None)) is None


def test_what_the_callees_spent_adds_up_over_the_calls_that_reported_it() -> None:
    calls = [
        ToolCallRecord(worker="inner", tool="delegate", spent=Usage(llm_calls=2, tool_calls=1)),
        ToolCallRecord(worker="calc", tool="add"),
        ToolCallRecord(worker="inner", tool="delegate", spent=Usage(llm_calls=1, output_tokens=5)),
    ]
    total = spent_below(calls)
    assert (total.llm_calls, total.tool_calls, total.output_tokens) == (3, 1, 5)
