"""Tool results as text: what a model reads, and what a person reads when no written answer stood."""

from __future__ import annotations

from typing import Any

from echelon.servers.core.envelope import ToolCallRecord
from echelon.servers.core.evidence import data_answer


def record(result: Any, *, outcome: str = "ok", tool: str = "aggregate") -> ToolCallRecord:
    return ToolCallRecord.model_validate(
        {"worker": "sql", "tool": tool, "arguments": {}, "outcome": outcome, "result": result, "text": ""}
    )


def test_rows_are_shown_as_a_table_with_the_other_fields_as_lines() -> None:
    result = {
        "measure": "sum(sales.revenue)",
        "rows": [{"product": "Tent | large", "value": 10.5}, {"product": "Pad", "value": None}],
        "overall": 10.5,
        "note": None,
    }
    text = data_answer([record(result)])
    assert text.splitlines() == [
        "No written answer passed the checks; what sql.aggregate returned:",
        "measure: sum(sales.revenue)",
        "| product | value |",
        "|---|---|",
        "| Tent \\| large | 10.5 |",
        "| Pad |  |",
        "overall: 10.5",
    ]


def test_a_row_of_grouped_values_spreads_its_group_into_columns() -> None:
    rows = [
        {"group": {"month": "2025-07", "region": "West"}, "value": 4321.5},
        {"group": {"month": "2025-06", "value": "x"}, "value": 4000},
    ]
    text = data_answer([record({"rows": rows})])
    assert text.splitlines()[1:] == [
        "| month | region | value | group.value |",
        "|---|---|---|---|",
        "| 2025-07 | West | 4321.5 |  |",
        "| 2025-06 |  | 4000 | x |",
    ]


def test_only_the_first_rows_are_shown_and_the_rest_counted() -> None:
    rows = [{"n": i} for i in range(12)]
    text = data_answer([record(rows)], rows=10)
    assert "| 9 |" in text and "| 10 |" not in text
    assert text.endswith("(2 more rows)")


def test_the_last_call_with_data_is_shown_and_failed_or_empty_ones_are_passed_over() -> None:
    calls = [
        record({"rows": [{"a": 1}]}, tool="first"),
        record({"rows": [{"a": 2}]}, tool="second"),
        record({"rows": []}, tool="empty"),
        record({"error": "boom"}, outcome="failed", tool="broken"),
    ]
    assert "what sql.second returned" in data_answer(calls)


def test_no_data_gives_no_text() -> None:
    assert data_answer([record({"rows": []})]) == ""


def test_a_tool_s_own_text_is_shown_instead_of_its_json() -> None:
    from echelon.servers.core.evidence import call_data_text

    record = ToolCallRecord(
        worker="sql",
        tool="aggregate",
        outcome="ok",
        result={"rows": [{"group": {"region": "North"}, "value": 5}], "sql": "SELECT 1"},
        text="| region | value |\n| North | 5 |",
    )
    assert call_data_text(record) == "\nData returned by aggregate: | region | value |\n| North | 5 |"
    assert data_answer([record]).endswith("returned:\n| region | value |\n| North | 5 |")


def test_rows_holding_nothing_but_nulls_are_no_data() -> None:
    from echelon.servers.core.evidence import has_data

    assert not has_data({"rows": [{"group": {}, "value": None}], "note": "no row in 2023"})
    assert has_data({"rows": [{"group": {}, "value": 0}]})
    assert has_data({"rows": [{"group": {"region": "North"}, "value": None}]})
